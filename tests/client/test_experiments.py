"""Experiments through the SDK, on both transports."""

from __future__ import annotations

import pytest

from clew import AlreadyExists, Client, Conflict, NotFound, ViewType


def test_create_get_by_id_and_name(client: Client) -> None:
    eid = client.create_experiment("exp-a", tags={"team": "vision"})
    exp = client.get_experiment(eid)
    assert (exp.name, exp.tags, exp.lifecycle_stage) == ("exp-a", {"team": "vision"}, "active")
    assert client.get_experiment_by_name("exp-a") == exp


def test_get_by_name_of_missing_experiment_is_none(client: Client) -> None:
    assert client.get_experiment_by_name("nope") is None


def test_get_missing_id_raises_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        client.get_experiment("987654")


def test_duplicate_name_raises(client: Client) -> None:
    client.create_experiment("dup")
    with pytest.raises(AlreadyExists):
        client.create_experiment("dup")


def test_rename(client: Client) -> None:
    eid = client.create_experiment("old")
    client.rename_experiment(eid, "new")
    assert client.get_experiment(eid).name == "new"
    assert client.get_experiment_by_name("old") is None


def test_tags_set_and_delete(client: Client) -> None:
    eid = client.create_experiment("tagged")
    client.set_experiment_tag(eid, "a", "1")
    client.set_experiment_tags(eid, {"b": "2"})
    client.delete_experiment_tag(eid, "a")
    assert client.get_experiment(eid).tags == {"b": "2"}
    with pytest.raises(NotFound):
        client.delete_experiment_tag(eid, "a")


def test_delete_and_restore(client: Client) -> None:
    eid = client.create_experiment("gone")
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert "gone" not in [e.name for e in client.search_experiments()]
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == ["gone"]
    with pytest.raises(Conflict):
        client.create_run(eid)
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"


def test_search_experiments_filters_and_pages(client: Client) -> None:
    for i in range(5):
        client.create_experiment(f"page-{i}")
    first = client.search_experiments(
        max_results=2, filter_string="name LIKE 'page-%'", order_by=["name ASC"]
    )
    assert [e.name for e in first] == ["page-0", "page-1"]
    assert first.next_page_token
    rest = client.search_experiments(
        max_results=10,
        filter_string="name LIKE 'page-%'",
        order_by=["name ASC"],
        page_token=first.next_page_token,
    )
    assert [e.name for e in rest] == ["page-2", "page-3", "page-4"]
    assert rest.next_page_token is None
