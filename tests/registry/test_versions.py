"""Model versions on SQLite and PostgreSQL: sources, files, graph nodes, updates, search."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from clew.core import schema
from clew.core.errors import Conflict, InvalidSource, NotFound
from clew.platform import Platform
from clew.registry.model import VersionStatus, tree_digest
from clew.registry.service import RegistryService

from .conftest import ALICE, LoggedRun, log_model_run


@pytest.fixture
def churn(registry: RegistryService) -> str:
    registry.create_registered_model(ALICE, "churn")
    return "churn"


def test_version_from_a_run_records_its_files(
    registry: RegistryService, churn: str, model_run: LoggedRun
) -> None:
    mv = registry.create_model_version(
        ALICE, churn, model_run.source, tags={"validated": "true"}, description="v1"
    )
    assert (mv.version, mv.run_id, mv.status, mv.current_stage) == (
        1,
        model_run.run_id,
        "READY",
        "None",
    )
    files = registry.list_model_version_files(ALICE, churn, 1)
    assert [f.path for f in files] == ["MLmodel", "model.pkl", "sub/conda.yaml"]
    assert [f.size for f in files] == [len(model_run.files[f"model/{f.path}"]) for f in files]
    assert mv.digest == tree_digest(files) and len(mv.digest) == 64
    assert registry.get_model_version(ALICE, churn, "1") == mv


def test_single_file_and_run_uri_sources(
    registry: RegistryService, churn: str, model_run: LoggedRun
) -> None:
    single = registry.create_model_version(
        ALICE, churn, f"clew-artifacts:/runs/{model_run.run_id}/model/model.pkl"
    )
    assert [f.path for f in registry.list_model_version_files(ALICE, churn, single.version)] == [
        "model.pkl"
    ]
    whole = registry.create_model_version(ALICE, churn, f"runs:/{model_run.run_id}")
    assert len(registry.list_model_version_files(ALICE, churn, whole.version)) == 4


def test_mlflow_artifact_roots_are_sources_kept_as_given(
    registry: RegistryService, churn: str, model_run: LoggedRun, platform: Platform
) -> None:
    """What MLflow clients register against Clew's MLflow adapter (issue 4)."""
    proxied = f"mlflow-artifacts:/0/{model_run.run_id}/artifacts/model"
    mv = registry.create_model_version(ALICE, churn, proxied)
    assert (mv.source, mv.run_id) == (proxied, model_run.run_id)
    files = registry.list_model_version_files(ALICE, churn, mv.version)
    assert [f.path for f in files] == ["MLmodel", "model.pkl", "sub/conda.yaml"]
    model = platform.logged_models.create(ALICE, experiment_id="0", name="clf")
    platform.logged_model_artifacts.log_stream(ALICE, model.model_id, "MLmodel", io.BytesIO(b"x"))
    root = f"mlflow-artifacts:/0/models/{model.model_id}/artifacts"
    logged = registry.create_model_version(ALICE, churn, root)
    assert (logged.source, logged.logged_model_id) == (root, model.model_id)
    with pytest.raises(InvalidSource):
        registry.create_model_version(ALICE, churn, proxied + "/../../x")


def test_a_logged_models_version_gets_its_source_run(
    registry: RegistryService, churn: str, model_run: LoggedRun, platform: Platform
) -> None:
    """MLflow 3 registers ``models:/m-…`` without a run id; the producing run is still known."""
    model = platform.logged_models.create(ALICE, name="clf", source_run_id=model_run.run_id)
    platform.logged_model_artifacts.log_stream(ALICE, model.model_id, "MLmodel", io.BytesIO(b"x"))
    mv = registry.create_model_version(ALICE, churn, f"models:/{model.model_id}")
    assert (mv.run_id, mv.logged_model_id) == (model_run.run_id, model.model_id)
    assert registry.get_model_version(ALICE, churn, mv.version).run_id == model_run.run_id


