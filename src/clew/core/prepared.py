"""Hot-path statements compiled once to the driver's own SQL and run with ``exec_driver_sql``.

A compiled SQLAlchemy statement still costs ~30-40 µs a call before the driver sees it (the
execution context, per-parameter processing, result set-up); a ~0.5 ms ``log_metric`` runs
seven statements. ``Prepared`` compiles a statement once for a dialect and binds its
parameters straight into the driver's placeholders (``?`` for SQLite, ``%(name)s`` for
psycopg), so SQLAlchemy's connection, transaction and error wrapping stay and only the
per-call compilation bookkeeping goes.

On SQLite the statement goes one step further, straight to the ``sqlite3`` cursor of the
connection's open transaction: ``exec_driver_sql`` itself cost ~9 µs a statement against ~1 µs
for the driver's own call, and a version's creation runs ten. Rows come back as named tuples
(``row.id`` and ``row[0]`` both work) in a ``DriverRows`` with the result methods the callers
use, and a driver error is raised as SQLAlchemy's wrapped exception, exactly as through
``exec_driver_sql``. (PostgreSQL keeps ``exec_driver_sql``: a network round trip dwarfs the
saving, and SQLAlchemy's disconnect handling matters there.)

What is given up: type processors. Values go to the driver as they are and rows come back as
the driver returns them (SQLite gives booleans back as 0/1), so use it only for statements
whose parameters and columns are plain strings and numbers, and without expanding ``IN``
lists (their SQL changes with the list's length).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Connection, Select, any_, bindparam, func, select, true
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.sql import ClauseElement, operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.visitors import iterate, replacement_traverse

#: What a prepared statement returns: ``DriverRows`` on SQLite, SQLAlchemy's result elsewhere.
Rows = Any


class DriverRows:
    """The rows of one ``sqlite3`` cursor, with the SQLAlchemy result methods hot paths use."""

    __slots__ = ("_cursor", "_make")

    def __init__(self, cursor: sqlite3.Cursor, make: Callable[[Any], Any]) -> None:
        self._cursor = cursor
        self._make = make

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def __iter__(self) -> Iterator[Any]:
        return map(self._make, self._cursor.fetchall())

    def tuples(self) -> list[tuple[Any, ...]]:
        """The rows as plain tuples, for callers that unpack them (thousands of rows a page:
        building a named tuple for each cost a fifth of a run search)."""
        return self._cursor.fetchall()

    def all(self) -> list[Any]:
        return list(self)

    def first(self) -> Any:
        row = self._cursor.fetchone()
        self._cursor.close()
        return None if row is None else self._make(row)

    def one(self) -> Any:
        rows = self._cursor.fetchmany(2)
        if len(rows) != 1:
            raise sa_exc.NoResultFound() if not rows else sa_exc.MultipleResultsFound()
        return self._make(rows[0])

    def one_or_none(self) -> Any:
        rows = self._cursor.fetchmany(2)
        if len(rows) > 1:
            raise sa_exc.MultipleResultsFound()
        return self._make(rows[0]) if rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]


def plain(rows: Rows) -> Iterable[Any]:
    """The plain tuples of a driver-SQL read, for callers that unpack them.

    On PostgreSQL the rows come straight from psycopg's ``fetchall``: driver SQL has no type
    processors, and SQLAlchemy's row-by-row fetch cost a sixth of a search page's time (2,300
    rows for 100 runs).
    """
    if isinstance(rows, DriverRows):
        return rows.tuples()
    if isinstance(rows, CursorResult) and rows.returns_rows:
        fetched = list(rows.cursor.fetchall())
        rows.close()
        return fetched
    return rows


def _sqlite_execute(conn: Connection, sql: str, args: Any, *, many: bool = False) -> Any:
    """Run on the transaction's own ``sqlite3`` connection; errors wrapped as SQLAlchemy's."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
    except sqlite3.Error as error:
        raise sa_exc.DBAPIError.instance(
            sql, args, error, sqlite3.Error, dialect=conn.dialect, ismulti=many
        ) from error
    return cursor


#: ``namedtuple`` with field names known only at run time (mypy wants them literal).
_named_tuple: Callable[..., Any] = namedtuple


