"""``load_model`` by every URI form, through the verified cache, on both transports.

Tamper policy (see ``clew.client.model_cache``): a damaged *cache* entry is discarded and
fetched again, since the server's pinned digests are the truth and the cache is a copy; a
tampered *server* blob is refused with ``MODEL_DIGEST_MISMATCH``, since nothing trustworthy is
left to fetch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import clew
from clew.client.client import Client
from clew.client.model_cache import MARKER, ModelCache
from clew.core.errors import Conflict, InvalidInput, ModelIntegrityError, NotFound
from clew.core.settings import Settings
from tests.conftest import need


@pytest.fixture
def data() -> Any:
    pd = need("pandas")
    return pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0]})


@pytest.fixture
def logged(client: Client, data: Any) -> dict[str, Any]:
    """A model logged from a run, registered as churn v1 with alias champion and in Production."""
    need("sklearn")
    from sklearn.linear_model import LogisticRegression

    estimator = LogisticRegression().fit(data, [0, 0, 1, 1, 1])
    run = client.create_run()
    info = client.log_model(
        run.run_id, estimator, "clf", input_example=data.head(2), registered_model_name="churn"
    )
    client.set_registered_model_alias("churn", "champion", 1)
    client.transition_model_version_stage("churn", 1, "Production")
    return {"run_id": run.run_id, "info": info, "expected": estimator.predict_proba(data)}


@pytest.fixture
def fresh_cache(client: Client, tmp_path: Path) -> ModelCache:
    """A cache that has never seen the model (log_model put it in the default one)."""
    client.model_cache = ModelCache(tmp_path / "fresh-cache")
    return client.model_cache


@pytest.fixture
def downloads(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The artifact paths the client streams from the server, in order."""
    seen: list[str] = []
    real = client.transport.open_artifact

    @contextmanager
    def counting(owner: str, path: str) -> Iterator[Iterator[bytes]]:
        seen.append(path)
        with real(owner, path) as chunks:
            yield chunks

    monkeypatch.setattr(client.transport, "open_artifact", counting)
    return seen


def _flip_last_byte(path: Path) -> None:
    body = bytearray(path.read_bytes())
    body[-1] ^= 0xFF
    path.write_bytes(bytes(body))


def _proba(model: Any, data: Any) -> Any:
    return model.unwrap_python_model().predict_proba(data)


URIS = [
    pytest.param("models:/churn@champion", id="alias"),
    pytest.param("models:/churn/1", id="version"),
    pytest.param("models:/churn/latest", id="latest"),
    pytest.param("models:/churn/Production", id="stage"),
    pytest.param("{model_uri}", id="logged-model"),
    pytest.param("runs:/{run_id}/clf", id="runs"),
]


@pytest.mark.parametrize("template", URIS)
def test_every_uri_form_loads_the_same_model(
    client: Client, logged: dict[str, Any], data: Any, fresh_cache: ModelCache, template: str
) -> None:
    uri = template.format(model_uri=logged["info"].model_uri, run_id=logged["run_id"])
    model = client.load_model(uri)
    assert (_proba(model, data) == logged["expected"]).all()
    assert model.predict(data).tolist() == [0, 0, 1, 1, 1]
    assert Path(model.metadata.path).parent.name == logged["info"].digest


def test_the_fluent_api_loads_by_alias(fluent: Client, logged: dict[str, Any], data: Any) -> None:
    model = clew.load_model("models:/churn@champion")
    assert (_proba(model, data) == logged["expected"]).all()


def test_a_local_directory_loads_in_place(
    client: Client, logged: dict[str, Any], data: Any, tmp_path: Path
) -> None:
    path = client.download_model("models:/churn/1", tmp_path / "copy")
    model = client.load_model(str(path))
    assert model.metadata.path == str(path)
    assert (_proba(model, data) == logged["expected"]).all()


def test_the_second_load_downloads_nothing(
    client: Client, logged: dict[str, Any], fresh_cache: ModelCache, downloads: list[str]
) -> None:
    client.load_model("models:/churn@champion")
    assert sorted(downloads) == sorted(f.path for f in client.list_model_version_files("churn", 1))
    downloads.clear()
    client.load_model("models:/churn@champion")
    client.load_model(logged["info"].model_uri)  # same bytes, same entry
    assert downloads == []


def test_log_model_fills_the_cache_so_the_first_load_downloads_nothing(
    client: Client, logged: dict[str, Any], downloads: list[str]
) -> None:
    client.load_model("models:/churn@champion")
    assert downloads == []


def test_moving_the_alias_is_seen_at_once(
    client: Client, logged: dict[str, Any], data: Any
) -> None:
    from sklearn.dummy import DummyClassifier

    other = DummyClassifier(strategy="constant", constant=1).fit(data, [0, 0, 1, 1, 1])
    info = client.log_model(None, other, "dummy", experiment_id="0", registered_model_name="churn")
    client.set_registered_model_alias("churn", "champion", info.registered_model_version)
    assert client.load_model("models:/churn@champion").predict(data).tolist() == [1] * 5


def test_a_tampered_cache_file_is_detected_and_fetched_again(
    client: Client, logged: dict[str, Any], data: Any, fresh_cache: ModelCache, downloads: list[str]
) -> None:
    model = client.load_model("models:/churn/1")
    target = Path(model.metadata.path) / "model.skops"
    os.chmod(target.parent, 0o755)
    os.chmod(target, 0o644)
    _flip_last_byte(target)
    downloads.clear()
    again = client.load_model("models:/churn/1")
    assert "model.skops" in downloads  # the damaged entry was thrown away and re-fetched
    assert (_proba(again, data) == logged["expected"]).all()
    assert client.model_cache.lookup(logged["info"].digest) is not None


