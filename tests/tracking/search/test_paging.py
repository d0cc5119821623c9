"""Ordering and keyset paging on SQLite and PostgreSQL, checked against a Python model of
MLflow's rules (missing values last in both directions, NaN metrics just before them, then
start_time DESC, then id); every ordering is walked in pages of several sizes. Page tokens:
reuse with another query, garbling and forging are all 400s."""

from __future__ import annotations

import base64
import doctest
import json
import math
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import insert

from clew.core import paging, schema
from clew.core.db import Database
from clew.core.errors import InvalidPageToken
from clew.tracking.model import ViewType
from tests.tracking.search.world import ACTIVE, INF, R, all_pages, run_ids


def _sort_value(run: R, entity: str, key: str) -> tuple[int, Any]:
    """(rank, value): rank 0 has a value, 1 is a NaN metric, 2 is missing."""
    if entity == "metrics":
        if key not in run.metrics:
            return 2, None
        v = run.metrics[key]
        return (1, None) if math.isnan(v) else (0, v)
    if entity in ("params", "tags"):
        values = run.params if entity == "params" else run.tags
        return (0, values[key]) if key in values else (1, None)
    value = {"run_name": run.name, "start_time": run.start, "end_time": run.end,
             "status": run.status, "user_id": run.user}[key]  # fmt: skip
    return (0, value) if value is not None else (1, None)


def expected_order(runs: list[R], clauses: Sequence[str]) -> list[str]:
    """MLflow's rules in Python: each clause, then start_time DESC, then id ASC."""
    ordered = sorted(runs, key=lambda r: r.id)
    keys = [c.split() for c in clauses]
    if not any(k[0].split(".")[-1] == "start_time" for k in keys):
        ordered.sort(key=lambda r: r.start, reverse=True)
    for parts in reversed(keys):
        entity, _, key = parts[0].rpartition(".")
        desc = len(parts) > 1 and parts[1].upper() == "DESC"
        present = [r for r in ordered if _sort_value(r, entity, key)[0] == 0]
        present.sort(key=lambda r: _sort_value(r, entity, key)[1], reverse=desc)
        rest = [r for r in ordered if _sort_value(r, entity, key)[0] > 0]
        rest.sort(key=lambda r: _sort_value(r, entity, key)[0])
        ordered = present + rest
    return [r.id for r in ordered]


ORDERINGS = [
    pytest.param([], id="default"),
    pytest.param(["metrics.acc DESC"], id="metric-desc"),
    pytest.param(["metrics.acc"], id="metric-asc"),
    pytest.param(["metrics.loss DESC"], id="metric-inf-desc"),
    pytest.param(["metrics.loss ASC"], id="metric-inf-asc"),
    pytest.param(["params.lr"], id="param-asc"),
    pytest.param(["params.lr DESC"], id="param-desc"),
    pytest.param(["tags.stage"], id="tag-asc"),
    pytest.param(["tags.stage DESC"], id="tag-desc"),
    pytest.param(["attributes.start_time ASC"], id="start-asc"),
    pytest.param(["start_time DESC"], id="start-desc"),
    pytest.param(["end_time"], id="end-asc-nullable"),
    pytest.param(["attributes.end_time DESC"], id="end-desc-nullable"),
    pytest.param(["run_name DESC"], id="name-desc"),
    pytest.param(["status", "metrics.acc DESC"], id="status-then-metric"),
    pytest.param(["params.opt DESC", "tags.stage", "metrics.loss"], id="three-terms"),
    pytest.param(["metrics.nope DESC"], id="metric-nobody-has"),
    pytest.param(["metrics.acc DESC", "params.opt DESC", "end_time"], id="metric-then-more"),
    pytest.param(["metrics.loss", "tags.stage DESC", "metrics.acc"], id="metric-then-tag-metric"),
]


@pytest.mark.parametrize("order_by", ORDERINGS)
def test_order(world: Database, order_by: list[str]) -> None:
    ids, token = run_ids(world, order_by=order_by)
    assert token is None
    runs = [r for r in ACTIVE if r.exp in (1, 2)]
    assert ids == expected_order(runs, order_by)


@pytest.mark.parametrize("order_by", ORDERINGS)
def test_pages_join_up_to_the_unpaged_order(world: Database, order_by: list[str]) -> None:
    whole, _ = run_ids(world, order_by=order_by, experiment_ids=None)
    assert len(set(whole)) == len(whole) == len(ACTIVE)
    for size in (1, 3, 4, len(ACTIVE) - 1, len(ACTIVE)):
        assert all_pages(world, size, order_by=order_by, experiment_ids=None) == whole, size


def test_paging_with_filter_and_view(world: Database) -> None:
    kw: dict[str, Any] = dict(
        filter_string="metrics.acc IS NOT NULL OR params.pct = '500'",
        order_by=["metrics.acc DESC"],
        view=ViewType.ALL,
        experiment_ids=[1, 2],
    )
    whole, _ = run_ids(world, **kw)
    assert all_pages(world, 3, **kw) == whole
    assert whole[:2] == ["r10", "r05"]  # 1.0, then the deleted run's 0.99
    assert whole[-3:] == ["r12", "r03", "r04"]  # NaN (newest first), then missing


