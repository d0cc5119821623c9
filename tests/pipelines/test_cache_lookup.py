"""``Client.find_cached_step`` and ``find_cached_steps``: the narrow read a cache hit makes,
alone or for a fan-out's iterations together, on both transports and both databases: the
newest finished step run under a key, its tags, params and output files, and which outputs
lost a blob."""

from __future__ import annotations

from pathlib import Path

import pytest

from clew.client.client import Client
from clew.core.errors import InvalidInput
from clew.core.settings import Settings
from clew.pipelines.records import MAX_BATCH, CacheLookup
from clew.pipelines.run_tags import CACHE_KEY_TAG, CACHED_FROM_TAG, OUTPUT_TAG

KEY, OTHER = "a" * 64, "b" * 64


def _step_run(
    client: Client,
    experiment_id: str,
    tmp_path: Path,
    key: str,
    *,
    files: dict[str, bytes] | None = None,
    tags: dict[str, str] | None = None,
    status: str | None = "FINISHED",
) -> str:
    """A step run under ``key`` with output ``out``'s ``files``, ended with ``status``."""
    run_id = client.create_run(
        experiment_id,
        tags={CACHE_KEY_TAG: key, OUTPUT_TAG + "out": "json:" + "c" * 64, **(tags or {})},
        params={"x": "1"},
    ).info.run_id
    if files:
        folder = tmp_path / run_id
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        client.log_artifacts(run_id, folder, "outputs/out")
    if status is not None:
        client.set_terminated(run_id, status)
    return run_id


def test_the_newest_finished_step_run_under_the_key_comes_with_its_files(
    client: Client, tmp_path: Path
) -> None:
    experiment = client.create_experiment("lookup")
    older = _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"1"})
    newest = _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"2", "b.bin": b"3"})
    _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"4"}, status=None)  # running
    _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"5"}, status="FAILED")
    _step_run(client, experiment, tmp_path, OTHER, files={"a.json": b"6"})
    _step_run(client, client.create_experiment("elsewhere"), tmp_path, KEY, files={"a": b"7"})

    found = client.find_cached_step(experiment, KEY)
    assert found is not None and found.run_id == newest and found.files_run_id == newest
    assert found.tags[CACHE_KEY_TAG] == KEY and found.params == {"x": "1"}
    listed = {f.path: f.digest for f in client.list_artifacts(newest, "outputs/out")}
    assert found.files == {"out": listed} and set(listed) == {
        "outputs/out/a.json",
        "outputs/out/b.bin",
    }
    assert found.missing == ()
    # Passed over, the next one is found; started too early, none is.
    again = client.find_cached_step(experiment, KEY, exclude=[newest])
    assert again is not None and again.run_id == older
    assert client.find_cached_step(experiment, KEY, exclude=[newest, older]) is None
    assert client.find_cached_step(experiment, KEY, started_since=found.start_time + 1) is None
    assert client.find_cached_step(experiment, OTHER, exclude=[newest]) is not None
    assert client.find_cached_step(experiment, "d" * 64) is None


def test_a_named_step_run_is_found_only_under_its_key_whatever_its_status(
    client: Client, tmp_path: Path
) -> None:
    experiment = client.create_experiment("resume")
    running = _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"1"}, status=None)
    found = client.find_cached_step(experiment, KEY, run_id=running)
    assert found is not None and found.run_id == running and "out" in found.files
    assert client.find_cached_step(experiment, OTHER, run_id=running) is None
    assert client.find_cached_step(client.create_experiment("x"), KEY, run_id=running) is None


def test_a_hit_of_a_hit_has_its_files_where_they_were_made(client: Client, tmp_path: Path) -> None:
    experiment = client.create_experiment("chain")
    made = _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"1"})
    hit = _step_run(client, experiment, tmp_path, KEY, tags={CACHED_FROM_TAG: made})
    found = client.find_cached_step(experiment, KEY)
    assert found is not None and found.run_id == hit and found.files_run_id == made
    assert list(found.files["out"]) == ["outputs/out/a.json"]


def test_an_output_whose_blob_is_gone_is_missing(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    experiment = client.create_experiment("gone")
    run_id = _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"1", "b": b"2"})
    digest = next(f.digest for f in client.list_artifacts(run_id, "outputs/out") if f.digest)
    assert digest is not None
    blobs = Path(str(settings.resolved_artifact_root()).removeprefix("file://")) / "blobs"
    (blobs / digest[:2] / digest[2:]).unlink()  # the blob store's layout (``BlobStore._key``)
    found = client.find_cached_step(experiment, KEY)
    assert found is not None and found.missing == ("out",)
    assert len(found.files["out"]) == 2  # listed still: it is the blob that is gone


@pytest.mark.parametrize(
    ("experiment", "key", "extra"),
    [
        pytest.param("x", KEY, {}, id="experiment"),
        pytest.param("1", "not-a-digest", {}, id="key"),
        pytest.param("1", KEY, {"run_id": "nope"}, id="run-id"),
        pytest.param("1", KEY, {"exclude": ["0" * 32] * 101}, id="too-many-excluded"),
    ],
)
def test_bad_lookups_are_refused(
    client: Client, experiment: str, key: str, extra: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput):
        client.find_cached_step(experiment, key, **extra)  # type: ignore[arg-type]


def test_many_lookups_are_answered_in_one_call_in_order(client: Client, tmp_path: Path) -> None:
    experiment = client.create_experiment("many")
    made = _step_run(client, experiment, tmp_path, KEY, files={"a.json": b"1"})
    other = _step_run(client, experiment, tmp_path, OTHER, files={"a.json": b"1"})  # one blob
    asked = [
        CacheLookup(OTHER),
        CacheLookup("d" * 64),
        CacheLookup(KEY),
        CacheLookup(KEY, exclude=(made,)),
        CacheLookup(KEY, run_id=other),
        CacheLookup(OTHER, run_id=other),
    ]
    found = client.find_cached_steps(experiment, asked)
    assert [None if f is None else f.run_id for f in found] == [
        other,
        None,
        made,
        None,
        None,
        other,
    ]
    # Each answer is what the lookup alone finds.
    assert found[0] == client.find_cached_step(experiment, OTHER)
    assert found[2] == client.find_cached_step(experiment, KEY)
    assert client.find_cached_steps(experiment, []) == []


def test_a_batch_with_one_bad_lookup_is_refused_whole(client: Client) -> None:
    with pytest.raises(InvalidInput):
        client.find_cached_steps("1", [CacheLookup(KEY), CacheLookup("not-a-digest")])
    with pytest.raises(InvalidInput):
        client.find_cached_steps("1", [CacheLookup(KEY)] * (MAX_BATCH + 1))
