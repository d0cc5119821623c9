"""``LoggedModelService.log_outputs``: a run's model outputs as lineage edges (MLflow 3's
``runs/outputs``), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from clew.core import schema
from clew.core.actor import Actor
from clew.core.errors import Conflict, InvalidInput, NotFound
from clew.core.settings import Settings
from clew.platform import Platform

ALICE = Actor("alice")


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform.open(settings, migrate=False)
    yield p
    p.close()


def edges(platform: Platform, model_id: str) -> list[tuple[str, str, dict[str, object]]]:
    """(run, type, properties) of every event on the model's graph node, oldest first."""
    lm, ev = schema.logged_models, schema.events
    with platform.db.read() as conn:
        rows = conn.execute(
            select(ev.c.execution_id, ev.c.type, ev.c.properties)
            .join(lm, lm.c.artifact_id == ev.c.artifact_id)
            .where(lm.c.id == model_id)
            .order_by(ev.c.id)
        ).all()
    return [(r.execution_id, r.type, json.loads(r.properties)) for r in rows]


def audited(platform: Platform, action: str) -> int:
    a = schema.audit_events
    with platform.db.read() as conn:
        q = select(func.count()).select_from(a).where(a.c.action == action)
        return int(conn.execute(q).scalar_one())


def test_a_run_outputs_another_runs_model_at_a_step(platform: Platform) -> None:
    source = platform.tracking.create_run(ALICE)
    trainer = platform.tracking.create_run(ALICE)
    model = platform.logged_models.create(ALICE, source_run_id=source.run_id, name="m")
    platform.logged_models.log_outputs(ALICE, trainer.run_id, [(model.model_id, 5)])
    assert edges(platform, model.model_id) == [
        (source.run_id, "OUTPUT", {"logged_model_id": model.model_id}),
        (trainer.run_id, "OUTPUT", {"logged_model_id": model.model_id, "step": 5}),
    ]
    assert audited(platform, "logged_model.output") == 1


def test_linking_again_keeps_the_edge_it_has(platform: Platform) -> None:
    """MLflow's client links a model to its own source run: the creation's edge stays the one
    edge and gains the step of the first link; a later link changes nothing."""
    run = platform.tracking.create_run(ALICE)
    model = platform.logged_models.create(ALICE, source_run_id=run.run_id, name="m")
    ((run_id, kind, props),) = edges(platform, model.model_id)
    platform.logged_models.log_outputs(ALICE, run.run_id, [(model.model_id, 3)])
    linked = edges(platform, model.model_id)
    assert linked == [(run_id, kind, {**props, "step": 3})]
    platform.logged_models.log_outputs(ALICE, run.run_id, [(model.model_id, 9)])
    assert edges(platform, model.model_id) == linked
    outputs = platform.tracking.get_run(ALICE, run.run_id).outputs
    assert [(o.model_id, o.step) for o in outputs] == [(model.model_id, 3)]


def test_unknown_or_deleted_owners_write_nothing(platform: Platform) -> None:
    run = platform.tracking.create_run(ALICE)
    model = platform.logged_models.create(ALICE, experiment_id="0", name="m")
    gone = platform.logged_models.create(ALICE, experiment_id="0", name="gone")
    platform.logged_models.delete(ALICE, gone.model_id)
    with pytest.raises(NotFound):  # one bad model fails the whole call
        platform.logged_models.log_outputs(
            ALICE, run.run_id, [(model.model_id, 0), (gone.model_id, 0)]
        )
    with pytest.raises(NotFound):
        platform.logged_models.log_outputs(ALICE, "0" * 32, [(model.model_id, 0)])
    with pytest.raises(InvalidInput):
        platform.logged_models.log_outputs(ALICE, run.run_id, [("not-an-id", 0)])
    platform.tracking.delete_run(ALICE, run.run_id)
    with pytest.raises(Conflict):
        platform.logged_models.log_outputs(ALICE, run.run_id, [(model.model_id, 0)])
    assert edges(platform, model.model_id) == []
    assert audited(platform, "logged_model.output") == 0
