"""The plan each backend runs for a search ordered by a metric: the ordered index walk.

Searching "``metrics.acc > 0.5 and params.lr = '0.01'`` ordered by ``metrics.acc DESC``, top
100" is the workload that MLflow users run most. Its fast statement must walk
``latest_metrics(key, is_nan, value)`` in order and stop at the page's end; any plan that
collects every matching run and sorts them grows with the experiment instead. These tests
read the backend's own plan of the statement the store runs (``TrackingStore.run_search``),
on enough rows for the planner to have a choice, on PostgreSQL both before the tables were
ever analysed (a fresh database with autovacuum off or not yet run) and after, so a change to
the compiler, the hints or the indexes that loses the walk fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, insert

from clew.core import schema
from clew.core.db import Database
from clew.core.prepared import plain
from clew.tracking.model import ViewType
from clew.tracking.search import compile_run_search
from clew.tracking.search.hints import planner_has_statistics, presorted
from clew.tracking.statements import run_page_reads
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
TABLES = ("executions", "execution_params", "latest_metrics")
FILTER, ORDER = "metrics.acc > 0.5 and params.lr = '0.01'", ["metrics.acc DESC"]


def _seed(db: Database, *, analyze: bool) -> None:
    ids = [f"run{i:05d}" for i in range(RUNS)]
    with db.write() as conn:
        if not db.is_sqlite and not analyze:  # nor may autovacuum, while the test runs
            for table in TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
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


def _analysed(conn: Connection) -> set[str]:
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
    )
    return {name for (name,) in rows} & set(TABLES)


def _fast_statement_sql(conn: Connection) -> str:
    """The rank-0 statement ``TrackingStore.run_search`` runs first on this backend."""
    plan = compile_run_search(
        experiment_ids=[1],
        filter_string=FILTER,
        order_by=ORDER,
        view_type=ViewType.ACTIVE_ONLY,
        max_results=100,
        page_token=None,
    )
    assert plan.fast is not None, "ordering by a metric first has a fast statement"
    assert plan.fast_postgres is not None
    fast = plan.fast if conn.dialect.name == "sqlite" else plan.fast_postgres()
    statement = fast.limit(plan.max_results + 1)
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _postgres_plan(conn: Connection) -> dict[str, Any]:
    """``EXPLAIN ANALYZE`` of the statement, with the store's setting around it."""
    with presorted(conn):
        sql = _fast_statement_sql(conn)
        row = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).scalar_one()
    plan: dict[str, Any] = (json.loads(row) if isinstance(row, str) else row)[0]["Plan"]
    return plan


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def test_metric_ordered_search_walks_the_metric_index(db: Database) -> None:
    """On fresh tables: Clew never analyses SQLite, and PostgreSQL has no statistics until
    autovacuum gets to the tables (on this machine it is off)."""
    _seed(db, analyze=False)
    if not db.is_sqlite:
        with db.read() as conn:
            assert _analysed(conn) == set()
    _assert_metric_walk(db)


@pytest.mark.postgres
def test_postgres_keeps_the_walk_with_statistics(postgres_db: Database) -> None:
    """Once analysed, the same statement keeps the same plan. (SQLite, given statistics,
    rightly prefers the ``lr`` list for this filter; Clew never gives it any.)"""
    _seed(postgres_db, analyze=True)
    with postgres_db.read() as conn:
        assert _analysed(conn) == set(TABLES)
    _assert_metric_walk(postgres_db)


def _assert_metric_walk(db: Database) -> None:
    """The metric index drives the plan and each run is probed by primary key; on PostgreSQL,
    whose plan can be run and counted, the walk stops at the page's end."""
    with db.read() as conn:
        if db.is_sqlite:
            sql = _fast_statement_sql(conn)
            lines = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            text = "\n".join(lines)
            # The outer loop is the metric index; executions and params are probed per row.
            assert METRIC_INDEX in lines[0], text
            assert "SCAN executions" not in text, text
            return
        root = _postgres_plan(conn)
    nodes = list(_nodes(root))
    text = json.dumps(root, indent=1)
    kinds = {n["Node Type"] for n in nodes}
    assert not kinds & {"Sort", "Hash Join", "Materialize", "Seq Scan"}, text
    scans = {n.get("Index Name"): n for n in nodes if "Index Name" in n}
    walk = scans.get(METRIC_INDEX)
    assert walk is not None and walk["Scan Direction"] == "Backward", text
    assert set(scans) == {METRIC_INDEX, "pk_executions", "pk_execution_params"}, text
    # 101 rows of a filter a sixth of the runs pass: ~300 rows walked, not all 1,500 > 0.5.
    assert root["Actual Rows"] == 101, text
    assert walk["Actual Rows"] < 500, text
    assert walk["Actual Loops"] == 1, text


