"""``clew import mlflow`` from a real MLflow 3.x server filled by the real ``mlflow`` client.

Both sources (the REST API, and the backend store plus artifact root) must deliver what the
MLflow client reads back, value for value and byte for byte; a second import copies nothing;
an import interrupted anywhere resumes to the same end state as an uninterrupted one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from clew.cli.main import app
from clew.core.schema import audit_events
from clew.core.settings import Settings
from clew.importers.mlflow import RestSource, SqlSource, import_mlflow
from clew.importers.mlflow.artifact_root import ArtifactRoot
from clew.importers.mlflow.registry_copy import version_key
from clew.importers.mlflow.source import ArtifactsUnreachable, MlflowSource, SourceVersion
from clew.importers.summary import ALREADY, Summary
from clew.platform import Platform
from tests.importers.clew_view import ACTOR, view, without_mark
from tests.server.mlflow_compat.servers import MlflowServer


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    """The import's target, on SQLite and on PostgreSQL (``settings`` is parametrized)."""
    p = Platform.open(settings)
    yield p
    p.close()


def _sources(server: MlflowServer) -> dict[str, MlflowSource]:
    return {
        "rest": RestSource(server.url),
        "sql": SqlSource(server.backend_uri, str(server.artifact_root)),
    }


@pytest.fixture(params=["rest", "sql"])
def source(request: pytest.FixtureRequest, mlflow_server: MlflowServer) -> Iterator[MlflowSource]:
    src = _sources(mlflow_server)[request.param]
    yield src
    src.close()


def _names(filled: dict[str, Any]) -> list[str]:
    return list(filled["readback"]["experiments"])


def _imported(platform: Platform, filled: dict[str, Any]) -> dict[str, Any]:
    return view(platform, _names(filled), filled["model"])


def test_everything_arrives_with_mlflows_values(
    platform: Platform, source: MlflowSource, filled: dict[str, Any]
) -> None:
    summary = import_mlflow(platform, source, ACTOR, include_deleted=True)
    got, want = _imported(platform, filled), filled["readback"]

    assert got["experiments"] == want["experiments"]  # names, tags, the deleted one deleted
    assert set(got["runs"]) == set(want["runs"])  # MLflow's run ids, kept
    assert all(got["marks"].values())
    for run_id, mlflow_run in want["runs"].items():
        assert got["runs"][run_id] == mlflow_run, run_id
    parent = got["runs"][filled["parent"]]
    assert parent["metrics"]["loss"][2] == [2, 1_700_000_000_002, "nan"]
    assert [p[2] for p in parent["metrics"]["acc"]] == ["0.5", "0.6"]  # same step, two times
    assert parent["files"]["extra/a.bin"][0] == 10240
    assert got["runs"][filled["child"]]["tags"]["mlflow.parentRunId"] == filled["parent"]
    assert platform.tracking.get_run(ACTOR, filled["child"]).info.parent_run_id == filled["parent"]
    assert got["runs"][filled["deleted"]]["lifecycle"] == "deleted"
    assert got["runs"][filled["failed"]]["status"] == "FAILED"

    # Files: the digests Clew recorded are the sha256 of the bytes MLflow serves, and the
    # bytes Clew serves back are those bytes.
    info, chunks = platform.artifacts.open(ACTOR, filled["parent"], "notes/readme.txt")
    assert b"".join(chunks) == b"hello from mlflow\n"
    assert info.digest == want["runs"][filled["parent"]]["files"]["notes/readme.txt"][1]

    for model_id, mlflow_model in want["logged_models"].items():
        mine = got["logged_models"][model_id]
        for field in mlflow_model:
            if field != "metrics":
                assert mine[field] == mlflow_model[field], (model_id, field)
        # Clew's LoggedModel shows the latest point of each series; MLflow lists every point.
        latest: dict[str, list[Any]] = {}
        for point in sorted(mlflow_model["metrics"], key=lambda p: (p[1], p[2])):
            latest[point[0]] = point
        assert mine["metrics"] == sorted(latest.values())
    model = got["model"]
    assert model["description"] == want["model"]["description"] == "churn classifier"
    assert model["tags"] == want["model"]["tags"]
    assert model["aliases"] == want["model"]["aliases"] == {"champion": "1", "candidate": "2"}
    for number, mlflow_version in want["model"]["versions"].items():
        mine = model["versions"][number]
        assert without_mark(mine["tags"]) == mlflow_version["tags"]
        for field in ("run_id", "stage", "description", "status", "run_link"):
            assert mine[field] == mlflow_version[field], (number, field)
    v1, v2 = model["versions"]["1"], model["versions"]["2"]
    assert (
        v1["source"] == f"models:/{filled['model_id']}" == want["model"]["versions"]["1"]["source"]
    )
    assert v1["logged_model_id"] == filled["model_id"]
    assert v2["source"] == f"runs:/{filled['parent']}/extra"
    assert v2["run_link"].endswith(filled["parent"])  # not vacuous: the fill sets one
    assert v1["digest"] and v2["digest"]  # the registry hashed files Clew holds
    files_v2 = platform.registry.list_model_version_files(ACTOR, filled["model"], 2)
    assert {f.path for f in files_v2} == {"a.bin", "sub/b.txt"}
    assert platform.registry.verify_version(ACTOR, filled["model"], 1).ok

    assert summary.copied["runs"] == len(want["runs"])
    assert summary.copied["artifacts"] == sum(
        len(r["files"] or {}) for r in want["runs"].values()
    ) + len(want["logged_models"][filled["model_id"]]["files"])
    assert summary.copied["metric points"] == sum(
        len(points) for r in want["runs"].values() for points in r["metrics"].values()
    )
    assert summary.copied["model versions"] == 2
    assert summary.copied["aliases"] == 2 and summary.copied["stages"] == 2


