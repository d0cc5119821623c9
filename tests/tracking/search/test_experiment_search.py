"""Experiment search compiled and run on SQLite and PostgreSQL: filters, order and paging."""

from __future__ import annotations

import pytest

from clew.core.db import Database
from clew.core.errors import InvalidInput, InvalidPageToken
from clew.tracking.model import ViewType
from tests.tracking.search.world import experiment_ids, run_ids


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        pytest.param("", {0, 1, 2, 3, 5}, id="all-active"),
        pytest.param("name = 'gamma'", {3}, id="name-eq"),
        pytest.param("name LIKE '%exp%'", {1, 2, 5}, id="name-like"),
        pytest.param("name LIKE 'b%'", set(), id="name-like-case"),
        pytest.param("name ILIKE 'b%'", {2}, id="name-ilike"),
        pytest.param("experiment_id IN ('1', '3')", {1, 3}, id="id-in"),
        pytest.param("experiment_id != 0", {1, 2, 3, 5}, id="id-ne"),
        pytest.param("creation_time >= 200", {2, 3, 5}, id="creation"),
        pytest.param("last_update_time < 800", {0, 3, 5}, id="last-update"),
        pytest.param("tags.team = 'ml'", {1}, id="tag"),
        pytest.param("tags.team ILIKE 'ml'", {1, 3}, id="tag-ilike"),
        pytest.param("tags.team IS NULL", {0, 5}, id="tag-missing"),
        pytest.param("tags.team = 'data' OR name = 'gamma'", {2, 3}, id="or"),
        pytest.param("(tags.team = 'ml' OR tags.team = 'data') AND creation_time > 100",
                     {2}, id="and-or"),
        pytest.param("name = 'x'' OR ''1''=''1'", set(), id="injection"),
    ],
)  # fmt: skip
def test_experiment_filters(world: Database, filter_string: str, expected: set[int]) -> None:
    ids, token = experiment_ids(world, filter_string)
    assert token is None
    assert set(ids) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        pytest.param([], [3, 5, 2, 1, 0], id="default-newest-first"),
        pytest.param(["name"], [2, 0, 1, 5, 3], id="name"),
        pytest.param(["name DESC"], [3, 5, 1, 0, 2], id="name-desc"),
        pytest.param(["experiment_id DESC"], [5, 3, 2, 1, 0], id="id-desc"),
        pytest.param(["last_update_time"], [0, 5, 3, 2, 1], id="last-update"),
        pytest.param(["creation_time ASC"], [0, 1, 2, 3, 5], id="creation-asc"),
    ],
)
def test_experiment_order_and_paging(
    world: Database, order_by: list[str], expected: list[int]
) -> None:
    ids, _ = experiment_ids(world, order_by=order_by)
    assert ids == expected
    paged: list[int] = []
    token: str | None = None
    for _ in range(10):
        page, token = experiment_ids(world, order_by=order_by, max_results=2, page_token=token)
        paged += page
        if token is None:
            break
    assert paged == expected


def test_experiment_views_and_tokens(world: Database) -> None:
    assert experiment_ids(world, view=ViewType.DELETED_ONLY)[0] == [4]
    assert set(experiment_ids(world, view=ViewType.ALL)[0]) == {0, 1, 2, 3, 4, 5}
    _, token = experiment_ids(world, max_results=1)
    assert token is not None
    with pytest.raises(InvalidPageToken):
        experiment_ids(world, "name LIKE '%'", page_token=token)
    with pytest.raises(InvalidPageToken):
        run_ids(world, page_token=token)  # an experiment token is no run token
    with pytest.raises(InvalidInput):
        experiment_ids(world, max_results=0)