@pytest.mark.postgres
def test_postgres_page_reads_look_each_run_up_on_fresh_tables(postgres_db: Database) -> None:
    """A search's second half reads its page's params, metrics and runs. On tables never
    analysed, ``execution_id = ANY(<100 ids>)`` was priced at half the table and read all of
    it; the per-run reads (``PreparedIn(per_item=True)``) can only probe the index."""
    _seed(postgres_db, analyze=False)
    page = run_page_reads(postgres_db.engine.dialect)
    ids = [f"run{i:05d}" for i in range(0, RUNS, RUNS // 100)]
    with postgres_db.read() as conn:
        assert _analysed(conn) == set()
        for name in ("runs_by_ids", "params_of_runs", "tags_of_runs", "latest_of_runs"):
            reads = getattr(page, name)
            assert reads._any is not None
            explained = conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + reads._any.sql, {**reads._any.defaults, "ids": ids}
            ).scalar_one()
            root = (json.loads(explained) if isinstance(explained, str) else explained)[0]
            kinds = {n["Node Type"] for n in _nodes(root["Plan"])}
            assert "Seq Scan" not in kinds, (name, root)
        params = list(plain(page.params_of_runs(conn, ids)))
    assert len(params) == 2 * len(ids)


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


#: Either walks the runs newest first (with one experiment, they are the same runs).
START_TIME_INDEXES = {"ix_executions_context_id_lifecycle_stage_start_time_id",
                      "ix_executions_lifecycle_stage_start_time_id"}  # fmt: skip
DEFAULT_ORDER_FILTERS = [FILTER, "params.seed = '17'", "metrics.loss < 0.1 or params.lr = '0.1'"]


def _default_order_plan(filter_string: str, page_token: str | None = None) -> Any:
    return compile_run_search(experiment_ids=[1], filter_string=filter_string, order_by=[],
                              view_type=ViewType.ACTIVE_ONLY, max_results=100,
                              page_token=page_token)  # fmt: skip


@pytest.mark.postgres
def test_postgres_walks_runs_newest_first_on_fresh_tables(postgres_db: Database) -> None:
    """A filtered search in the default order, on tables never analysed: the runs read newest
    first from a start-time index, each probed by primary key, stopping at the page's end.
    The plain statement, planned from default estimates, probed the params' ``(key, value)``
    index once per run instead (13 s at 10,000 runs)."""
    _seed(postgres_db, analyze=False)
    with postgres_db.read() as conn:
        assert not planner_has_statistics(conn)
        [(statement, in_order)] = _default_order_plan(FILTER).statements_on(
            "postgresql", analysed=False
        )
        assert in_order
        sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        with presorted(conn):
            row = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).scalar_one()
    root = (json.loads(row) if isinstance(row, str) else row)[0]["Plan"]
    nodes = list(_nodes(root))
    text = json.dumps(root, indent=1)
    assert not {n["Node Type"] for n in nodes} & {"Hash Join", "Seq Scan", "Materialize"}, text
    scans = {n.get("Index Name"): n for n in nodes if "Index Name" in n}
    [walked] = set(scans) & START_TIME_INDEXES
    probes = set(scans) - {walked}
    assert probes == {"pk_executions", "pk_execution_params", "pk_latest_metrics"}, text
    walk = scans[walked]
    assert walk["Scan Direction"] == "Backward" and walk["Actual Loops"] == 1, text
    # 101 rows of a filter a sixth of the runs pass: ~600 runs walked, not all 3,000.
    assert root["Actual Rows"] == 101 and walk["Actual Rows"] < 1000, text


@pytest.mark.postgres
def test_postgres_walk_and_plain_statement_agree_page_by_page(postgres_db: Database) -> None:
    """The walk replaces the plain statement only where statistics are missing, so the two
    must give the same rows in the same order, and read each other's page tokens."""
    _seed(postgres_db, analyze=False)
    with postgres_db.read() as conn:
        for filter_string in DEFAULT_ORDER_FILTERS:
            token: str | None = None
            for _ in range(3):
                plan = _default_order_plan(filter_string, token)
                [(walked, _)] = plan.statements_on("postgresql", analysed=False)
                [(plain_statement, _)] = plan.statements_on("postgresql", analysed=True)
                with presorted(conn):
                    walked_rows = conn.execute(walked).all()
                plain_rows = conn.execute(plain_statement).all()
                assert walked_rows == plain_rows, filter_string
                _, token = plan.page(walked_rows)
                if token is None:
                    break


@pytest.mark.postgres
def test_statistics_are_known_once_the_tables_are_analysed(postgres_db: Database) -> None:
    with postgres_db.read() as conn:
        assert not planner_has_statistics(conn)
    _seed(postgres_db, analyze=True)
    fresh = Database(postgres_db.url)  # the answer is kept a minute per engine
    try:
        with fresh.read() as conn:
            assert planner_has_statistics(conn)
    finally:
        fresh.dispose()


def test_sqlite_runs_the_plain_statement() -> None:
    """SQLite plans from its own rules, not estimates: nothing to walk around."""
    plan = _default_order_plan(FILTER)
    assert plan.walk_postgres is not None
    assert plan.statements_on("sqlite") == ((plan.statement, False),)
