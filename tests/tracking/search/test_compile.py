"""Run filters compiled and run for real on SQLite and PostgreSQL: every operator, NULL and
NaN handling, LIKE vs ILIKE, datasets, scope and view, and injection attempts as plain data."""

from __future__ import annotations

from typing import Any

import pytest

from clew.core.db import Database
from clew.core.errors import InvalidFilter, InvalidInput
from clew.tracking.model import ViewType
from clew.tracking.search import compile_run_search
from clew.tracking.search.compile import MAX_RESULTS_LIMIT
from tests.tracking.search.world import ACTIVE, IN_1_2, RUNS, count, found, run_ids

FILTERS = [
    pytest.param("", IN_1_2, id="no-filter"),
    pytest.param("metrics.acc = 0.7", {"r06", "r07"}, id="metric-eq"),
    pytest.param("metrics.acc != 0.7", {"r01", "r02", "r03", "r08", "r09", "r10", "r12"},
                 id="metric-ne-includes-nan"),
    pytest.param("metrics.acc < 0.5", {"r08", "r09"}, id="metric-lt-neg-inf"),
    pytest.param("metrics.acc <= 0.5", {"r02", "r08", "r09"}, id="metric-le"),
    pytest.param("metrics.acc > 0.7", {"r01", "r10"}, id="metric-gt-skips-nan"),
    pytest.param("metrics.acc >= 0.7", {"r01", "r06", "r07", "r10"}, id="metric-ge"),
    pytest.param("metrics.acc = 0", {"r09"}, id="metric-eq-zero-not-nan"),
    pytest.param("metrics.loss > 1e300", {"r07"}, id="metric-inf"),
    pytest.param("metrics.loss < -0.5", {"r06"}, id="metric-negative"),
    pytest.param("metrics.acc IS NULL", {"r04"}, id="metric-missing"),
    pytest.param("metrics.acc IS NOT NULL", IN_1_2 - {"r04"}, id="metric-present-incl-nan"),
    pytest.param("metrics.nope > 0", set(), id="metric-unknown-key"),
    pytest.param("params.lr = '0.1'", {"r01", "r06", "r08", "r10"}, id="param-eq"),
    pytest.param("params.lr != '0.1'", {"r02", "r03", "r07", "r09"}, id="param-ne-needs-key"),
    pytest.param("params.lr IN ('0.01', '0.001')", {"r02", "r03", "r07"}, id="param-in"),
    pytest.param("params.lr NOT IN ('0.1', '0.01')", {"r03", "r09"}, id="param-not-in"),
    pytest.param("params.lr IS NULL", {"r04", "r12"}, id="param-missing"),
    pytest.param("params.lr IS NOT NULL", IN_1_2 - {"r04", "r12"}, id="param-present"),
    pytest.param("params.lr LIKE '0.0%'", {"r02", "r03", "r07", "r09"}, id="like"),
    pytest.param("params.opt LIKE 'adam'", {"r01"}, id="like-case-sensitive"),
    pytest.param("params.opt ILIKE 'adam'", {"r01", "r12"}, id="ilike-case-insensitive"),
    pytest.param("params.opt ILIKE 'A%'", {"r01", "r12"}, id="ilike-pattern"),
    pytest.param("params.pct LIKE '50%'", {"r03", "r04"}, id="like-percent-wildcard"),
    pytest.param("params.pct LIKE '50\\%'", {"r03"}, id="like-escaped-percent"),
    pytest.param("params.us LIKE 'a_b'", {"r04", "r06"}, id="like-underscore-wildcard"),
    pytest.param("params.us LIKE 'a\\_b'", {"r04"}, id="like-escaped-underscore"),
    pytest.param("params.q = 'it''s'", {"r06"}, id="quote-in-value"),
    pytest.param("tags.note = 'O\\'Reilly'", {"r07"}, id="escaped-quote-in-value"),
    pytest.param("tags.stage = 'prod'", {"r06"}, id="tag-eq-case-sensitive"),
    pytest.param("tags.stage LIKE 'prod'", {"r06"}, id="tag-like-case-sensitive"),
    pytest.param("tags.stage ILIKE 'prod'", {"r02", "r06"}, id="tag-ilike"),
    pytest.param("tags.stage IS NULL", {"r04", "r08", "r12"}, id="tag-missing"),
    pytest.param("attributes.status = 'RUNNING'", {"r03", "r10"}, id="status"),
    pytest.param("status IN ('FAILED', 'KILLED')", {"r02", "r08"}, id="status-in"),
    pytest.param("status NOT IN ('FINISHED')", {"r02", "r03", "r08", "r10"}, id="status-not-in"),
    pytest.param("attributes.run_name = 'Alpha'", {"r01"}, id="run-name"),
    pytest.param("`Run name` LIKE 'a%'", set(), id="run-name-like-case"),
    pytest.param("attributes.\"run name\" ILIKE 'a%'", {"r01"}, id="run-name-ilike"),
    pytest.param("attributes.run_id IN ('r01', 'r02', 'r05')", {"r01", "r02"}, id="run-id-in"),
    pytest.param("attributes.user_id != 'ann'", {"r02", "r04", "r07", "r08"}, id="user-ne"),
    pytest.param("attributes.artifact_uri LIKE '%/r0_'", IN_1_2 - {"r10", "r12"}, id="uri"),
    pytest.param("attributes.start_time >= 8000", {"r09", "r10", "r12"}, id="start-ge"),
    pytest.param("created < 1000", {"r08"}, id="created-alias"),
    pytest.param("start_time > 2999.5", IN_1_2 - {"r01", "r02", "r08"}, id="start-float"),
    pytest.param("start_time = 3000.5", set(), id="start-float-eq"),
    pytest.param("end_time IS NULL", {"r03", "r10"}, id="end-null"),
    pytest.param("end_time <= 3000", {"r01", "r02", "r08"}, id="end-le"),
    pytest.param("attributes.experiment_id = '2'", {"r06", "r07"}, id="experiment-id"),
    pytest.param("lifecycle_stage = 'active'", IN_1_2, id="lifecycle"),
    pytest.param("datasets.name = 'iris'", {"r01", "r02", "r06"}, id="dataset-name"),
    pytest.param("datasets.digest = 'd-wine'", {"r02", "r03"}, id="dataset-digest"),
    pytest.param("datasets.context = 'evaluation'", {"r02", "r06"}, id="dataset-context"),
    pytest.param("datasets.name = 'iris' AND datasets.context = 'evaluation'",
                 {"r02", "r06"}, id="dataset-and"),
    pytest.param("datasets.name IN ('wine') AND datasets.context = 'training'",
                 {"r02", "r03"}, id="dataset-conditions-independent"),
    pytest.param("datasets.name ILIKE 'IR%'", {"r01", "r02", "r06"}, id="dataset-ilike"),
    pytest.param("datasets.name NOT IN ('iris')", {"r02", "r03"}, id="dataset-not-in"),
    pytest.param("params.lr = '0.1' AND metrics.acc > 0.8", {"r01", "r10"}, id="and"),
    pytest.param("params.lr = '0.01' OR tags.stage = 'test'", {"r02", "r07", "r09"}, id="or"),
    pytest.param("params.lr = '0.1' AND (tags.stage = 'dev' OR metrics.acc < 0)",
                 {"r01", "r08", "r10"}, id="and-or-parens"),
    pytest.param("params.lr = '0.1' AND tags.stage = 'dev' OR metrics.acc < 0",
                 {"r01", "r08", "r10"}, id="precedence"),
    pytest.param("metrics.acc < 0 OR params.lr = '0.1' AND tags.stage = 'dev'",
                 {"r01", "r08", "r10"}, id="precedence-right"),
    pytest.param("(params.lr = '0.1' OR params.lr = '0.01') AND status = 'FINISHED'",
                 {"r01", "r06", "r07"}, id="or-in-parens"),
]  # fmt: skip