def test_version_numbers_count_up_and_are_never_reused(
    registry: RegistryService, churn: str
) -> None:
    assert [registry.create_model_version(ALICE, churn, "s3://b/k").version for _ in range(3)] == [
        1,
        2,
        3,
    ]
    registry.delete_model_version(ALICE, churn, 3)
    with pytest.raises(NotFound):
        registry.get_model_version(ALICE, churn, 3)
    assert registry.create_model_version(ALICE, churn, "s3://b/k").version == 4


def test_external_and_logged_model_sources(
    registry: RegistryService, churn: str, platform: Platform
) -> None:
    ext = registry.create_model_version(ALICE, churn, "https://models.example.com/churn/v1")
    assert (ext.digest, ext.run_id, ext.logged_model_id) == ("", None, None)
    model = platform.logged_models.create(ALICE, experiment_id="0", name="clf")
    platform.logged_model_artifacts.log_stream(
        ALICE, model.model_id, "model.pkl", io.BytesIO(b"weights")
    )
    logged = registry.create_model_version(
        ALICE, churn, f"models:/{model.model_id}", logged_model_id=model.model_id
    )
    assert logged.logged_model_id == model.model_id and len(logged.digest) == 64
    files = registry.list_model_version_files(ALICE, churn, logged.version)
    assert [(f.path, f.size) for f in files] == [("model.pkl", 7)]
    by_location = registry.create_model_version(ALICE, churn, model.artifact_location)
    assert (by_location.logged_model_id, by_location.digest) == (model.model_id, logged.digest)
    with pytest.raises(NotFound):
        registry.create_model_version(ALICE, churn, "models:/m-" + "0" * 32)
    with pytest.raises(InvalidSource):
        registry.create_model_version(
            ALICE, churn, f"models:/{model.model_id}", logged_model_id="m-" + "1" * 32
        )


def test_run_id_must_match_and_exist(
    registry: RegistryService, churn: str, model_run: LoggedRun
) -> None:
    with pytest.raises(InvalidSource):
        registry.create_model_version(ALICE, churn, model_run.source, run_id="f" * 32)
    with pytest.raises(NotFound):
        registry.create_model_version(ALICE, churn, f"runs:/{'0' * 32}/model")
    with pytest.raises(InvalidSource):
        registry.create_model_version(ALICE, churn, f"runs:/{model_run.run_id}/nothing-here")
    # An external source may name the run that produced it.
    mv = registry.create_model_version(ALICE, churn, "s3://b/m", run_id=model_run.run_id)
    assert mv.run_id == model_run.run_id


def test_version_is_a_node_in_the_metadata_graph(
    registry: RegistryService, churn: str, model_run: LoggedRun, platform: Platform
) -> None:
    """version → model artifact → OUTPUT of the run → the run's dataset INPUT events."""
    mv = registry.create_model_version(ALICE, churn, model_run.source)
    A, EV, MV = schema.artifacts, schema.events, schema.model_versions
    with platform.db.read() as conn:
        node = conn.execute(
            select(A).join(MV, MV.c.artifact_id == A.c.id).where(MV.c.version == mv.version)
        ).one()
        assert (node.type, node.uri, node.digest) == ("model", model_run.source, mv.digest)
        producer = conn.execute(
            select(EV.c.execution_id).where(EV.c.artifact_id == node.id, EV.c.type == "OUTPUT")
        ).scalar_one()
        assert producer == model_run.run_id
        inputs = conn.execute(
            select(A.c.name)
            .join(EV, EV.c.artifact_id == A.c.id)
            .where(EV.c.execution_id == producer, EV.c.type == "INPUT")
        ).scalars()
        assert list(inputs) == ["iris"]


def test_update_description_and_finish_pending_registration(
    registry: RegistryService, churn: str
) -> None:
    registry.create_model_version(ALICE, churn, "s3://b/k", status="PENDING_REGISTRATION")
    done = registry.update_model_version(
        ALICE, churn, 1, description="d", status="READY", status_message="copied"
    )
    assert (done.description, done.status, done.status_message) == ("d", "READY", "copied")
    with pytest.raises(Conflict):
        registry.update_model_version(ALICE, churn, 1, status=VersionStatus.FAILED_REGISTRATION)


