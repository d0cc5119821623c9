"""Logged-model use cases, on SQLite and PostgreSQL: lifecycle, graph, files, bad input."""

from __future__ import annotations

import io
import json
import math

import pytest
from sqlalchemy import func, select

from clew.core import schema
from clew.core.actor import Actor
from clew.core.errors import (
    Conflict,
    InvalidInput,
    InvalidStatusTransition,
    LimitExceeded,
    NotFound,
    ParamOverwrite,
)
from clew.core.settings import Settings
from clew.platform import Platform
from clew.registry.logged_model import LoggedModel, LoggedModelMetric, LoggedModelStatus
from clew.registry.logged_service import LoggedModelService, manifest_digest

ALICE = Actor("alice")
MISSING = "m-" + "0" * 32


@pytest.fixture
def platform(settings: Settings) -> Platform:
    p = Platform.open(settings, migrate=False)
    yield p  # type: ignore[misc]
    p.close()


@pytest.fixture
def models(platform: Platform) -> LoggedModelService:
    return platform.logged_models


def audit_len(platform: Platform) -> int:
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.audit_events)).scalar_one())


def actions(platform: Platform) -> list[str]:
    with platform.db.read() as conn:
        q = select(schema.audit_events.c.action).order_by(schema.audit_events.c.seq)
        return list(conn.execute(q).scalars())


def test_create_from_a_run_inherits_its_experiment(platform: Platform) -> None:
    eid = platform.tracking.create_experiment(ALICE, "exp")
    run = platform.tracking.create_run(ALICE, eid)
    model = platform.logged_models.create(
        ALICE,
        source_run_id=run.run_id,
        name="clf",
        model_type="classifier",
        params={"lr": "0.1"},
        tags={"team": "a"},
    )
    assert model.model_id.startswith("m-") and len(model.model_id) == 34
    assert (model.experiment_id, model.source_run_id, model.status) == (eid, run.run_id, "PENDING")
    assert model.artifact_location == f"clew-artifacts:/logged-models/{model.model_id}"
    assert (model.params, model.tags, model.user_id) == ({"lr": "0.1"}, {"team": "a"}, "alice")
    assert platform.logged_models.get(ALICE, model.model_id) == model
    assert actions(platform)[-1] == "logged_model.create"


