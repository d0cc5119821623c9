"""A pipeline run tracks itself through ``clew.Client``: on both transports and both databases,
each step is a nested run with its inputs as params, its metrics, and its outputs as artifacts
with digests."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

import clew
from clew.client.client import Client
from clew.pipelines import ParallelFor, PipelineState, collect, pipeline, run, step
from clew.pipelines.run_tags import OUTPUT_TAG, PIPELINE_RUN_TAG, STATE_TAG


@step
def make_frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(rows))})


@step
def mean(frame: pd.DataFrame) -> float:
    value = float(frame["x"].mean())
    clew.log_metric("mean", value)  # the fluent API, inside the step: lands on the step's run
    return value


@step
def scaled(value: float, factor: int) -> float:
    return value * factor


@step
def max_of(values: list[float]) -> float:
    return max(values)


@pipeline
def summary(rows: int = 5) -> float:
    with ParallelFor([1, 10]) as factor:
        each = scaled(mean(make_frame(rows)), factor)
    return max_of(collect(each))


def _artifact_json(client: Client, run_id: str, path: str) -> Any:
    with client.open_artifact(run_id, path) as chunks:
        return json.loads(b"".join(chunks))


def _children(client: Client, root_id: str) -> dict[str, object]:
    root = client.get_run(root_id)
    runs = client.search_runs(
        [root.info.experiment_id], f"tags.`{PIPELINE_RUN_TAG}` = '{root_id}'", max_results=100
    )
    return {r.info.run_name: r for r in runs}


def _root(client: Client, name: str) -> object:
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    roots = client.search_runs([experiment.experiment_id], "tags.`clew.pipeline` = '" + name + "'")
    assert len(roots) == 1
    return roots.items[0]


def test_every_step_is_a_tracked_run_with_inputs_metrics_and_outputs(client: Client) -> None:
    result = run(summary, {"rows": 4}, client=client)
    assert result.state is PipelineState.SUCCEEDED and result.output == 15.0

    root = _root(client, "summary")
    assert root.info.status == "FINISHED" and root.data.params == {"rows": "4"}  # type: ignore[attr-defined]
    assert root.data.tags[STATE_TAG] == "SUCCEEDED"  # type: ignore[attr-defined]
    root_id = root.info.run_id  # type: ignore[attr-defined]
    definition = _artifact_json(client, root_id, "pipeline.json")
    assert [t["name"] for t in definition["tasks"]] == ["make_frame", "mean", "scaled", "max_of"]

    steps = _children(client, root_id)
    assert sorted(steps) == [
        "make_frame[0]", "make_frame[1]", "max_of", "mean[0]", "mean[1]", "scaled[0]", "scaled[1]"
    ]  # fmt: skip
    frame_run, mean_run = steps["make_frame[0]"], steps["mean[0]"]
    assert all(r.info.parent_run_id == root_id for r in steps.values())  # type: ignore[attr-defined]
    assert all(r.info.status == "FINISHED" for r in steps.values())  # type: ignore[attr-defined]
    assert mean_run.data.metrics["mean"].value == 1.5  # type: ignore[attr-defined]
    # A frame travels as Parquet with a digest; its consumer records that digest as the param.
    materializer, digest = frame_run.data.tags[OUTPUT_TAG + "output"].split(":")  # type: ignore[attr-defined]
    assert materializer == "pandas"
    assert mean_run.data.params == {"frame": f"sha256:{digest}"}  # type: ignore[attr-defined]
    files = client.list_artifacts(frame_run.info.run_id, "outputs/output")  # type: ignore[attr-defined]
    assert [f.path for f in files] == ["outputs/output/data.parquet"]
    assert steps["scaled[1]"].data.params == {"value": "1.5", "factor": "10"}  # type: ignore[attr-defined]
    assert steps["max_of"].data.params == {"values": "[1.5,15.0]"}  # type: ignore[attr-defined]


class Opaque:
    pass


@step
def opaque() -> Opaque:
    return Opaque()


@step
def after_opaque(value: Opaque) -> int:
    return 1


@pipeline
def pickled() -> int:
    return after_opaque(opaque())


def test_a_refused_pickle_fails_the_step_and_the_run_records_why(client: Client) -> None:
    result = run(pickled, client=client, allow_pickle=False)
    assert result.state is PipelineState.FAILED
    assert "only pickle can store" in (result.step("opaque").reason or "")
    root = _root(client, "pickled")
    assert root.info.status == "FAILED"  # type: ignore[attr-defined]
    steps = _children(client, root.info.run_id)  # type: ignore[attr-defined]
    assert list(steps) == ["opaque"]  # the skipped step never started, so it has no run
    assert steps["opaque"].info.status == "FAILED"  # type: ignore[attr-defined]
    recorded = _artifact_json(client, root.info.run_id, "steps.json")  # type: ignore[attr-defined]
    assert recorded["steps"]["after_opaque"]["state"] == "SKIPPED"
    assert recorded["steps"]["opaque"]["run_id"] == steps["opaque"].info.run_id  # type: ignore[attr-defined]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_run_tracks_into_the_default_client(clew_home: object, database_url: str) -> None:
    result = run(summary)
    assert result.state is PipelineState.SUCCEEDED
    with Client() as client:
        assert _root(client, "summary").info.status == "FINISHED"  # type: ignore[attr-defined]


def test_the_run_and_its_steps_are_in_the_metadata_graph(client: Client) -> None:
    from clew.pipelines.serialize import digest

    run(summary, {"rows": 4}, client=client)
    root_id = _root(client, "summary").info.run_id  # type: ignore[attr-defined]
    info = client.get_pipeline_run(root_id)
    assert (info.pipeline, info.state, info.digest) == (
        "summary",
        "SUCCEEDED",
        digest(summary.spec),
    )

    steps = _children(client, root_id)
    ids = {name: r.info.run_id for name, r in steps.items()}  # type: ignore[attr-defined]
    names = {v: k for k, v in ids.items()}
    raw = client.pipeline_step_edges(root_id, list(ids.values()))
    edges = {(names[run_id], kind, name): (node, d) for run_id, kind, name, node, d in raw}
    # The frame make_frame[0] wrote is the node mean[0] read: one node, two edges.
    produced = edges[("make_frame[0]", "OUTPUT", "output")]
    assert edges[("mean[0]", "INPUT", "frame")] == produced
    tag = steps["make_frame[0]"].data.tags[OUTPUT_TAG + "output"]  # type: ignore[attr-defined]
    assert produced[1] == tag.split(":")[1]
    # The fan-in read both iterations' outputs.
    collected = {edges[(f"scaled[{i}]", "OUTPUT", "output")][0] for i in (0, 1)}
    read = {
        node for run_id, kind, _, node, _ in raw if names[run_id] == "max_of" and kind == "INPUT"
    }
    assert read == collected
    actions = [e.action for e in client.list_audit(limit=1000)]
    assert {"pipeline_run.start", "pipeline_step.record", "pipeline_run.finish"} <= set(actions)


def test_lineage_calls_refuse_bad_input_and_write_nothing(client: Client) -> None:
    from clew.core.errors import InvalidInput, NotFound
    from clew.pipelines.service import StepInput

    root = client.create_run(client.create_experiment("by-hand"))
    with pytest.raises(NotFound):
        client.start_pipeline_run("p", "0" * 32, "a" * 64)
    with pytest.raises(InvalidInput):
        client.start_pipeline_run("p", root.info.run_id, "not-a-digest")
    step_run = client.create_run(root.info.experiment_id)
    before = len(client.list_audit(limit=1000))
    client.start_pipeline_run("p", root.info.run_id, "a" * 64)
    with pytest.raises(InvalidInput):
        client.start_pipeline_run("p", root.info.run_id, "a" * 64)  # a second start
    with pytest.raises(NotFound):
        client.record_pipeline_step(
            root.info.run_id, step_run.info.run_id, inputs=[StepInput("x", "1" * 32, "output")]
        )
    with pytest.raises(InvalidInput):
        client.finish_pipeline_run(root.info.run_id, "RUNNING")
    assert len(client.list_audit(limit=1000)) == before + 1  # only the one start


def test_a_step_run_ends_with_its_records_in_one_call_or_not_at_all(client: Client) -> None:
    from clew.core.errors import NotFound
    from clew.pipelines.service import StepInput, StepOutput

    root = client.create_run(client.create_experiment("one-call"))
    client.start_pipeline_run("p", root.info.run_id, "a" * 64)
    step_run = client.create_run(root.info.experiment_id, parent_run_id=root.info.run_id)
    step_id = step_run.info.run_id
    before = len(client.list_audit(limit=1000))
    with pytest.raises(NotFound):  # an unknown input: nothing of the call is written
        client.record_pipeline_step(
            root.info.run_id,
            step_id,
            [StepOutput("output", "b" * 64, "json")],
            [StepInput("x", "1" * 32, "output")],
            params={"x": "1"},
            tags={STATE_TAG: "SUCCEEDED"},
            status="FINISHED",
        )
    assert len(client.list_audit(limit=1000)) == before
    assert client.get_run(step_id).info.status == "RUNNING"
    client.record_pipeline_step(root.info.run_id, step_id, [StepOutput("output", "b" * 64, "json")],
                                params={"x": "1"}, tags={STATE_TAG: "SUCCEEDED"},
                                status="FINISHED")  # fmt: skip
    ended = client.get_run(step_id)
    assert ended.info.status == "FINISHED" and ended.info.end_time is not None
    assert ended.data.params == {"x": "1"} and ended.data.tags[STATE_TAG] == "SUCCEEDED"
    assert [(e[1], e[2]) for e in client.pipeline_step_edges(root.info.run_id, [step_id])] == [
        ("OUTPUT", "output")
    ]
    actions = [e.action for e in client.list_audit(limit=3)]  # newest first
    assert actions == ["run.update", "run.log", "pipeline_step.record"]


attempts_before_fix = {"left": 1}


@step
def fragile(value: float) -> float:
    if attempts_before_fix["left"] > 0:
        attempts_before_fix["left"] -= 1
        raise RuntimeError("flaky disk")
    return value + 1


@step
def expensive(rows: int) -> float:
    expensive.calls += 1  # type: ignore[attr-defined]
    return float(rows)


expensive.calls = 0  # type: ignore[attr-defined]


@pipeline
def resumable(rows: int = 3) -> float:
    return fragile(expensive(rows))


def test_a_failed_run_resumes_from_the_failed_step(client: Client) -> None:
    attempts_before_fix["left"], expensive.calls = 1, 0  # type: ignore[attr-defined]
    failed = run(resumable, {"rows": 7}, client=client, cache=False)
    assert failed.state is PipelineState.FAILED and expensive.calls == 1  # type: ignore[attr-defined]
    failed_id = _root(client, "resumable").info.run_id  # type: ignore[attr-defined]

    resumed = run(resumable, client=client, cache=False, resume_from=failed_id)
    assert resumed.state is PipelineState.SUCCEEDED and resumed.output == 8.0
    assert resumed.params == {"rows": 7}  # the failed run's parameters
    assert resumed.step("expensive").state.value == "CACHED"  # reused, not rerun
    assert expensive.calls == 1  # type: ignore[attr-defined]
    assert resumed.step("fragile").state.value == "SUCCEEDED"
    newest = client.search_runs(
        filter_string="tags.`clew.pipeline.resumed_from` = '" + failed_id + "'"
    )
    assert len(newest) == 1


def test_resume_refuses_a_run_of_another_pipeline(client: Client) -> None:
    from clew.core.errors import InvalidInput

    run(summary, client=client)
    other = _root(client, "summary").info.run_id  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="not a run of pipeline 'resumable'"):
        run(resumable, client=client, resume_from=other)


@step
def one(i: int) -> int:
    return i


@step
def add_all(values: list[int]) -> int:
    return sum(values)


@pipeline
def wide() -> int:
    with ParallelFor(list(range(7))) as i:
        each = one(i)
    return add_all(collect(each))


def test_a_fan_in_wider_than_one_record_call_is_recorded_in_parts(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clew.pipelines import records

    monkeypatch.setattr(records, "MAX_EDGES", 3)  # the service and the tracker share it
    result = run(wide, client=client)
    assert result.state is PipelineState.SUCCEEDED and result.output == 21
    root = _root(client, "wide").info.run_id  # type: ignore[attr-defined]
    fan_in = _children(client, root)["add_all"].info.run_id  # type: ignore[attr-defined]
    edges = client.pipeline_step_edges(root, [fan_in])
    assert sorted(kind for _, kind, _, _, _ in edges) == ["INPUT"] * 7 + ["OUTPUT"]
