from __future__ import annotations

import pytest

from clew.core.actor import Actor
from clew.core.errors import AlreadyExists, Conflict, InvalidInput, LimitExceeded, NotFound
from clew.tracking.model import LifecycleStage, ViewType
from clew.tracking.service import TrackingService
from tests.tracking.helpers import audit_actions


def test_default_experiment_exists(tracking: TrackingService, alice: Actor) -> None:
    exp = tracking.get_experiment(alice, "0")
    assert exp.name == "Default"
    assert tracking.get_experiment_by_name(alice, "Default").experiment_id == "0"


def test_create_get_and_tags(tracking: TrackingService, alice: Actor) -> None:
    eid = tracking.create_experiment(alice, "churn", tags={"team": "ml"})
    exp = tracking.get_experiment(alice, eid)
    assert exp.name == "churn"
    assert exp.tags == {"team": "ml"}
    assert exp.lifecycle_stage == LifecycleStage.ACTIVE
    assert exp.artifact_location == f"clew-artifacts:/experiments/{eid}"
    assert tracking.get_experiment_by_name(alice, "churn").experiment_id == eid


def test_duplicate_name_is_rejected(tracking: TrackingService, alice: Actor) -> None:
    tracking.create_experiment(alice, "churn")
    with pytest.raises(AlreadyExists):
        tracking.create_experiment(alice, "churn")


def test_unknown_experiment(tracking: TrackingService, alice: Actor) -> None:
    with pytest.raises(NotFound):
        tracking.get_experiment(alice, "999")
    with pytest.raises(NotFound):
        tracking.get_experiment_by_name(alice, "nope")
    with pytest.raises(InvalidInput):
        tracking.get_experiment(alice, "abc")


def test_rename(tracking: TrackingService, alice: Actor) -> None:
    eid = tracking.create_experiment(alice, "old")
    other = tracking.create_experiment(alice, "taken")
    tracking.rename_experiment(alice, eid, "new")
    assert tracking.get_experiment(alice, eid).name == "new"
    with pytest.raises(AlreadyExists):
        tracking.rename_experiment(alice, eid, "taken")
    assert tracking.get_experiment(alice, other).name == "taken"


def test_tags_set_and_delete(tracking: TrackingService, alice: Actor) -> None:
    eid = tracking.create_experiment(alice, "e")
    tracking.set_experiment_tags(alice, eid, {"a": "1", "b": "2"})
    tracking.set_experiment_tags(alice, eid, {"a": "3"})
    tracking.delete_experiment_tag(alice, eid, "b")
    assert tracking.get_experiment(alice, eid).tags == {"a": "3"}
    with pytest.raises(NotFound):
        tracking.delete_experiment_tag(alice, eid, "b")


def test_delete_and_restore(tracking: TrackingService, alice: Actor) -> None:
    eid = tracking.create_experiment(alice, "e")
    tracking.delete_experiment(alice, eid)
    assert tracking.get_experiment(alice, eid).lifecycle_stage == LifecycleStage.DELETED
    with pytest.raises(Conflict):
        tracking.create_run(alice, eid)
    with pytest.raises(Conflict):
        tracking.delete_experiment(alice, eid)
    tracking.restore_experiment(alice, eid)
    assert tracking.get_experiment(alice, eid).lifecycle_stage == LifecycleStage.ACTIVE


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("", InvalidInput, id="empty"),
        pytest.param("   ", InvalidInput, id="blank"),
        pytest.param("x" * 501, LimitExceeded, id="too-long"),
        pytest.param("a\x00b", InvalidInput, id="nul"),
    ],
)
def test_bad_names_write_nothing(
    tracking: TrackingService, alice: Actor, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        tracking.create_experiment(alice, name)
    assert audit_actions(tracking.db) == []


@pytest.mark.parametrize(
    "location",
    [
        "http:///?/../../../../etc/",
        "http:///#/../../../../etc/",
        "http://host/;..%2F..%2Fetc",
        "file:///tmp/%2E%2E/%2E%2E/etc",
    ],
)
def test_artifact_location_with_traversal_is_refused(
    tracking: TrackingService, alice: Actor, location: str
) -> None:
    with pytest.raises(InvalidInput):
        tracking.create_experiment(alice, "e", artifact_location=location)


def test_search_by_name_and_tag(tracking: TrackingService, alice: Actor) -> None:
    tracking.create_experiment(alice, "churn-a", tags={"team": "ml"})
    tracking.create_experiment(alice, "churn-b", tags={"team": "bi"})
    tracking.create_experiment(alice, "fraud")
    page = tracking.search_experiments(
        alice, filter_string="name LIKE 'churn%' AND tags.team = 'ml'"
    )
    assert [e.name for e in page] == ["churn-a"]
    names = [e.name for e in tracking.search_experiments(alice, order_by=["name ASC"])]
    assert names == ["Default", "churn-a", "churn-b", "fraud"]


def test_search_pages_and_view_types(tracking: TrackingService, alice: Actor) -> None:
    ids = [tracking.create_experiment(alice, f"e{i:02d}") for i in range(7)]
    tracking.delete_experiment(alice, ids[0])
    seen: list[str] = []
    token = None
    while True:
        page = tracking.search_experiments(
            alice, max_results=3, page_token=token, order_by=["name ASC"]
        )
        seen += [e.name for e in page]
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["Default"] + [f"e{i:02d}" for i in range(1, 7)]
    deleted = tracking.search_experiments(alice, view_type=ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == ["e00"]


def test_every_change_is_audited(tracking: TrackingService, alice: Actor) -> None:
    eid = tracking.create_experiment(alice, "e")
    tracking.rename_experiment(alice, eid, "f")
    tracking.set_experiment_tags(alice, eid, {"a": "1"})
    tracking.delete_experiment_tag(alice, eid, "a")
    tracking.delete_experiment(alice, eid)
    tracking.restore_experiment(alice, eid)
    assert audit_actions(tracking.db) == [
        "experiment.create",
        "experiment.rename",
        "experiment.tag.set",
        "experiment.tag.delete",
        "experiment.delete",
        "experiment.restore",
    ]
