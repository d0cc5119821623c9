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

from collections.abc import Callable, Mapping
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
