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
from clew.pipelines.tracking import OUTPUT_TAG, PIPELINE_RUN_TAG, STATE_TAG


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
