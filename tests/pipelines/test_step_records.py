"""A step's records in one call each, on both transports and both databases: a cache hit's
whole step run (``record_cached_pipeline_step``, or a fan-out's hits together), and a step's end carrying its small
outputs' files (``record_pipeline_step(files=...)``); all of a call or nothing of it."""

from __future__ import annotations

import hashlib

import pytest

from clew.client.client import Client
from clew.core.errors import InvalidInput, NotFound
from clew.pipelines.records import (
    MAX_BATCH,
    MAX_INLINE_BYTES,
    CachedStepRecord,
    StepInput,
    StepOutput,
    manifest_digest,
)
from clew.pipelines.run_tags import CACHED_FROM_TAG, OUTPUT_TAG, PIPELINE_RUN_TAG, STATE_TAG


def _pipeline_run(client: Client, name: str) -> tuple[str, str]:
    experiment = client.create_experiment(name)
    root = client.create_run(experiment).info.run_id
    client.start_pipeline_run("p", root, "a" * 64)
    return experiment, root


def _digest(files: dict[str, bytes], output: str = "output") -> str:
    return manifest_digest(
        {
            f"outputs/{output}/{path}": hashlib.sha256(data).hexdigest()
            for path, data in files.items()
        }
    )


def _producer(client: Client, experiment: str, root: str) -> tuple[str, str]:
    """A step run that made output ``output`` from its files; its run id and digest."""
    files = {"value.json": b"1"}
    step_id = client.create_run(experiment, parent_run_id=root).info.run_id
    digest = _digest(files)
    client.record_pipeline_step(root, step_id, [StepOutput("output", digest, "json")],
                                tags={STATE_TAG: "SUCCEEDED"}, status="FINISHED",
                                files={"output": files})  # fmt: skip
    return step_id, digest


def test_a_cached_step_run_is_made_whole_in_one_call(client: Client) -> None:
    experiment, root = _pipeline_run(client, "hit-whole")
    producer, digest = _producer(client, experiment, root)
    tags = {PIPELINE_RUN_TAG: root, STATE_TAG: "CACHED", CACHED_FROM_TAG: producer,
            OUTPUT_TAG + "output": f"json:{digest}"}  # fmt: skip
    step_id = client.record_cached_pipeline_step(
        root,
        experiment,
        "consumer",
        [StepOutput("output", digest, "json")],
        [StepInput("x", producer, "output")],
        params={"x": f"sha256:{digest}"},
        tags=tags,
    )
    made = client.get_run(step_id)
    assert made.info.status == "FINISHED" and made.info.end_time is not None
    assert made.info.run_name == "consumer" and made.info.parent_run_id == root
    assert made.data.params == {"x": f"sha256:{digest}"}
    assert tags.items() <= made.data.tags.items()
    edges = client.pipeline_step_edges(root, [step_id])
    assert sorted((e[1], e[2], e[4]) for e in edges) == [
        ("INPUT", "x", digest),
        ("OUTPUT", "output", digest),
    ]
    actions = [e.action for e in client.list_audit(limit=2)]  # newest first
    assert actions == ["pipeline_step.record", "run.create"]


def test_a_cached_step_run_reading_an_unrecorded_output_is_not_made(client: Client) -> None:
    experiment, root = _pipeline_run(client, "hit-nothing")
    before = len(client.list_audit(limit=1000))
    with pytest.raises(NotFound):
        client.record_cached_pipeline_step(
            root, experiment, "consumer", inputs=[StepInput("x", "1" * 32, "output")]
        )
    assert len(client.list_audit(limit=1000)) == before
    assert [r.info.run_id for r in client.search_runs([experiment])] == [root]


