"""Planner hints for a search driven by an index already in sort order.

Ordering by a metric, the compiler's fast statement walks ``latest_metrics(key, is_nan, value)``
backwards and stops once the page is full, probing each run it meets. Both backends need
telling, in their own way, that this is the plan:

* SQLite picks its outer loop from the indexes a term can use, so the executions columns are
  wrapped in no-op expressions (``lifecycle_stage || ''``, ``context_id + 0``) that no index
  serves (:class:`Unindexed`).
* PostgreSQL runs a statement of its own (``compile._metric_walk``): the walk joined
  ``LATERAL`` to a one-run probe whose ``LIMIT 1`` keeps it from being flattened into a join the
  planner could reorder, with the same wrappers (and ``value || ''`` on params and tags) so the
  probe can only read primary keys. Its shape then no longer depends on estimates; what is left
  to the planner is reading the walk in order rather than reading it all and sorting, and
  ``SET enable_sort = off`` around that one statement (:func:`presorted`) settles that. At
  10,000 runs it reads ~2,700 buffers, analysed or not (3-7 ms here).

  Why a statement of its own: with column statistics the plain join (same wrappers on SQLite
  only) walked too (3-4 ms), but tables never analysed (autovacuum off, or not yet run: a fresh
  database; this machine's PostgreSQL has it off) give default estimates, under which an index
  scan of ``(key, value)`` or of the experiment's runs prices the same as a primary-key probe.
  The plain statement then probed through the wrong one (10 s at 10,000 runs), and the
  statement kept for that case, driven from the param's index, read every matching run and
  sorted them (~19,000 buffers, 37-55 ms). Hiding the probe's other indexes from the plain
  join does not work either: with statistics the wrappers hide the selectivities too, and the
  planner, expecting one matching run, materialised the executions table under the walk.

  psycopg prepares a statement on its fifth run, and PostgreSQL would then switch to a generic
  plan, made without the LIMIT or the filter's values; Clew's connections ask for custom plans
  (``core.db``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

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


@contextmanager
def presorted(conn: Connection) -> Iterator[None]:
    """Run the block's statement with sorting priced out on PostgreSQL (a no-op elsewhere)."""
    with _planner_off(conn, "enable_sort"):
        yield


@contextmanager
def hashed(conn: Connection) -> Iterator[None]:
    """Run the block's statement without nested loops on PostgreSQL (a no-op elsewhere).

    For a statement that reads every candidate anyway (counting a search's runs): on tables
    never analysed PostgreSQL expects one run per experiment and one row per param value, and
    joined the two in a nested loop with a join filter, every run against every matching
    param row (95,000 x 25,000 at 100,000 runs: it had not finished after 12 minutes). A hash
    semi-join reads each side once, whatever the estimates.
    """
    with _planner_off(conn, "enable_nestloop"):
        yield


@contextmanager
def _planner_off(conn: Connection, setting: str) -> Iterator[None]:
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql(_SET.format(setting=setting, value="off"))
    try:
        yield
    finally:
        conn.exec_driver_sql(_SET.format(setting=setting, value="on"))


# ``false``: for the session. Reads on PostgreSQL run without a transaction block
# (``core.db``), where a local setting would last only its own statement; the ``finally``
# above restores it before the connection goes back to the pool.
_SET = "SELECT set_config('{setting}', '{value}', false)"


#: The tables a run filter probes; PostgreSQL keeps ``reltuples = -1`` until one is analysed.
_SEARCHED: Final = ("executions", "execution_params", "execution_tags", "latest_metrics")
_STATISTICS_TTL_S: Final = 60.0
_statistics: weakref.WeakKeyDictionary[Engine, tuple[bool, float]] = weakref.WeakKeyDictionary()
_statistics_lock = threading.Lock()


def planner_has_statistics(conn: Connection) -> bool:
    """Whether PostgreSQL has analysed the searched tables, so its estimates mean something.

    A fresh database (or any where autovacuum is off) has none, and plans made from default
    estimates can probe the wrong index once per run (``compile._start_time_walk``). Asked at
    most once a minute per engine; always True elsewhere.
    """
    if conn.dialect.name != "postgresql":
        return True
    now = time.monotonic()
    with _statistics_lock:
        known = _statistics.get(conn.engine)
    if known is not None and now - known[1] < _STATISTICS_TTL_S:
        return known[0]
    regclasses = ", ".join(f"to_regclass('{table}')" for table in _SEARCHED)
    analysed = bool(
        conn.exec_driver_sql(
            f"SELECT coalesce(bool_and(reltuples >= 0), false) FROM pg_class "
            f"WHERE oid IN ({regclasses})"
        ).scalar()
    )
    with _statistics_lock:
        _statistics[conn.engine] = (analysed, now)
    return analysed