def test_exact_last_page_has_no_token(world: Database) -> None:
    ids, token = run_ids(world, "params.lr = '0.01'", max_results=2)
    assert ids == ["r07", "r02"]
    assert token is None
    ids, token = run_ids(world, "params.lr = '0.01'", max_results=1)
    assert ids == ["r07"] and token is not None
    assert run_ids(world, "params.lr = '0.01'", max_results=1, page_token=token) == (["r02"], None)


def test_rows_logged_between_pages_do_not_shift_the_cursor(world: Database) -> None:
    ids, token = run_ids(world, max_results=3)
    with world.write() as conn:
        conn.execute(
            insert(schema.executions),
            [dict(id="r99", type="run", context_id=1, name="new", status="RUNNING", user_id="x",
                  start_time=99_999, lifecycle_stage="active", artifact_uri="")],
        )  # fmt: skip
    rest = all_pages(world, 3, page_token=token)
    assert "r99" not in rest
    assert ids + rest == expected_order([r for r in ACTIVE if r.exp in (1, 2)], [])


# ---- page tokens ---------------------------------------------------------------------------


def _token(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _first_token(db: Database, **kw: Any) -> str:
    _, token = run_ids(db, max_results=2, **kw)
    assert token is not None
    return token


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"filter_string": "params.lr = '0.1'"}, id="filter"),
        pytest.param({"order_by": ["metrics.acc DESC"]}, id="order"),
        pytest.param({"experiment_ids": [1]}, id="scope"),
        pytest.param({"experiment_ids": None}, id="all-experiments"),
        pytest.param({"view": ViewType.ALL}, id="view"),
    ],
)
def test_token_for_another_query_is_refused(world: Database, change: dict[str, Any]) -> None:
    token = _first_token(world)
    with pytest.raises(InvalidPageToken, match="different query"):
        run_ids(world, page_token=token, **change)


def test_token_survives_page_size_and_equivalent_spelling(world: Database) -> None:
    token = _first_token(world, filter_string="metrics.acc>0", order_by=["metrics.acc"])
    ids, _ = run_ids(
        world, "metrics.acc > 0", ["metric.acc ASC"], page_token=token, max_results=100
    )
    assert ids == ["r06", "r01", "r10"]  # after r02 (0.5) and r07 (0.7, newer than r06)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage!!", id="not-base64"),
        pytest.param("e30", id="empty-object"),
        pytest.param(_token([1, 2]), id="not-an-object"),
        pytest.param(_token({"f": "x", "p": {}}), id="wrong-fingerprint"),
        pytest.param("A" * 10_000, id="too-long"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(_token({"f": "x"}) + "[" * 3000, id="trailing-junk"),
    ],
)
def test_garbled_tokens_are_400(world: Database, token: str) -> None:
    with pytest.raises(InvalidPageToken) as info:
        run_ids(world, page_token=token)
    assert info.value.status == 400
    assert info.value.code == "INVALID_PAGE_TOKEN"


@pytest.mark.parametrize(
    "after",
    [
        pytest.param(None, id="missing"),
        pytest.param("x", id="not-a-list"),
        pytest.param([1000], id="too-short"),
        pytest.param([1000, "r01", 1], id="too-long"),
        pytest.param(["1000", "r01"], id="string-for-int"),
        pytest.param([1000, 7], id="int-for-id"),
        pytest.param([None, "r01"], id="null-in-non-nullable"),
        pytest.param([2**70, "r01"], id="int-overflow"),
        pytest.param([True, "r01"], id="bool"),
        pytest.param([1.5, "r01"], id="float-for-int"),
    ],
)
def test_forged_tokens_with_valid_fingerprint_are_400(world: Database, after: Any) -> None:
    real = _first_token(world)
    fingerprint = json.loads(base64.urlsafe_b64decode(real + "=="))["f"]
    forged = paging.encode({} if after is None else {"after": after}, fingerprint=fingerprint)
    with pytest.raises(InvalidPageToken):
        run_ids(world, page_token=forged)


def test_forged_metric_cursor_nan_is_refused(world: Database) -> None:
    real = _first_token(world, order_by=["metrics.acc"])
    fingerprint = json.loads(base64.urlsafe_b64decode(real + "=="))["f"]
    forged = paging.encode({"after": [0, math.nan, 1, "r01"]}, fingerprint=fingerprint)
    with pytest.raises(InvalidPageToken):
        run_ids(world, order_by=["metrics.acc"], page_token=forged)


def test_paging_module_round_trip() -> None:
    fp = paging.fingerprint("q", 1)
    token = paging.encode({"after": [INF, -INF, None, "é"]}, fingerprint=fp)
    assert token.isascii() and "=" not in token and "+" not in token and "/" not in token
    assert paging.decode(token, fp) == {"after": [INF, -INF, None, "é"]}
    assert paging.fingerprint("q", 1) == fp != paging.fingerprint("q", 2)
    with pytest.raises(InvalidPageToken):
        paging.decode(token, paging.fingerprint("q", 2))


def test_paging_module_example_runs() -> None:
    assert doctest.testmod(paging).failed == 0
