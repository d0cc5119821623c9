"""Planner hints for a search driven by an index already in sort order.

Ordering by a metric, the compiler's fast statement walks ``latest_metrics(key, is_nan, value)``
backwards and stops once the page is full, probing each run it meets. Both backends need
telling, in their own way, that this is the plan:

* SQLite picks its outer loop from the indexes a term can use, so the executions columns are
  wrapped in no-op expressions (``lifecycle_stage || ''``, ``context_id + 0``) that no index
  serves (:class:`Unindexed`).
* PostgreSQL plans on statistics, and those wrappers hide them: it guessed one matching run,
  materialised the executions table under the metric scan and took 148 ms at 10,000 runs. Left
  plain, it hash-joins every matching run and sorts them all (29 ms), because it prices the
  incremental sort over the ordered scan too high. ``SET LOCAL enable_sort = off`` around that
  one statement (:func:`presorted`) leaves the ordered scan as the cheapest plan: 5.7 ms.

  psycopg prepares a statement on its fifth run, and PostgreSQL would then switch to a generic
  plan, made without the LIMIT or the filter's values (the walk was lost after the tenth
  search, 36 ms); Clew's connections ask for custom plans (``core.db``).

  All of that needs column statistics. Tables that were never analysed (autovacuum off, or
  not yet run: this machine's PostgreSQL has it off) give default estimates, under which the
  plain statement probed executions through the wrong index (275 ms at 10,000 runs). There
  the wrapped statement, with sorting left on, is the better plan (~27 ms), so the store asks
  :func:`has_statistics` and runs ``SearchPlan.fast_without_statistics`` instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class Unindexed(ColumnElement[Any]):
    """A column no index may serve on SQLite (``col || ''`` or ``col + 0``); plain elsewhere."""

    inherit_cache = True
    _traverse_internals = [
        ("plain", InternalTraversal.dp_clauseelement),
        ("hidden", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, plain: ColumnElement[Any], hidden: ColumnElement[Any]) -> None:
        self.plain = plain
        self.hidden = hidden
        self.type = plain.type


@compiles(Unindexed)
def _default(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.plain, **kw)


@compiles(Unindexed, "sqlite")
def _sqlite(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.hidden, **kw)


def unindexed_text(column: ColumnElement[str]) -> ColumnElement[str]:
    return Unindexed(column, column.concat(""))


def unindexed_number(column: ColumnElement[int]) -> ColumnElement[int]:
    return Unindexed(column, column + 0)


#: How long an answer of :func:`has_statistics` is reused, per engine (seconds).
STATISTICS_TTL_S = 60.0
_checked: WeakKeyDictionary[Engine, tuple[float, bool]] = WeakKeyDictionary()


def has_statistics(conn: Connection) -> bool:
    """Whether PostgreSQL has analysed the tables a metric-ordered search reads (an answer
    kept a minute per engine: the check is a catalog read, and statistics appear rarely)."""
    now = time.monotonic()
    cached = _checked.get(conn.engine)
    if cached is not None and now - cached[0] < STATISTICS_TTL_S:
        return cached[1]
    analysed = bool(conn.exec_driver_sql(_ANALYSED).scalar_one())
    _checked[conn.engine] = (now, analysed)
    return analysed


# Column statistics exist for both tables the walk probes (pg_stats is per column).
_ANALYSED = """
SELECT count(DISTINCT tablename) = 2 FROM pg_stats
WHERE schemaname = current_schema() AND tablename IN ('executions', 'latest_metrics')
"""


@contextmanager
def presorted(conn: Connection) -> Iterator[None]:
    """Run the block's statement with sorting priced out on PostgreSQL (a no-op elsewhere)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql(_SET.format(sort="off"))
    try:
        yield
    finally:
        conn.exec_driver_sql(_SET.format(sort="on"))


# ``false``: for the session. Reads on PostgreSQL run without a transaction block
# (``core.db``), where a local setting would last only its own statement; the ``finally``
# above restores it before the connection goes back to the pool.
_SET = "SELECT set_config('enable_sort', '{sort}', false)"