def test_version_tags(registry: RegistryService, churn: str) -> None:
    registry.create_model_version(ALICE, churn, "s3://b/k", tags={"a": "1"})
    registry.set_model_version_tags(ALICE, churn, 1, {"b": "2"})
    registry.delete_model_version_tag(ALICE, churn, 1, "a")
    assert registry.get_model_version(ALICE, churn, 1).tags == {"b": "2"}
    with pytest.raises(NotFound):
        registry.delete_model_version_tag(ALICE, churn, 1, "a")


def test_search_versions(registry: RegistryService, platform: Platform) -> None:
    run_a = log_model_run(platform)
    for name in ("alpha", "beta"):
        registry.create_registered_model(ALICE, name)
    registry.create_model_version(ALICE, "alpha", run_a.source, tags={"ok": "yes"})
    registry.create_model_version(ALICE, "alpha", "s3://b/alpha2")
    registry.create_model_version(ALICE, "beta", "s3://b/beta1", tags={"ok": "yes"})

    def found(filter_string: str = "", **kw: object) -> list[tuple[str, int]]:
        page = registry.search_model_versions(ALICE, filter_string, **kw)  # type: ignore[arg-type]
        return [(mv.name, mv.version) for mv in page]

    assert found() == [("alpha", 2), ("alpha", 1), ("beta", 1)]
    assert found("name = 'alpha' AND version_number > 1") == [("alpha", 2)]
    assert found(f"run_id = '{run_a.run_id}'") == [("alpha", 1)]
    assert found(f"run_id IN ('{run_a.run_id}', 'x')") == [("alpha", 1)]
    assert found("tags.ok = 'yes'", order_by=["version_number ASC", "name DESC"]) == [
        ("beta", 1),
        ("alpha", 1),
    ]
    assert found("source_path LIKE 's3://b/%'") == [("alpha", 2), ("beta", 1)]
    assert found("run_id IS NULL") == [("alpha", 2), ("beta", 1)]
    pages, token = [], None
    while True:
        page = registry.search_model_versions(ALICE, max_results=1, page_token=token)
        pages += [(mv.name, mv.version) for mv in page]
        if (token := page.next_page_token) is None:
            break
    assert pages == found()


def test_verify_rehashes_blobs(
    registry: RegistryService, churn: str, model_run: LoggedRun, platform: Platform
) -> None:
    registry.create_model_version(ALICE, churn, model_run.source)
    assert registry.verify_version(ALICE, churn, 1).ok
    files = {f.path: f for f in registry.list_model_version_files(ALICE, churn, 1)}
    root = platform.settings.resolved_artifact_root()
    digest = files["model.pkl"].digest
    blob = f"{root}/blobs/{digest[:2]}/{digest[2:]}"
    import os

    os.chmod(blob, 0o644)
    with open(blob, "r+b") as handle:
        handle.write(b"X")  # same size, different bytes
    gone = files["MLmodel"].digest
    os.remove(f"{root}/blobs/{gone[:2]}/{gone[2:]}")
    result = registry.verify_version(ALICE, churn, 1)
    assert not result.ok
    assert (result.mismatched, result.missing, result.checked) == (("model.pkl",), ("MLmodel",), 3)


def test_run_artifacts_relogged_later_do_not_change_the_version(
    registry: RegistryService, churn: str, model_run: LoggedRun, platform: Platform
) -> None:
    mv = registry.create_model_version(ALICE, churn, model_run.source)
    platform.artifacts.log_stream(ALICE, model_run.run_id, "model/model.pkl", io.BytesIO(b"new"))
    assert registry.get_model_version(ALICE, churn, 1).digest == mv.digest
    assert registry.verify_version(ALICE, churn, 1).ok


def test_a_registered_version_keeps_its_blobs_through_garbage_collection(
    platform: Platform, registry: RegistryService, churn: str, model_run: LoggedRun
) -> None:
    mv = registry.create_model_version(ALICE, churn, model_run.source)
    platform.artifacts.delete(ALICE, model_run.run_id, "model")  # the run lets go of the files
    platform.artifacts.collect_garbage(ALICE, min_age_s=0)
    report = registry.verify_version(ALICE, churn, mv.version)
    assert report.ok, report
