"""Hot-path statements compiled once to the driver's own SQL and run with ``exec_driver_sql``.

A compiled SQLAlchemy statement still costs ~30-40 µs a call before the driver sees it (the
execution context, per-parameter processing, result set-up); a ~0.5 ms ``log_metric`` runs
seven statements. ``Prepared`` compiles a statement once for a dialect and binds its
parameters straight into the driver's placeholders (``?`` for SQLite, ``%(name)s`` for
psycopg), so SQLAlchemy's connection, transaction and error wrapping stay and only the
per-call compilation bookkeeping goes.

What is given up: type processors. Values go to the driver as they are and rows come back as
the driver returns them (SQLite gives booleans back as 0/1), so use it only for statements
whose parameters and columns are plain strings and numbers, and without expanding ``IN``
lists (their SQL changes with the list's length).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


class Prepared:
    """One statement in one dialect's driver SQL."""

    __slots__ = ("defaults", "names", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        #: Values the statement binds itself (``id == 1`` compiles to a parameter ``id_1``).
        self.defaults = {k: v for k, v in compiled.params.items() if v is not None}
        #: Parameter names in placeholder order for positional drivers; ``None`` for named ones.
        self.names: tuple[str, ...] | None = (
            tuple(getattr(compiled, "positiontup", None) or ()) if dialect.positional else None
        )

    def __call__(
        self, conn: Connection, params: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        merged = {**self.defaults, **params} if params else self.defaults
        if not merged:
            return conn.exec_driver_sql(self.sql)
        if self.names is None:
            return conn.exec_driver_sql(self.sql, merged)
        return conn.exec_driver_sql(self.sql, tuple(merged[name] for name in self.names))

    def many(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """``executemany`` with rows already in placeholder order (``names``), for a positional
        driver: no mapping is built per row."""
        if self.names is None:
            raise TypeError("many() takes rows for a positional driver; this one binds by name")
        conn.exec_driver_sql(self.sql, list(rows))


class PreparedIn:
    """A statement whose one parameter is an expanding ``IN`` list, compiled once per length.

    SQLAlchemy re-renders an expanding ``IN`` on every execution (a search page of 100
    versions paid that three times). On a positional driver (SQLite) this keeps the SQL for
    each list length it has seen; on others it runs the statement the ordinary way. Only for
    statements with no parameter besides the list (checked when compiled).
    """

    __slots__ = ("_dialect", "_name", "_sql", "_statement")

    def __init__(self, statement: Any, dialect: Dialect, name: str = "ids") -> None:
        self._statement = statement
        self._dialect = dialect
        self._name = name
        self._sql: dict[int, str | None] = {}

    def __call__(self, conn: Connection, values: Sequence[Any]) -> CursorResult[Any]:
        sql = self._sql_for(len(values)) if self._dialect.positional else None
        if sql is None:
            return conn.execute(self._statement, {self._name: list(values)})
        return conn.exec_driver_sql(sql, tuple(values))

    def _sql_for(self, n: int) -> str | None:
        if n not in self._sql:
            sample = self._statement.params({self._name: list(range(n))})
            compiled = sample.compile(
                dialect=self._dialect, compile_kwargs={"render_postcompile": True}
            )
            names = getattr(compiled, "positiontup", None) or ()
            self._sql[n] = str(compiled) if n and len(names) == n else None
        return self._sql[n]


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