@pytest.mark.parametrize(("filter_string", "expected"), FILTERS)
def test_filters(world: Database, filter_string: str, expected: set[str]) -> None:
    assert found(world, filter_string) == expected


@pytest.mark.parametrize("order_by", ["metrics.acc DESC", "metrics.loss"])
@pytest.mark.parametrize(("filter_string", "expected"), FILTERS)
def test_filters_ordered_by_a_metric(
    world: Database, filter_string: str, expected: set[str], order_by: str
) -> None:
    """Ordered by a metric, a filter runs inside the index walk's per-run probe (compiled
    apart, with its values wrapped on PostgreSQL); the rows lacking the metric come from the
    general statement. Together they are the same runs."""
    assert found(world, filter_string, order_by=[order_by]) == expected


@pytest.mark.parametrize(
    "filter_string",
    [
        pytest.param("params.lr = '0.1'' OR ''1''=''1'", id="quote-break-out"),
        pytest.param("params.lr = '0.1\\' OR 1=1 --'", id="backslash-break-out"),
        pytest.param("params.lr = '1; DROP TABLE executions; --'", id="drop-in-value"),
        pytest.param("params.`lr' OR '1'='1` = '0.1'", id="quote-in-key"),
        pytest.param("params.`x; DROP TABLE executions` IS NULL", id="drop-in-key"),
        pytest.param("params.lr LIKE '%'' OR 1=1 --'", id="like-break-out"),
        pytest.param("attributes.run_id IN ('r01'') OR (''1''=''1')", id="in-break-out"),
    ],
)
def test_injection_is_just_data(world: Database, filter_string: str) -> None:
    before = {t: count(world, t) for t in ("executions", "execution_params", "latest_metrics")}
    result = found(world, filter_string)
    if "IS NULL" in filter_string:
        assert result == IN_1_2  # nobody has a key with that odd name
    else:
        assert result == set()
    assert {t: count(world, t) for t in before} == before