def test_create_standalone_and_generated_name(models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0")
    assert model.name and model.source_run_id is None and model.experiment_id == "0"


def test_the_model_is_a_graph_node_the_run_outputs(platform: Platform) -> None:
    run = platform.tracking.create_run(ALICE)
    model = platform.logged_models.create(ALICE, source_run_id=run.run_id, name="m")
    with platform.db.read() as conn:
        node = conn.execute(
            select(schema.artifacts)
            .join(schema.logged_models, schema.logged_models.c.artifact_id == schema.artifacts.c.id)
            .where(schema.logged_models.c.id == model.model_id)
        ).one()
        event = conn.execute(
            select(schema.events).where(schema.events.c.artifact_id == node.id)
        ).one()
    assert (node.type, node.name, node.uri) == ("model", "m", model.artifact_location)
    assert json.loads(node.properties)["logged_model_id"] == model.model_id
    assert (event.execution_id, event.type, event.name) == (run.run_id, "OUTPUT", "m")


def test_finalize_ready_freezes_files_and_stamps_the_manifest(platform: Platform) -> None:
    model = platform.logged_models.create(ALICE, experiment_id="0", name="m")
    files = platform.logged_model_artifacts
    files.log_stream(ALICE, model.model_id, "MLmodel", io.BytesIO(b"flavors: {}"))
    files.log_stream(ALICE, model.model_id, "data/model.pkl", io.BytesIO(b"\x00" * 10))
    ready = platform.logged_models.finalize(ALICE, model.model_id, "READY")
    assert ready.status == "READY" and ready.last_updated_timestamp >= model.creation_timestamp

    listed = platform.logged_models.files(ALICE, model.model_id)
    assert [f.path for f in listed] == ["MLmodel", "data/model.pkl"]
    digests = platform.logged_models.file_digests(ALICE, model.model_id)
    assert digests == {f.path: f.digest for f in listed}
    with platform.db.read() as conn:
        node_digest = conn.execute(
            select(schema.artifacts.c.digest)
            .join(schema.logged_models, schema.logged_models.c.artifact_id == schema.artifacts.c.id)
            .where(schema.logged_models.c.id == model.model_id)
        ).scalar_one()
    assert node_digest == manifest_digest(listed)

    with pytest.raises(Conflict, match="frozen"):
        files.log_stream(ALICE, model.model_id, "late.txt", io.BytesIO(b"x"))
    with platform.db.read() as conn:
        owner = conn.execute(
            select(schema.audit_events.c.resource_type).where(
                schema.audit_events.c.action == "artifact.log"
            )
        ).scalars()
        assert set(owner) == {"logged_model"}


def test_files_stream_back(platform: Platform, tmp_path: object) -> None:
    model = platform.logged_models.create(ALICE, experiment_id="0")
    platform.logged_model_artifacts.log_stream(ALICE, model.model_id, "a/b.txt", io.BytesIO(b"hi"))
    info, chunks = platform.logged_model_artifacts.open(ALICE, model.model_id, "a/b.txt")
    assert b"".join(chunks) == b"hi" and info.size == 2
    assert [f.path for f in platform.logged_model_artifacts.list(ALICE, model.model_id)] == ["a"]


def test_finalize_retry_is_a_no_op(platform: Platform, models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0")
    models.finalize(ALICE, model.model_id, "LOGGED_MODEL_UPLOAD_FAILED", "disk full")
    before = audit_len(platform)
    again = models.finalize(ALICE, model.model_id, LoggedModelStatus.FAILED)
    assert (again.status, again.status_message) == ("FAILED", "disk full")
    assert audit_len(platform) == before


@pytest.mark.parametrize(
    ("first", "then"),
    [
        pytest.param("READY", "FAILED", id="ready-to-failed"),
        pytest.param("FAILED", "READY", id="failed-to-ready"),
        pytest.param(None, "PENDING", id="to-pending"),
    ],
)
def test_invalid_transitions_are_refused(
    platform: Platform, models: LoggedModelService, first: str | None, then: str
) -> None:
    model = models.create(ALICE, experiment_id="0")
    if first:
        models.finalize(ALICE, model.model_id, first)
    before = audit_len(platform)
    with pytest.raises(InvalidStatusTransition) as caught:
        models.finalize(ALICE, model.model_id, then)
    assert caught.value.code == "INVALID_STATUS_TRANSITION" and caught.value.status == 400
    assert audit_len(platform) == before
    assert models.get(ALICE, model.model_id).status == (first or "PENDING")


def test_unknown_status_is_invalid(models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0")
    with pytest.raises(InvalidInput, match="Unknown logged model status"):
        models.finalize(ALICE, model.model_id, "DONE")


def test_tags_params_and_metrics(platform: Platform, models: LoggedModelService) -> None:
    run = platform.tracking.create_run(ALICE)
    model = models.create(ALICE, experiment_id="0", params={"lr": "0.1"})
    models.finalize(ALICE, model.model_id, "READY")  # still writable after READY
    models.set_tags(ALICE, model.model_id, {"a": "1", "b": "2"})
    models.delete_tag(ALICE, model.model_id, "b")
    models.log_params(ALICE, model.model_id, {"lr": "0.1", "depth": "3"})
    models.log_metrics(
        ALICE,
        model.model_id,
        [
            LoggedModelMetric("acc", 0.5, 1, 0),
            LoggedModelMetric("acc", 0.9, 2, 1, run_id=run.run_id, dataset_name="val"),
            LoggedModelMetric("acc", 0.7, 3, 1, dataset_name="val", dataset_digest="d1"),
            LoggedModelMetric("loss", math.nan, 4, 0),
        ],
    )
    got = models.get(ALICE, model.model_id)
    assert got.tags == {"a": "1"} and got.params == {"lr": "0.1", "depth": "3"}
    series = {(m.key, m.dataset_name, m.dataset_digest): m for m in got.metrics}
    assert series[("acc", None, None)].value == 0.5
    assert series[("acc", "val", None)].run_id == run.run_id
    assert series[("acc", "val", "d1")].value == 0.7
    assert math.isnan(series[("loss", None, None)].value)
    assert actions(platform)[-5:] == [
        "logged_model.finalize",
        "logged_model.tags",
        "logged_model.tag.delete",
        "logged_model.params",
        "logged_model.metrics",
    ]


def test_metric_retry_changes_nothing(platform: Platform, models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0")
    batch = [LoggedModelMetric("acc", 0.5, 1, 0), LoggedModelMetric("acc", 0.4, 1, 0)]
    models.log_metrics(ALICE, model.model_id, batch)
    models.log_metrics(ALICE, model.model_id, batch)
    with platform.db.read() as conn:
        count = conn.execute(
            select(func.count()).select_from(schema.logged_model_metrics)
        ).scalar_one()
    assert count == 2
    assert [m.value for m in models.get(ALICE, model.model_id).metrics] == [0.5]


def test_param_overwrite_writes_nothing(platform: Platform, models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0", params={"lr": "0.1"})
    before = audit_len(platform)
    with pytest.raises(ParamOverwrite):
        models.log_params(ALICE, model.model_id, {"new": "x", "lr": "0.2"})
    assert models.get(ALICE, model.model_id).params == {"lr": "0.1"}
    assert audit_len(platform) == before


def test_delete_hides_the_model(platform: Platform, models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0")
    models.delete(ALICE, model.model_id)
    before = audit_len(platform)
    models.delete(ALICE, model.model_id)  # idempotent
    assert audit_len(platform) == before
    with pytest.raises(NotFound):
        models.get(ALICE, model.model_id)
    with pytest.raises(NotFound):
        models.set_tags(ALICE, model.model_id, {"a": "1"})
    with pytest.raises(NotFound):
        platform.logged_model_artifacts.list(ALICE, model.model_id)
    assert models.search(ALICE).items == []


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.get(ALICE, "m-123"), id="get-short"),
        pytest.param(lambda s: s.get(ALICE, "0" * 32), id="get-run-shaped"),
        pytest.param(lambda s: s.get(ALICE, "m-" + "A" * 32), id="get-upper"),
        pytest.param(lambda s: s.get(ALICE, "m-" + "0" * 32 + "\n"), id="get-newline"),
        pytest.param(lambda s: s.finalize(ALICE, "nope", "READY"), id="finalize"),
        pytest.param(lambda s: s.delete(ALICE, "../etc"), id="delete"),
        pytest.param(lambda s: s.create(ALICE), id="no-experiment-no-run"),
        pytest.param(lambda s: s.create(ALICE, experiment_id="x"), id="bad-experiment"),
        pytest.param(lambda s: s.create(ALICE, source_run_id="zz"), id="bad-run"),
        pytest.param(lambda s: s.create(ALICE, "0", name="a\x00b"), id="control-name"),
        pytest.param(lambda s: s.create(ALICE, "0", tags={"": "v"}), id="empty-tag-key"),
    ],
)
def test_malformed_input_is_invalid_and_writes_nothing(
    platform: Platform, models: LoggedModelService, call: object
) -> None:
    before = audit_len(platform)
    with pytest.raises(InvalidInput):
        call(models)  # type: ignore[operator]
    assert audit_len(platform) == before


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.get(ALICE, MISSING), id="get"),
        pytest.param(lambda s: s.finalize(ALICE, MISSING, "READY"), id="finalize"),
        pytest.param(lambda s: s.delete(ALICE, MISSING), id="delete"),
        pytest.param(lambda s: s.log_params(ALICE, MISSING, {"a": "1"}), id="params"),
        pytest.param(lambda s: s.delete_tag(ALICE, MISSING, "a"), id="tag"),
        pytest.param(lambda s: s.create(ALICE, "12345"), id="experiment"),
        pytest.param(lambda s: s.create(ALICE, source_run_id="a" * 32), id="run"),
    ],
)
def test_unknown_is_not_found(platform: Platform, models: LoggedModelService, call: object) -> None:
    before = audit_len(platform)
    with pytest.raises(NotFound):
        call(models)  # type: ignore[operator]
    assert audit_len(platform) == before


