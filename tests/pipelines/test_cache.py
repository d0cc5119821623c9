"""Caching across runs: same code, inputs and environment → the earlier outputs, checked to
still load; anything that differs → the step runs."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from clew.client.client import Client
from clew.core.settings import Settings
from clew.pipelines import (
    ParallelFor,
    PipelineState,
    StepState,
    cached_steps,
    collect,
    pipeline,
    run,
    step,
)
from clew.pipelines import cache_key as cache_key_module
from clew.pipelines.cache_key import cache_key, code_fingerprint
from clew.pipelines.run_tags import CACHED_FROM_TAG, OUTPUT_TAG, PIPELINE_RUN_TAG, STATE_TAG


class Tally:
    """Counts step calls. Not JSON, so the cache key sees its type, not its changing counts
    (a plain dict global would be read by value, and every call would change the key)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def __setitem__(self, name: str, value: int) -> None:
        self.counts[name] = value

    def clear(self) -> None:
        self.counts.clear()

    def __eq__(self, other: object) -> bool:
        return self.counts == other


calls = Tally()


@step
def source(n: int) -> list[int]:
    calls["source"] += 1
    return list(range(n))


@step
def square_all(values: list[int]) -> list[int]:
    calls["square_all"] += 1
    return [v * v for v in values]


@step(cache=False)
def always(values: list[int]) -> int:
    calls["always"] += 1
    return len(values)


@pipeline
def cached(n: int = 4) -> list[int]:
    squares = square_all(source(n))
    always(squares)
    return squares


def _states(result: object) -> dict[str, StepState]:
    return {k: r.state for k, r in result.steps.items()}  # type: ignore[attr-defined]


def test_a_second_run_reuses_every_cacheable_output(client: Client) -> None:
    calls.clear()
    first = run(cached, client=client)
    second = run(cached, client=client)
    assert first.output == second.output == [0, 1, 4, 9]
    assert _states(second) == {
        "source": StepState.CACHED,
        "square_all": StepState.CACHED,
        "always": StepState.SUCCEEDED,  # opted out
    }
    assert calls == Counter(source=1, square_all=1, always=2)
    assert second.step("square_all").reason.startswith("outputs of run ")  # type: ignore[union-attr]
    cached_from = second.step("square_all").reason.split()[-1]  # type: ignore[union-attr]
    tags = [
        r.data.tags
        for r in client.search_runs(filter_string=f"tags.`{CACHED_FROM_TAG}` = '{cached_from}'")
    ]
    assert len(tags) == 1 and tags[0][OUTPUT_TAG + "output"].startswith("json:")


def test_a_hit_is_loaded_only_by_a_step_that_runs_and_reads_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls.clear()
    first = run(cached, client=client)
    loads: Counter[str] = Counter()
    download = Client.download_artifacts

    def counted(self: Client, run_id: str, path: str = "", dst_path: object = None) -> str:
        loads[path] += 1
        return download(self, run_id, path, dst_path)  # type: ignore[arg-type]

    monkeypatch.setattr(Client, "download_artifacts", counted)
    second = run(cached, client=client)
    # source's output is read by square_all, a hit: never loaded; square_all's by always,
    # which runs: loaded once (the pipeline's output is the same value).
    assert loads == Counter({"outputs/output": 1})
    assert second.output == [0, 1, 4, 9]
    assert second.step("source").outputs == {"output": [0, 1, 2, 3]}  # loads when read
    # The step runs record the same params as the first run's, loaded or not.
    params = sorted(
        (r.info.run_name, r.data.params)
        for r in client.search_runs(filter_string="tags.`clew.pipeline.step` != ''")
    )
    assert params == 2 * [("always", {"values": "[0,1,4,9]"})] + 2 * [
        ("source", {"n": "4"})
    ] + 2 * [("square_all", {"values": "[0,1,2,3]"})]
    assert first.state is second.state is PipelineState.SUCCEEDED