def test_order_by_injection_is_just_a_key(world: Database) -> None:
    ids, _ = run_ids(world, order_by=["params.`lr; DROP TABLE executions --` DESC"])
    assert sorted(ids) == sorted(IN_1_2)
    assert count(world, "executions") == len(RUNS)


def test_scope_and_view(world: Database) -> None:
    assert found(world, "", experiment_ids=None) == {r.id for r in ACTIVE}
    assert found(world, "", experiment_ids=[3]) == {"r11"}
    assert found(world, "", experiment_ids=[]) == set()
    assert found(world, "", view=ViewType.DELETED_ONLY) == {"r05"}
    assert found(world, "", view=ViewType.ALL) == IN_1_2 | {"r05"}
    assert found(world, "metrics.acc > 0.95", view=ViewType.ALL) == {"r05", "r10"}
    assert found(world, "params.lr = '0.1'", experiment_ids=None) == {
        "r01", "r06", "r08", "r10", "r11",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"max_results": 0}, InvalidInput, id="zero"),
        pytest.param({"max_results": MAX_RESULTS_LIMIT + 1}, InvalidInput, id="too-many"),
        pytest.param({"max_results": True}, InvalidInput, id="bool"),
        pytest.param({"order_by": "start_time"}, InvalidInput, id="order-by-string"),
        pytest.param({"order_by": ["start_time"] * 11}, InvalidInput, id="order-by-too-long"),
        pytest.param({"order_by": ["datasets.name"]}, InvalidFilter, id="order-by-dataset"),
        pytest.param({"filter_string": "params.x = "}, InvalidFilter, id="bad-filter"),
        pytest.param({"view_type": "SOME"}, InvalidInput, id="bad-view"),
        pytest.param({"experiment_ids": ["x"]}, InvalidInput, id="bad-experiment-id"),
    ],
)
def test_invalid_requests(kwargs: dict[str, Any], error: type[Exception]) -> None:
    args: dict[str, Any] = dict(
        experiment_ids=[1], filter_string="", order_by=[], view_type=ViewType.ALL,
        max_results=10, page_token=None,
    )  # fmt: skip
    args.update(kwargs)
    with pytest.raises(error):
        compile_run_search(**args)


def test_max_results_bounds_are_inclusive() -> None:
    for n in (1, MAX_RESULTS_LIMIT):
        compile_run_search(
            experiment_ids=None, filter_string="", order_by=[], view_type=ViewType.ALL,
            max_results=n, page_token=None,
        )  # fmt: skip
