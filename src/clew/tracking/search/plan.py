"""Keyset paging: a total order of sort keys, the cursor predicate, and the plan the store runs.

Why keyset and not OFFSET: a page deep in 100,000 runs costs the same as the first, and rows
logged while someone pages do not shift later pages onto rows already seen.

NULLs make keyset paging subtle, because ``NULL > x`` is never true. Each nullable sort value
is therefore preceded by a non-null *rank* key (0 = has a value, 1 = NaN, 2 = missing, say),
and a value is NULL only where its rank is above 0. Rows sharing a rank then also share a
NULL, so "equal" on a NULL cursor value means ``IS NULL`` and "beyond" is impossible, which
keeps the predicate exact in both directions and puts missing values last either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, Select, and_, or_

from clew.core import paging
from clew.core.errors import InvalidPageToken

ValueType = Literal["int", "float", "str"]
INT64 = 2**63


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ORDER BY column: its expression, direction and the type its cursor value has."""

    expr: ColumnElement[Any]
    ascending: bool
    type: ValueType
    nullable: bool = False

    def ordered(self) -> ColumnElement[Any]:
        return self.expr.asc() if self.ascending else self.expr.desc()

    def beyond(self, value: Any) -> ColumnElement[bool]:
        return self.expr > value if self.ascending else self.expr < value

    def reached(self, value: Any) -> ColumnElement[bool]:
        """``beyond or equal``: a redundant, index-friendly bound on the leading key."""
        return self.expr >= value if self.ascending else self.expr <= value


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the cursor ``values`` in the order of ``keys``.

    Built from the last key outwards: ``k1 beyond v1 OR (k1 = v1 AND (k2 beyond v2 OR …))``.
    The last key must be unique and non-null (the id), so that "after" is strict.
    """
    condition: ColumnElement[bool] | None = None
    for key, value in reversed(list(zip(keys, values, strict=True))):
        if value is None:
            same: ColumnElement[bool] = key.expr.is_(None)
            condition = same if condition is None else and_(same, condition)
        else:
            beyond = key.beyond(value)
            condition = (
                beyond if condition is None else or_(beyond, and_(key.expr == value, condition))
            )
    assert condition is not None, "at least the id is a sort key"
    if values[0] is not None:
        condition = and_(keys[0].reached(values[0]), condition)
    return condition


def _valid(value: Any, key: SortKey) -> bool:
    if value is None:
        return key.nullable
    if isinstance(value, bool):
        return False
    if key.type == "str":
        return isinstance(value, str)
    if key.type == "int":
        return isinstance(value, int) and -INT64 <= value < INT64
    return isinstance(value, int | float) and not math.isnan(value)


def read_cursor(token: str, fingerprint: str, keys: Sequence[SortKey]) -> list[Any]:
    """The sort values (tiebreaker last) a token resumes after, checked against ``keys``.

    Raises:
        InvalidPageToken: malformed, for another query, or values of the wrong shape.
    """
    payload = paging.decode(token, fingerprint)
    values = payload.get("after")
    if (
        not isinstance(values, list)
        or len(values) != len(keys)
        or not all(_valid(v, k) for v, k in zip(values, keys, strict=True))
    ):
        raise InvalidPageToken("Invalid page token: its position does not fit this query")
    return values


@dataclass(frozen=True)
class SearchPlan:
    """A compiled search: run ``statement``, then hand its rows to :meth:`page`.

    Attributes:
        statement: first column the id, then one column per sort key; at most
            ``max_results + 1`` rows, in order (the extra row says whether a next page exists).
    """

    statement: Select[Any]
    max_results: int
    fingerprint: str
    keys: tuple[SortKey, ...]
    #: Optional split of ``statement`` for speed: ``fast`` yields a prefix of its rows cheaply
    #: (e.g. driven by an index already in sort order) and ``remainder`` the rows after that
    #: prefix. ``statement`` alone stays complete and correct.
    fast: Select[Any] | None = None
    remainder: Select[Any] | None = None
    #: Builds PostgreSQL's ``fast``, a statement whose plan does not hang on the planner's
    #: estimates (``compile._metric_walk``); built only there, so SQLite does not pay for it.
    fast_postgres: Callable[[], Select[Any]] | None = None
    #: Builds PostgreSQL's ``statement`` for a plan without that split, for tables never
    #: analysed: the same rows, read by walking an index in sort order with a probe per run
    #: (``compile._start_time_walk``). With statistics the plain statement is better: a
    #: selective filter is read from its own index (5-9 ms against 150 ms for the walk).
    walk_postgres: Callable[[], Select[Any]] | None = None

    @property
    def statements(self) -> tuple[Select[Any], ...]:
        """What to run, in order, until ``max_results + 1`` rows are in hand."""
        if self.fast is not None and self.remainder is not None:
            return (self.fast, self.remainder)
        return (self.statement,)

    def statements_on(
        self, dialect: str, *, analysed: bool = True
    ) -> tuple[tuple[Select[Any], bool], ...]:
        """:attr:`statements` as ``dialect`` runs them, each with whether it reads an index
        already in sort order (PostgreSQL then prices sorting out: ``hints.presorted``).
        ``analysed``: whether PostgreSQL's planner has statistics; without them the plain
        statement gives way to ``walk_postgres``, whose plan does not hang on estimates."""
        if dialect != "postgresql":
            return tuple((statement, False) for statement in self.statements)
        if self.fast is not None and self.remainder is not None:
            fast = self.fast_postgres() if self.fast_postgres is not None else self.fast
            return ((fast, True), (self.remainder, False))
        if self.walk_postgres is not None and not analysed:
            return ((self.walk_postgres(), True),)
        return ((self.statement, False),)

    def page(self, rows: Sequence[Row[Any]]) -> tuple[list[Any], str | None]:
        """The ids of this page (at most ``max_results``) and the next page's token or None."""
        ids = [row[0] for row in rows[: self.max_results]]
        if len(rows) <= self.max_results:
            return ids, None
        last = rows[self.max_results - 1]
        # The id is the last sort key; it comes first in the row, so rotate it to the end.
        values = [*last[1:], last[0]]
        return ids, paging.encode({"after": values}, fingerprint=self.fingerprint)


def plan(
    query: Select[Any],
    *,
    keys: Sequence[SortKey],
    max_results: int,
    fingerprint: str,
    page_token: str | None,
) -> SearchPlan:
    """Finish ``query`` (id column and filters already in place) into an ordered, paged plan.

    ``keys`` must end with the unique id so the order is total; the id is selected once, as
    the first column, and the other keys follow it as ``sort_0``, ``sort_1`` ….
    """
    sorts = keys[:-1]  # the last key is the id, already the first column
    statement = query.add_columns(*(k.expr.label(f"sort_{i}") for i, k in enumerate(sorts)))
    if page_token:
        statement = statement.where(after(keys, read_cursor(page_token, fingerprint, keys)))
    statement = statement.order_by(*(k.ordered() for k in keys)).limit(max_results + 1)
    return SearchPlan(statement, max_results, fingerprint, tuple(keys))
