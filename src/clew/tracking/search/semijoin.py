"""One semi-join, written the way each backend runs fastest: the search's one dialect split.

"Runs having a param ``lr = '0.01'``" can be asked two ways, and the backends disagree:

* SQLite has no hash join. A correlated ``EXISTS`` costs one B-tree probe into the param
  table per run scanned; a selective filter scans every run, ~100,000 probes (~0.4 s).
  ``executions.id IN (SELECT execution_id … WHERE key = ? AND value = ?)`` is materialised
  once from the covering ``(key, value)`` index into an in-memory list, then each run costs a
  list lookup (~20-40 ms at 100,000 runs).
* PostgreSQL plans ``EXISTS`` as a semi- or anti-join, or an index probe, whatever the
  statistics favour, also under ``OR``. ``IN (subquery)`` under ``OR`` becomes a hashed
  subplan only while it fits in ``work_mem``, and a row-by-row rescan beyond that.

So the compiler builds both forms from the same conditions and this element renders one.
The negated case ("runs lacking param ``x``") stays ``NOT EXISTS`` everywhere: it touches
nearly every run either way, and on SQLite a 100,000-entry ``NOT IN`` list costs more per
lookup (it spills out of the page cache) than the primary-key probe does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, FromClause, exists, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class SemiJoin(ColumnElement[bool]):
    """A correlated ``EXISTS`` by default; ``id IN (SELECT …)`` on SQLite."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a predicate already: SQLite must not append "= 1"
    _traverse_internals = [
        ("correlated", InternalTraversal.dp_clauseelement),
        ("listed", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, correlated: ColumnElement[bool], listed: ColumnElement[bool]) -> None:
        self.correlated = correlated
        self.listed = listed


@compiles(SemiJoin)
def _default(element: SemiJoin, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.correlated, **kw)


@compiles(SemiJoin, "sqlite")
def _sqlite(element: SemiJoin, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.listed, **kw)


def having(
    owner: ColumnElement[Any],
    child: ColumnElement[Any],
    *conditions: ColumnElement[bool],
    negate: bool = False,
    source: FromClause | None = None,
) -> ColumnElement[bool]:
    """Rows whose ``owner`` id has (or, negated, has no) child row meeting ``conditions``.

    Args:
        owner: the searched table's id, e.g. ``executions.id``.
        child: the child table's column referring to it, e.g. ``execution_params.execution_id``.
        conditions: about the child rows only (they must not mention the owner's table).
        source: the child rows' FROM when they come from a join (``events JOIN artifacts``),
            so that it is one, not a list SQLAlchemy's linter may take for a cartesian product.
    """
    correlated = exists().where(child == owner, *conditions)
    listed = select(child).where(*conditions)
    if source is not None:
        correlated, listed = correlated.select_from(source), listed.select_from(source)
    if negate:
        return ~correlated
    return SemiJoin(correlated, owner.in_(listed))