def test_a_second_import_copies_nothing(
    platform: Platform, source: MlflowSource, filled: dict[str, Any]
) -> None:
    import_mlflow(platform, source, ACTOR)
    first = _imported_active(platform, filled)
    events = _audit_count(platform)
    again = import_mlflow(platform, source, ACTOR)
    assert not again.copied_anything, again.to_dict()
    assert again.skipped["model versions"] == {ALREADY: 2}
    assert again.skipped["aliases"] == {ALREADY: 2}
    assert _imported_active(platform, filled) == first
    assert _audit_count(platform) == events  # not one write


def test_deleted_things_are_skipped_unless_asked(
    platform: Platform, source: MlflowSource, filled: dict[str, Any]
) -> None:
    summary = import_mlflow(platform, source, ACTOR)
    why = "deleted in MLflow (pass --include-deleted to copy)"
    assert summary.skipped["runs"][why] == 1
    assert summary.skipped["runs"]["in an experiment deleted in MLflow"] == 1
    assert summary.skipped["experiments"][why] == 1
    for run_id in (filled["deleted"], filled["lost"]):
        with pytest.raises(Exception, match="does not exist"):
            platform.tracking.get_run(ACTOR, run_id)
    # Asked later, they arrive, deleted as in MLflow, and nothing else is copied again.
    later = import_mlflow(platform, source, ACTOR, include_deleted=True)
    assert later.copied["runs"] == 2
    assert later.skipped["runs"][ALREADY] == len(filled["readback"]["runs"]) - 2
    assert platform.tracking.get_run(ACTOR, filled["lost"]).info.lifecycle_stage == "deleted"


def test_both_sources_give_the_same_clew(
    tmp_path: Path, mlflow_server: MlflowServer, filled: dict[str, Any]
) -> None:
    views = []
    for kind, src in _sources(mlflow_server).items():
        p = Platform.open(Settings(home=tmp_path / kind))
        try:
            import_mlflow(p, src, ACTOR, include_deleted=True)
            views.append(_imported(p, filled))
        finally:
            src.close()
            p.close()
    assert views[0] == views[1]


class Interrupted(Exception):
    pass


@pytest.mark.parametrize(
    ("step", "nth"),
    [
        pytest.param("run.created", 1, id="just-after-a-run-is-created"),
        pytest.param("run.metric", 2, id="between-metric-series"),
        pytest.param("artifact", 4, id="between-files"),
        pytest.param("logged_model.created", 1, id="in-a-logged-model"),
        pytest.param("version.created", 1, id="between-versions"),
    ],
)
def test_an_interrupted_import_resumes_to_the_same_end_state(
    tmp_path: Path, mlflow_server: MlflowServer, filled: dict[str, Any], step: str, nth: int
) -> None:
    seen = {"n": 0}

    def interrupt(at: str) -> None:
        if at == step:
            seen["n"] += 1
            if seen["n"] == nth:
                raise Interrupted(at)

    expected_home, home = tmp_path / "whole", tmp_path / "resumed"
    with _opened(expected_home) as p:
        import_mlflow(p, RestSource(mlflow_server.url), ACTOR, include_deleted=True)
        expected = _imported(p, filled)
    with _opened(home) as p:
        src = RestSource(mlflow_server.url)
        with pytest.raises(Interrupted):
            import_mlflow(p, src, ACTOR, include_deleted=True, checkpoint=interrupt)
        resumed = import_mlflow(p, src, ACTOR, include_deleted=True)
        assert resumed.copied_anything
        assert _imported(p, filled) == expected
        assert not import_mlflow(p, src, ACTOR, include_deleted=True).copied_anything