def _as_is(row: Any) -> Any:
    return row


class _RowMaker:
    """Builds a named tuple class from the first cursor's column names, then reuses it."""

    __slots__ = ("_make",)

    def __init__(self) -> None:
        self._make: Callable[[Any], Any] | None = None

    def rows(self, cursor: sqlite3.Cursor) -> DriverRows:
        make = self._make
        if make is None:
            names = [d[0] for d in cursor.description or ()]
            make = _as_is
            if names:
                row_type = _named_tuple("Row", names, rename=True)
                make = row_type._make
            self._make = make
        return DriverRows(cursor, make)


class Prepared:
    """One statement in one dialect's driver SQL."""

    __slots__ = ("_rows", "_sqlite", "defaults", "names", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        #: Values the statement binds itself (``id == 1`` compiles to a parameter ``id_1``).
        self.defaults = {k: v for k, v in compiled.params.items() if v is not None}
        #: Parameter names in placeholder order for positional drivers; ``None`` for named ones.
        self.names: tuple[str, ...] | None = (
            tuple(getattr(compiled, "positiontup", None) or ()) if dialect.positional else None
        )
        self._sqlite = dialect.name == "sqlite"
        self._rows = _RowMaker()

    def __call__(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Rows:
        merged = {**self.defaults, **params} if params else self.defaults
        if self.names is None:
            return (
                conn.exec_driver_sql(self.sql, merged) if merged else conn.exec_driver_sql(self.sql)
            )
        args = tuple(merged[name] for name in self.names)
        if self._sqlite:
            return self._rows.rows(_sqlite_execute(conn, self.sql, args))
        return conn.exec_driver_sql(self.sql, args)

    def many(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """``executemany`` with rows already in placeholder order (``names``), for a positional
        driver: no mapping is built per row."""
        if self.names is None:
            raise TypeError("many() takes rows for a positional driver; this one binds by name")
        if self._sqlite:
            _sqlite_execute(conn, self.sql, list(rows), many=True)
        else:
            conn.exec_driver_sql(self.sql, list(rows))


class PreparedIn:
    """A statement with one expanding ``IN`` list, compiled once per list length.

    SQLAlchemy re-renders an expanding ``IN`` on every execution (a search page of 100
    versions paid that three times). On a positional driver (SQLite) this keeps the SQL for
    each list length it has seen. On PostgreSQL the list becomes one array parameter,
    ``col = ANY(%(ids)s)``: one SQL text for every length, so psycopg prepares it once, where
    100 placeholders made a new statement per page size and cost ~2 ms a read for a page of
    100 runs. Besides the list, the statement may only carry values it binds itself
    (``type == "run"``): the caller passes the list and nothing else.

    ``per_item=True`` (PostgreSQL; for a statement without ORDER BY): one index probe per item
    instead (:func:`_in_as_probes`), for a list of keys that each match a few rows of a large
    table. The planner prices ``= ANY`` of 100 items on a never-analysed table at half the table
    and scans it whole; read per item, it can only take the index.
    """

    __slots__ = ("_any", "_dialect", "_name", "_per_item", "_rows", "_sql", "_statement")

    def __init__(
        self, statement: Any, dialect: Dialect, name: str = "ids", *, per_item: bool = False
    ) -> None:
        self._statement = statement
        self._dialect = dialect
        self._name = name
        #: Per length: the SQL and, per placeholder, the list index or the bound value.
        self._sql: dict[int, tuple[str, tuple[tuple[bool, Any], ...]] | None] = {}
        self._rows = _RowMaker()
        self._any: Prepared | None = None
        self._per_item = per_item and dialect.name == "postgresql"
        if dialect.name == "postgresql":
            swap = _in_as_probes if per_item else _in_as_any
            self._any = Prepared(swap(statement, name), dialect)

    def __call__(self, conn: Connection, values: Sequence[Any]) -> Rows:
        if self._any is not None:
            # Per item, a repeated item would repeat its rows, where IN reads them once.
            items = list(dict.fromkeys(values)) if self._per_item else list(values)
            return self._any(conn, {self._name: items})
        found = self._sql_for(len(values)) if self._dialect.positional else None
        if found is None:
            return conn.execute(self._statement, {self._name: list(values)})
        sql, slots = found
        args = tuple(values[v] if is_item else v for is_item, v in slots)
        if self._dialect.name == "sqlite":
            return self._rows.rows(_sqlite_execute(conn, sql, args))
        return conn.exec_driver_sql(sql, args)

    def _sql_for(self, n: int) -> tuple[str, tuple[tuple[bool, Any], ...]] | None:
        if n not in self._sql:
            self._sql[n] = self._compile(n) if n else None
        return self._sql[n]

    def _compile(self, n: int) -> tuple[str, tuple[tuple[bool, Any], ...]] | None:
        sample = self._statement.params({self._name: list(range(n))})
        compiled = sample.compile(
            dialect=self._dialect, compile_kwargs={"render_postcompile": True}
        )
        bound = sample.compile(dialect=self._dialect).params  # the statement's own values
        items = {f"{self._name}_{i + 1}": i for i in range(n)}  # how the list's items are named
        slots: list[tuple[bool, Any]] = []
        for name in getattr(compiled, "positiontup", None) or ():
            if name in items:
                slots.append((True, items[name]))
            elif name != self._name and bound.get(name) is not None:
                slots.append((False, bound[name]))
            else:
                return None  # a parameter the caller would have to give: not for this class
        if sum(is_item for is_item, _ in slots) != n:
            return None
        return str(compiled), tuple(slots)


def _is_in_list(element: Any, name: str) -> bool:
    """Whether ``element`` is ``col IN (:name)``."""
    return (
        isinstance(element, BinaryExpression)
        and element.operator is operators.in_op
        and isinstance(element.right, BindParameter)
        and element.right.key == name
    )


def _in_as_any(statement: ClauseElement, name: str) -> ClauseElement:
    """``statement`` with its ``col IN (:name)`` list written as ``col = ANY(:name)``."""

    def swap(element: Any) -> Any:
        if _is_in_list(element, name):
            return element.left == any_(bindparam(name, type_=ARRAY(element.left.type)))
        return None

    swapped: ClauseElement = replacement_traverse(statement, {}, swap)  # type: ignore[call-overload]
    if swapped.compare(statement):
        raise ValueError(f"The statement has no IN list bound to {name!r}")
    return swapped


def _in_as_probes(statement: Select[Any], name: str) -> Select[Any]:
    """``statement`` run once per item of its ``col IN (:name)`` list (PostgreSQL).

    ``SELECT item.* FROM unnest(:name) AS probe(id) CROSS JOIN LATERAL (<statement with
    col = probe.id> OFFSET 0) AS item``: the OFFSET keeps the planner from flattening the
    subquery into a join it would plan on the same estimates, so each item is a lookup by
    ``col`` whatever the table's statistics. Rows come item by item; the statement must have
    no ORDER BY, which would only order each item's rows.
    """
    if statement._order_by_clauses:
        raise ValueError("Per-item reads keep no order across items: drop the ORDER BY")
    lists: list[Any] = [e for e in iterate(statement) if _is_in_list(e, name)]
    if not lists:
        raise ValueError(f"The statement has no IN list bound to {name!r}")
    column = lists[0].left
    probe = func.unnest(bindparam(name, type_=ARRAY(column.type))).table_valued("id")
    probe = probe.render_derived(name="probe")

    def swap(element: Any) -> Any:
        return element.left == probe.c.id if _is_in_list(element, name) else None

    inner: Select[Any] = replacement_traverse(statement, {}, swap)  # type: ignore[call-overload]
    item = inner.offset(0).lateral("item")
    return select(*item.c).select_from(probe).join(item, true())


T = TypeVar("T")


def per_dialect(build: Callable[[Dialect], T]) -> Callable[[Dialect], T]:
    """Cache ``build(dialect)`` per kind of dialect (name and driver), not per engine: every
    SQLite engine compiles the same SQL, and tests open thousands of engines."""
    built: dict[tuple[str, str], T] = {}

    def get(dialect: Dialect) -> T:
        key = (dialect.name, dialect.driver)
        found = built.get(key)
        if found is None:
            found = built[key] = build(dialect)
        return found

    return get