def test_a_changed_input_reruns_what_depends_on_it_and_no_cache_reruns_all(
    client: Client,
) -> None:
    calls.clear()
    run(cached, client=client)
    changed = run(cached, {"n": 5}, client=client)
    assert _states(changed)["source"] is StepState.SUCCEEDED
    assert _states(changed)["square_all"] is StepState.SUCCEEDED
    forced = run(cached, client=client, cache=False)
    assert set(_states(forced).values()) == {StepState.SUCCEEDED}
    assert calls["source"] == 3


def test_outputs_that_no_longer_load_are_a_miss(client: Client, settings: Settings) -> None:
    calls.clear()
    first = run(cached, client=client)
    assert first.state is PipelineState.SUCCEEDED
    # Remove every stored blob: the earlier run's outputs are gone.
    blobs = Path(str(settings.resolved_artifact_root()).removeprefix("file://")) / "blobs"
    removed = [p.unlink() for p in blobs.rglob("*") if p.is_file()]
    assert removed
    again = run(cached, client=client)
    assert _states(again)["source"] is StepState.SUCCEEDED
    assert calls["source"] == 2


@step
def shifted(x: int) -> int:
    calls["shifted"] += 1
    return x + 100


@step
def gathered(values: list[int]) -> list[int]:
    return values


@pipeline
def fanned(n: int = 4) -> list[int]:
    with ParallelFor(source(n)) as x:
        y = shifted(x)
    return gathered(collect(y))