def test_the_cli_imports_and_then_says_nothing_is_left(
    tmp_path: Path, mlflow_server: MlflowServer, filled: dict[str, Any]
) -> None:
    runner = CliRunner()
    env = {"CLEW_HOME": str(tmp_path / "cli"), "CLEW_TRACKING_URI": ""}
    args = ["import", "mlflow", "--backend-store-uri", mlflow_server.backend_uri]
    args += ["--artifact-root", str(mlflow_server.artifact_root)]
    first = runner.invoke(app, [*args, "--json"], env=env)
    assert first.exit_code == 0, first.output
    copied = json.loads(first.stdout)["copied"]
    assert copied["runs"] == len(filled["readback"]["runs"]) - 2  # the two deleted are skipped
    second = runner.invoke(app, args, env=env)
    assert second.exit_code == 0, second.output
    assert "Nothing to copy: everything was already imported." in second.stdout
    assert "already imported" in second.stdout
    both = runner.invoke(app, ["import", "mlflow", "--tracking-uri", mlflow_server.url, *args[2:]])
    assert both.exit_code != 0


def test_the_artifact_root_is_the_only_place_files_are_read_from(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "1" / "r" / "artifacts").mkdir(parents=True)
    (root / "1" / "r" / "artifacts" / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "1" / "r" / "artifacts" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    store = ArtifactRoot(str(root))
    listed = [f.path for f in store.files("mlflow-artifacts:/1/r/artifacts")]
    assert listed == ["ok.txt"]  # the symlink out of the root is not a file of the tree
    with store.open(f"file://{root}/1/r/artifacts", "ok.txt") as f:
        assert b"".join(f) == b"ok"
    for uri, path in [
        (f"file://{tmp_path}", "secret.txt"),  # outside the root
        ("mlflow-artifacts:/../", "secret.txt"),
        ("mlflow-artifacts:/1/r/artifacts", "../../../../secret.txt"),
        ("mlflow-artifacts:/1/r/artifacts", "leak.txt"),
        ("s3://bucket/1/r/artifacts", "ok.txt"),
    ]:
        with pytest.raises(ArtifactsUnreachable):
            store.open(uri, path).__enter__()
    with pytest.raises(ArtifactsUnreachable, match="no --artifact-root"):
        list(ArtifactRoot(None).files("mlflow-artifacts:/1/r/artifacts"))


def test_a_summary_says_what_was_skipped_and_why() -> None:
    s = Summary()
    s.copy("runs", 3)
    s.skip("runs", ALREADY, 2)
    s.skip("artifacts", "missing in the source's artifact store")
    assert s.rows() == [
        ("runs", 3, 2, "2 already imported"),
        ("artifacts", 0, 1, "1 missing in the source's artifact store"),
    ]
    assert s.copied_anything and not Summary().copied_anything


def test_version_keys_name_the_producing_run_or_model() -> None:
    v = SourceVersion("m", 3, "models:/m-" + "a" * 32, "READY", model_id="m-" + "a" * 32)
    assert version_key(v) == "m/3@m-" + "a" * 32
    run = SourceVersion("m", 4, "runs:/" + "b" * 32 + "/model", "READY", run_id="b" * 32)
    assert version_key(run) == "m/4@" + "b" * 32


# ---- helpers -------------------------------------------------------------------------------------


class _opened:
    def __init__(self, home: Path) -> None:
        self.platform = Platform.open(Settings(home=home))

    def __enter__(self) -> Platform:
        return self.platform

    def __exit__(self, *exc: object) -> None:
        self.platform.close()


def _imported_active(platform: Platform, filled: dict[str, Any]) -> dict[str, Any]:
    names = [n for n, e in filled["readback"]["experiments"].items() if e["lifecycle"] == "active"]
    return view(platform, names, filled["model"])


def _audit_count(platform: Platform) -> int:
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_events)).scalar_one())