def test_cache_hits_found_together_are_made_whole_together(client: Client) -> None:
    experiment, root = _pipeline_run(client, "hits-together")
    producer, digest = _producer(client, experiment, root)
    steps = [
        CachedStepRecord(
            f"consumer[{i}]",
            (StepOutput("output", digest, "json"),),
            (StepInput("x", producer, "output"),),
            {"i": str(i)},
            {PIPELINE_RUN_TAG: root, STATE_TAG: "CACHED", CACHED_FROM_TAG: producer},
        )
        for i in range(3)
    ]
    made = client.record_cached_pipeline_steps(root, experiment, steps)
    assert len(set(made)) == 3
    for i, step_id in enumerate(made):
        run = client.get_run(step_id)
        assert run.info.run_name == f"consumer[{i}]" and run.info.status == "FINISHED"
        assert run.info.parent_run_id == root and run.data.params == {"i": str(i)}
        assert run.data.tags[STATE_TAG] == "CACHED"
    edges = client.pipeline_step_edges(root, made)
    assert sorted((e[0], e[1]) for e in edges) == sorted(
        (step_id, kind) for step_id in made for kind in ("INPUT", "OUTPUT")
    )
    actions = [e.action for e in client.list_audit(limit=6)][::-1]  # oldest first
    assert actions == 3 * ["run.create", "pipeline_step.record"]


def test_a_batch_of_cache_hits_with_one_it_cannot_take_writes_nothing(client: Client) -> None:
    experiment, root = _pipeline_run(client, "hits-refused")
    _, digest = _producer(client, experiment, root)
    good = CachedStepRecord("good", (StepOutput("output", digest, "json"),))
    orphan = CachedStepRecord("orphan", inputs=(StepInput("x", "1" * 32, "output"),))
    before = len(client.list_audit(limit=1000))
    with pytest.raises(NotFound):
        client.record_cached_pipeline_steps(root, experiment, [good, good, orphan])
    too_many = [good] * (MAX_BATCH + 1)
    wide = [CachedStepRecord("wide", (StepOutput("output", digest, "json"),) * 600)] * 2
    for refused in (too_many, wide, []):
        with pytest.raises(InvalidInput):
            client.record_cached_pipeline_steps(root, experiment, refused)
    assert len(client.list_audit(limit=1000)) == before
    names = {r.info.run_name for r in client.search_runs([experiment])}
    assert "good" not in names and "orphan" not in names


def test_a_steps_end_stores_its_small_outputs_files_with_it(client: Client) -> None:
    experiment, root = _pipeline_run(client, "inline")
    producer, digest = _producer(client, experiment, root)
    listed = client.list_artifacts(producer, "outputs/output")
    assert [(f.path, f.size) for f in listed] == [("outputs/output/value.json", 1)]
    with client.open_artifact(producer, "outputs/output/value.json") as chunks:
        assert b"".join(chunks) == b"1"
    found = client.find_cached_step(experiment, "f" * 64, run_id=producer)
    assert found is None  # no cache key: found by key only
    actions = [e.action for e in client.list_audit(limit=4)]  # newest first
    assert actions == ["run.update", "run.log", "pipeline_step.record", "artifact.log"]
    edges = client.pipeline_step_edges(root, [producer])
    assert [(e[1], e[2], e[4]) for e in edges] == [("OUTPUT", "output", digest)]


@pytest.mark.parametrize(
    "files, digest, output",
    [
        pytest.param({"value.json": b"1"}, "e" * 64, "output", id="not-the-files-digest"),
        pytest.param({"../x": b"1"}, None, "output", id="a-path-outside"),
        pytest.param({"value.json": b"1"}, None, "other", id="an-output-not-recorded"),
        pytest.param({"big.bin": b"x" * (MAX_INLINE_BYTES + 1)}, None, "output", id="too-large"),
    ],
)
def test_a_steps_end_with_files_it_cannot_take_writes_nothing(
    client: Client, files: dict[str, bytes], digest: str | None, output: str
) -> None:
    experiment, root = _pipeline_run(client, "inline-refused")
    step_id = client.create_run(experiment, parent_run_id=root).info.run_id
    before = len(client.list_audit(limit=1000))
    recorded = StepOutput("output", digest or _digest({"value.json": b"1"}), "json")
    with pytest.raises(InvalidInput):
        client.record_pipeline_step(root, step_id, [recorded], tags={STATE_TAG: "SUCCEEDED"},
                                    status="FINISHED", files={output: files})  # fmt: skip
    assert len(client.list_audit(limit=1000)) == before
    assert client.get_run(step_id).info.status == "RUNNING"
    assert client.list_artifacts(step_id) == []