class Batches:
    """The sizes of the batched calls a run makes: lookups asked, cache hits recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lookups: list[int] = []
        self.recorded: list[int] = []
        find, record = Client.find_cached_steps, Client.record_cached_pipeline_steps

        def finding(client: Client, experiment_id: str, lookups: list[object]) -> object:
            self.lookups.append(len(lookups))
            return find(client, experiment_id, lookups)  # type: ignore[arg-type]

        def recording(client: Client, root: str, experiment_id: str, steps: list[object]) -> object:
            self.recorded.append(len(steps))
            return record(client, root, experiment_id, steps)  # type: ignore[arg-type]

        monkeypatch.setattr(Client, "find_cached_steps", finding)
        monkeypatch.setattr(Client, "record_cached_pipeline_steps", recording)


def _step_runs(client: Client, pipeline_name: str) -> list[dict[str, Any]]:
    """Each run of pipeline ``pipeline_name``, oldest first: its step runs by name (and the
    pipeline run itself as ``""``)."""
    experiment = client.get_experiment_by_name(pipeline_name)
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], max_results=1000)
    roots = sorted(
        (r for r in found if r.data.tags.get(PIPELINE_RUN_TAG) is None),
        key=lambda r: r.info.start_time,
    )
    return [
        {"": root}
        | {
            r.info.run_name: r
            for r in found
            if r.data.tags.get(PIPELINE_RUN_TAG) == root.info.run_id
        }
        for root in roots
    ]


def test_a_fan_outs_hits_are_found_together_and_recorded_whole(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls.clear()
    first = run(fanned, client=client)
    batches = Batches(monkeypatch)
    # One more item: the list is a new output (source runs), its first four items are hits.
    second = run(fanned, {"n": 5}, client=client)
    assert first.output == [100, 101, 102, 103] and second.output == [100, 101, 102, 103, 104]
    states = _states(second)
    assert [states[f"shifted[{i}]"] for i in range(5)] == 4 * [StepState.CACHED] + [
        StepState.SUCCEEDED
    ]
    assert calls["shifted"] == 5
    # source and gathered alone, then the five iterations in one lookup; four hits, one write.
    assert sorted(batches.lookups) == [1, 1, 5] and batches.recorded == [4]
    # A batched hit is recorded as a single one is: its params, tags and lineage.
    made, adopted = _step_runs(client, "fanned")
    root, hit, fan_in = adopted[""].info.run_id, adopted["shifted[2]"], adopted["gathered"]
    assert hit.info.status == "FINISHED" and hit.info.parent_run_id == root
    assert hit.data.params == {"x": "2"}
    assert hit.data.tags[STATE_TAG] == "CACHED"
    assert hit.data.tags[CACHED_FROM_TAG] == made["shifted[2]"].info.run_id
    edges = client.pipeline_step_edges(root, [hit.info.run_id, fan_in.info.run_id])
    (output,) = [e[4] for e in edges if e[0] == hit.info.run_id and e[1] == "OUTPUT"]
    read = [e[4] for e in edges if e[0] == fan_in.info.run_id and e[1] == "INPUT"]
    assert len(read) == 5 and output in read


def test_a_fan_out_iteration_whose_blob_is_gone_runs_and_the_rest_are_hits(
    client: Client, settings: Settings
) -> None:
    calls.clear()
    run(fanned, client=client)
    (made,) = _step_runs(client, "fanned")
    lost = client.list_artifacts(made["shifted[1]"].info.run_id, "outputs/output")
    blobs = Path(str(settings.resolved_artifact_root()).removeprefix("file://")) / "blobs"
    for file in lost:
        assert file.digest is not None
        (blobs / file.digest[:2] / file.digest[2:]).unlink()  # the blob store's layout
    again = run(fanned, client=client)
    states = _states(again)
    assert [states[f"shifted[{i}]"] for i in range(4)] == [
        StepState.CACHED,
        StepState.SUCCEEDED,
        StepState.CACHED,
        StepState.CACHED,
    ]
    assert again.output == [100, 101, 102, 103] and calls["shifted"] == 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_expired_outputs_are_a_miss(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """An hour's expiry, and the cache's clock moved on by more than that (not a sleep: a short
    expiry raced the machine's load)."""

    @step(cache_expiry_s=3600)
    def brief(n: int) -> int:
        calls["brief"] += 1
        return n

    @pipeline
    def expiring() -> int:
        return brief(3)

    calls.clear()
    run(expiring, client=client)
    assert run(expiring, client=client).step("brief").state is StepState.CACHED
    later = time.time() + 3700
    monkeypatch.setattr(cached_steps, "clock", lambda: later)
    assert run(expiring, client=client).step("brief").state is StepState.SUCCEEDED
    assert calls["brief"] == 2


def test_the_key_follows_code_closures_and_inputs() -> None:
    def make(offset: int):  # type: ignore[no-untyped-def]
        def shifted(x: int) -> int:
            return x + offset

        return shifted

    def other(x: int) -> int:
        return x * 2

    assert code_fingerprint(make(1)) == code_fingerprint(make(1))
    assert code_fingerprint(make(1)) != code_fingerprint(make(2))  # what it closes over
    assert code_fingerprint(make(1)) != code_fingerprint(other)  # its source
    key = cache_key("m:f", other, {"x": "1"})
    assert key == cache_key("m:f", other, {"x": "1"}) and key != cache_key("m:f", other, {"x": "2"})
    assert cache_key("m:f", other, {"x": None}) is None  # no fingerprint: never cached


def test_the_environment_is_every_installed_distribution_as_its_metadata_names_it() -> None:
    # The header lines are read without the email parser: the same names and versions.
    from importlib import metadata

    named = [dist for dist in metadata.distributions() if dist.metadata["Name"]]
    assert named
    for dist in named:
        expected = (dist.metadata["Name"], dist.version)
        assert cache_key_module._name_and_version(dist) == expected, dist


def test_a_source_read_that_clashes_with_another_threads_parse_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On Python 3.11 ast.parse on two threads at once can raise SystemError (CPython
    # gh-106905); inspect.getsource of a class parses. The key must not change with it.
    expected = code_fingerprint(square_all)
    real = cache_key_module.inspect.getsource
    clashes = iter([True, True])

    def clashing(obj: object) -> str:
        if next(clashes, False):
            raise SystemError("AST constructor recursion depth mismatch (before=60, after=53)")
        return real(obj)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_key_module.inspect, "getsource", clashing)
    assert code_fingerprint(square_all) == expected
