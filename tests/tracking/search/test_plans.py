"""The plan each backend runs for a search ordered by a metric: the ordered index walk.

Searching "``metrics.acc > 0.5 and params.lr = '0.01'`` ordered by ``metrics.acc DESC``, top
100" is the workload that MLflow users run most. Its fast statement must walk
``latest_metrics(key, is_nan, value)`` in order and stop at the page's end; any plan that
collects every matching run and sorts them grows with the experiment instead. These tests
read the backend's own plan, on enough rows (with statistics) for the planner to have a
choice, so a change to the compiler, the hints or the indexes that loses the walk fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, insert

from clew.core import schema
from clew.core.db import Database
from clew.tracking.model import ViewType
from clew.tracking.search import compile_run_search
from clew.tracking.search.hints import has_statistics, presorted
from tests.conftest import PostgresDatabases, require

RUNS = 3000


@pytest.fixture
def postgres_db(postgres_databases: PostgresDatabases | None) -> Iterator[Database]:
    require(postgres_databases is not None, "PostgreSQL: set CLEW_TEST_POSTGRES_URL")
    assert postgres_databases is not None
    url = postgres_databases.new()
    database = Database(url)
    yield database
    database.dispose()
    postgres_databases.drop(url)


METRIC_INDEX = "ix_latest_metrics_key_is_nan_value"


def _seed(db: Database, *, analyze: bool) -> None:
    ids = [f"run{i:05d}" for i in range(RUNS)]
    with db.write() as conn:
        conn.execute(
            insert(schema.contexts),
            [dict(id=1, type="experiment", name="e", lifecycle_stage="active",
                  created_at=0, updated_at=0)],
        )  # fmt: skip
        conn.execute(
            insert(schema.executions),
            [dict(id=r, type="run", context_id=1, name=r, status="FINISHED", user_id="u",
                  start_time=i, lifecycle_stage="active", artifact_uri="") for i, r in enumerate(ids)],
        )  # fmt: skip
        conn.execute(
            insert(schema.execution_params),
            [
                dict(execution_id=r, key=k, value=v)
                for i, r in enumerate(ids)
                for k, v in [("lr", ["0.01", "0.1", "0.001"][i % 3]), ("seed", str(i))]
            ],
        )
        conn.execute(
            insert(schema.latest_metrics),
            [
                dict(execution_id=r, key=k, step=0, timestamp=0, value=(i * 7919 % RUNS) / RUNS,
                     is_nan=False)
                for i, r in enumerate(ids)
                for k in ("acc", "loss")
            ],
        )  # fmt: skip
    if analyze:
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")


def _fast_statement_sql(conn: Connection, *, statistics: bool = True) -> str:
    plan = compile_run_search(
        experiment_ids=[1],
        filter_string="metrics.acc > 0.5 and params.lr = '0.01'",
        order_by=["metrics.acc DESC"],
        view_type=ViewType.ACTIVE_ONLY,
        max_results=100,
        page_token=None,
    )
    assert plan.fast is not None, "ordering by a metric first has a fast statement"
    assert plan.fast_without_statistics is not None
    fast = plan.fast if statistics else plan.fast_without_statistics()
    statement = fast.limit(plan.max_results + 1)
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _plan_lines(conn: Connection) -> list[str]:
    """The plan of the statement the store runs (``TrackingStore.run_search``)."""
    if conn.dialect.name == "sqlite":
        sql = _fast_statement_sql(conn)
        return [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    if not has_statistics(conn):
        sql = _fast_statement_sql(conn, statistics=False)
        return [str(row[0]) for row in conn.exec_driver_sql("EXPLAIN " + sql)]
    with presorted(conn):
        sql = _fast_statement_sql(conn)
        return [str(row[0]) for row in conn.exec_driver_sql("EXPLAIN " + sql)]


def test_metric_ordered_search_walks_the_metric_index(db: Database) -> None:
    """On fresh tables: Clew never analyses SQLite, and PostgreSQL has no statistics until
    autovacuum gets to the tables."""
    _seed(db, analyze=False)
    if not db.is_sqlite:
        with db.read() as conn:
            assert not has_statistics(conn)  # so the store runs the wrapped statement
    # Without statistics PostgreSQL sorts what the walk finds (the plan Clew had before it
    # used statistics: ~27-55 ms at 10,000 runs, where the plain statement took 275 ms).
    _assert_metric_walk(db, stops_early=db.is_sqlite)


@pytest.mark.postgres
def test_postgres_keeps_the_walk_with_statistics(postgres_db: Database) -> None:
    """Once analysed, PostgreSQL's estimates are what the hints must steer. (SQLite, given
    statistics, rightly prefers the ``lr`` list for this filter; Clew never gives it any.)"""
    _seed(postgres_db, analyze=True)
    with postgres_db.read() as conn:
        assert has_statistics(conn)
    _assert_metric_walk(postgres_db)


def _assert_metric_walk(db: Database, *, stops_early: bool = True) -> None:
    """The metric index drives the plan; with ``stops_early`` nothing sorts all candidates
    (an incremental sort over the ordered walk stops at the page's end)."""
    with db.read() as conn:
        lines = _plan_lines(conn)
    text = "\n".join(lines)
    if db.is_sqlite:
        # The outer loop is the metric index; executions and params are probed per row.
        assert METRIC_INDEX in lines[0], text
        assert "SCAN executions" not in text, text
    else:
        assert f"Index Scan Backward using {METRIC_INDEX}" in text, text
        assert "Hash Join" not in text, text
        if stops_early:
            assert "  Sort  " not in text and not text.lstrip().startswith("Sort"), text


@pytest.mark.postgres
def test_presorted_puts_the_settings_back(postgres_db: Database) -> None:
    """PostgreSQL only: on SQLite there is nothing to set, the hints are in the SQL."""
    with postgres_db.read() as conn:
        before = _settings(conn)
        with presorted(conn):
            assert _settings(conn) == ("off", "force_custom_plan")
        # Custom plans are the connection's own setting (core.db), not the block's.
        assert _settings(conn) == before == ("on", "force_custom_plan")


def _settings(conn: Connection) -> tuple[Any, ...]:
    row = conn.exec_driver_sql(
        "SELECT current_setting('enable_sort'), current_setting('plan_cache_mode')"
    ).one()
    return tuple(row)
