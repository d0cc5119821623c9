from __future__ import annotations

import pytest

from clew.core.actor import Actor
from clew.core.errors import Conflict, InvalidInput, NotFound
from clew.tracking.model import LifecycleStage, RunStatus, ViewType
from clew.tracking.service import TrackingService
from tests.tracking.helpers import audit_actions


def test_create_run_defaults(tracking: TrackingService, alice: Actor) -> None:
    run = tracking.create_run(alice, "0", run_name="first", tags={"team": "ml"})
    info = run.info
    assert len(info.run_id) == 32
    assert info.status == RunStatus.RUNNING
    assert info.run_name == "first"
    assert info.user_id == "alice"
    assert info.end_time is None
    assert info.lifecycle_stage == LifecycleStage.ACTIVE
    assert run.data.tags["team"] == "ml"
    assert run.data.tags["mlflow.runName"] == "first"
    assert run.data.tags["mlflow.user"] == "alice"


def test_generated_name(tracking: TrackingService, alice: Actor) -> None:
    run = tracking.create_run(alice)
    assert run.info.run_name
    assert run.data.tags["mlflow.runName"] == run.info.run_name


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "KILLED"])
def test_lifecycle_to_terminal(tracking: TrackingService, alice: Actor, status: str) -> None:
    run_id = tracking.create_run(alice).run_id
    info = tracking.update_run(alice, run_id, status=status)
    assert info.status == status
    assert info.end_time is not None and info.end_time >= info.start_time


def test_finished_run_can_resume(tracking: TrackingService, alice: Actor) -> None:
    run_id = tracking.create_run(alice).run_id
    tracking.update_run(alice, run_id, status="FINISHED")
    info = tracking.update_run(alice, run_id, status="RUNNING")
    assert info.status == RunStatus.RUNNING and info.end_time is None


def test_unknown_status(tracking: TrackingService, alice: Actor) -> None:
    run_id = tracking.create_run(alice).run_id
    with pytest.raises(InvalidInput):
        tracking.update_run(alice, run_id, status="DONE")


def test_rename_run(tracking: TrackingService, alice: Actor) -> None:
    run_id = tracking.create_run(alice, run_name="a").run_id
    tracking.update_run(alice, run_id, run_name="b")
    run = tracking.get_run(alice, run_id)
    assert run.info.run_name == "b" and run.data.tags["mlflow.runName"] == "b"


def test_nested_runs(tracking: TrackingService, alice: Actor) -> None:
    parent = tracking.create_run(alice, run_name="parent").run_id
    child = tracking.create_run(alice, parent_run_id=parent)
    assert child.info.parent_run_id == parent
    assert child.data.tags["mlflow.parentRunId"] == parent
    found = tracking.search_runs(alice, filter_string=f"tags.`mlflow.parentRunId` = '{parent}'")
    assert [r.run_id for r in found] == [child.run_id]


def test_nested_run_must_share_experiment(tracking: TrackingService, alice: Actor) -> None:
    other = tracking.create_experiment(alice, "other")
    parent = tracking.create_run(alice, "0").run_id
    with pytest.raises(InvalidInput):
        tracking.create_run(alice, other, parent_run_id=parent)


def test_unknown_and_malformed_run_ids(tracking: TrackingService, alice: Actor) -> None:
    with pytest.raises(NotFound):
        tracking.get_run(alice, "0" * 32)
    with pytest.raises(InvalidInput):
        tracking.get_run(alice, "not-a-run")
    with pytest.raises(NotFound):
        tracking.create_run(alice, parent_run_id="f" * 32)


def test_soft_delete_and_restore(tracking: TrackingService, alice: Actor) -> None:
    run_id = tracking.create_run(alice).run_id
    tracking.delete_run(alice, run_id)
    assert tracking.get_run(alice, run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert [r.run_id for r in tracking.search_runs(alice, ["0"])] == []
    deleted = tracking.search_runs(alice, ["0"], view_type=ViewType.DELETED_ONLY)
    assert [r.run_id for r in deleted] == [run_id]
    with pytest.raises(Conflict):
        tracking.log_param(alice, run_id, "a", "1")
    tracking.delete_run(alice, run_id)  # idempotent
    tracking.restore_run(alice, run_id)
    tracking.log_param(alice, run_id, "a", "1")
    assert audit_actions(tracking.db) == ["run.create", "run.delete", "run.restore", "run.log"]


def test_search_across_all_experiments(tracking: TrackingService, alice: Actor) -> None:
    e1 = tracking.create_experiment(alice, "one")
    e2 = tracking.create_experiment(alice, "two")
    r1 = tracking.create_run(alice, e1).run_id
    r2 = tracking.create_run(alice, e2).run_id
    everywhere = {r.run_id for r in tracking.search_runs(alice)}
    assert everywhere == {r1, r2}
    assert [r.run_id for r in tracking.search_runs(alice, [e2])] == [r2]