def test_tampered_bytes_with_a_forged_mtime_are_still_caught(
    client: Client, logged: dict[str, Any], data: Any, fresh_cache: ModelCache, downloads: list[str]
) -> None:
    model = client.load_model("models:/churn/1")
    target = Path(model.metadata.path) / "model.skops"
    st = target.stat()
    os.chmod(target.parent, 0o755)
    os.chmod(target, 0o644)
    _flip_last_byte(target)
    os.chmod(target, 0o444)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # passes the stat check
    downloads.clear()
    again = client.load_model("models:/churn/1")  # the model bytes are hashed as they are read
    assert "model.skops" in downloads
    assert (_proba(again, data) == logged["expected"]).all()


def test_a_dropped_in_file_invalidates_the_entry(
    client: Client, logged: dict[str, Any], fresh_cache: ModelCache, downloads: list[str]
) -> None:
    model = client.load_model("models:/churn/1")
    root = Path(model.metadata.path)
    os.chmod(root, 0o755)
    (root / "sitecustomize.py").write_text("raise SystemExit('owned')")
    downloads.clear()
    again = client.load_model("models:/churn/1")
    assert downloads and not (Path(again.metadata.path) / "sitecustomize.py").exists()


def test_a_tampered_server_blob_is_refused(
    client: Client, logged: dict[str, Any], fresh_cache: ModelCache, settings: Settings
) -> None:
    [skops] = [f for f in client.list_model_version_files("churn", 1) if f.path == "model.skops"]
    blob = Path(settings.resolved_artifact_root()) / "blobs" / skops.digest[:2] / skops.digest[2:]
    os.chmod(blob, 0o644)
    _flip_last_byte(blob)
    with pytest.raises(ModelIntegrityError) as caught:
        client.load_model("models:/churn@champion")
    assert caught.value.code == "MODEL_DIGEST_MISMATCH"
    assert caught.value.details["mismatched"] == ["model.skops"]
    assert list(fresh_cache.root.iterdir()) == []  # nothing half-verified was published


def test_verify_rehashes_everything_even_on_a_hit(
    client: Client, logged: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from clew.models import files

    hashed: list[Path] = []
    real = files.sha256_file
    monkeypatch.setattr(files, "sha256_file", lambda p: hashed.append(p) or real(p))
    client.load_model("models:/churn/1")
    fast = len(hashed)
    client.load_model("models:/churn/1", verify=True)
    assert fast == 0 and len(hashed) - fast >= 5  # every side file, not just the model bytes


def test_cache_entries_are_read_only_with_a_marker(
    client: Client, logged: dict[str, Any], fresh_cache: ModelCache
) -> None:
    model = client.load_model("models:/churn/1")
    root = Path(model.metadata.path)
    assert (root.parent / MARKER).is_file()
    assert all(not (p.stat().st_mode & 0o222) for p in root.iterdir())


def test_unknown_alias_version_and_model(client: Client, logged: dict[str, Any]) -> None:
    for uri in (
        "models:/churn@nobody",
        "models:/churn/7",
        "models:/nope/1",
        "models:/m-" + "0" * 32,
    ):
        with pytest.raises(NotFound) as caught:
            client.load_model(uri)
        assert (caught.value.status, caught.value.code) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_malformed_uris_are_invalid_input(client: Client) -> None:
    for uri in ("models:/", "models:/a@b@c", "runs:/not-a-run/x", "runs:/" + "a" * 32 + "/../x"):
        with pytest.raises(InvalidInput):
            client.load_model(uri)


def test_a_pending_logged_model_is_not_loadable(client: Client) -> None:
    pending = client.create_logged_model("0", name="half")
    with pytest.raises(Conflict):
        client.load_model(f"models:/{pending.model_id}")


def test_runs_uri_prefers_the_runs_own_model_files(
    client: Client, logged: dict[str, Any], data: Any, tmp_path: Path
) -> None:
    from sklearn.dummy import DummyClassifier

    from clew.models import save_model

    save_model(
        DummyClassifier(strategy="constant", constant=0).fit(data, [0, 1, 0, 1, 0]), tmp_path / "m"
    )
    client.log_artifacts(logged["run_id"], tmp_path / "m", "own")
    assert client.load_model(f"runs:/{logged['run_id']}/own").predict(data).tolist() == [0] * 5
    with pytest.raises(NotFound):
        client.load_model(f"runs:/{logged['run_id']}/missing")


def test_the_signature_is_enforced_through_a_loaded_model(
    client: Client, logged: dict[str, Any], data: Any
) -> None:
    model = client.load_model("models:/churn@champion")
    with pytest.raises(InvalidInput) as caught:
        model.predict(data[["a"]])
    assert caught.value.details["column"] == "b"


def test_download_model_writes_verified_plain_files(
    client: Client, logged: dict[str, Any], tmp_path: Path, downloads: list[str]
) -> None:
    path = client.download_model("models:/churn@champion", tmp_path / "out")
    names = sorted(p.name for p in path.iterdir())
    assert names == sorted(f.path for f in client.list_model_version_files("churn", 1))
    assert all(p.stat().st_mode & 0o200 for p in path.iterdir())  # the copy is the user's
    assert downloads == []  # from the cache log_model filled
    direct = client.download_model("models:/churn/1", tmp_path / "direct", use_cache=False)
    assert (
        len(downloads) == len(names)
        and (direct / "MLmodel").read_bytes() == (path / "MLmodel").read_bytes()
    )
    with pytest.raises(InvalidInput):
        client.download_model("models:/churn/1", tmp_path / "out")  # not empty