def test_run_of_another_experiment_and_deleted_run(platform: Platform) -> None:
    eid = platform.tracking.create_experiment(ALICE, "other")
    run = platform.tracking.create_run(ALICE)
    with pytest.raises(InvalidInput, match="source run's experiment"):
        platform.logged_models.create(ALICE, eid, source_run_id=run.run_id)
    platform.tracking.delete_run(ALICE, run.run_id)
    with pytest.raises(Conflict):
        platform.logged_models.create(ALICE, source_run_id=run.run_id)


def test_metric_naming_an_unknown_run(platform: Platform, models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0")
    before = audit_len(platform)
    with pytest.raises(NotFound):
        models.log_metrics(ALICE, model.model_id, [LoggedModelMetric("a", 1.0, 1, run_id="b" * 32)])
    with pytest.raises(InvalidInput):
        models.log_metrics(
            ALICE, model.model_id, [LoggedModelMetric("a", 1.0, 1, dataset_digest="x")]
        )
    assert audit_len(platform) == before


def test_batch_limits(settings: Settings) -> None:
    platform = Platform.open(settings.model_copy(update={"max_batch_params": 2}), migrate=False)
    try:
        with pytest.raises(LimitExceeded):
            platform.logged_models.create(ALICE, "0", params={"a": "1", "b": "2", "c": "3"})
    finally:
        platform.close()


def test_round_trip_through_json(models: LoggedModelService) -> None:
    model = models.create(ALICE, experiment_id="0", tags={"t": "v"})
    models.log_metrics(ALICE, model.model_id, [LoggedModelMetric("x", math.inf, 1)])
    got = models.get(ALICE, model.model_id)
    assert LoggedModel.from_dict(json.loads(json.dumps(got.to_dict()))) == got


def test_concurrent_finalizations_let_exactly_one_win(platform: Platform) -> None:
    """Two writers race READY against FAILED: one transition happens, the other is refused."""
    from concurrent.futures import ThreadPoolExecutor

    models = platform.logged_models
    for _ in range(5):
        model = models.create(ALICE, experiment_id="0")

        def finalize(status: str, model_id: str = model.model_id) -> str:
            try:
                return models.finalize(ALICE, model_id, status).status
            except InvalidStatusTransition:
                return "refused"

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(finalize, ["READY", "FAILED"]))
        final = models.get(ALICE, model.model_id).status
        assert outcomes in (["READY", "refused"], ["FAILED", "refused"])
        assert final in outcomes
    assert actions(platform).count("logged_model.finalize") == 5
