"""Engines and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys on, and every write transaction
starts with ``BEGIN IMMEDIATE``: the write lock is taken up front, so a reader never has to
upgrade to a writer mid-transaction (the case where SQLite gives up at once with "database is
locked" whatever the busy timeout). PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from clew.core.errors import InvalidInput, TemporarilyUnavailable
from clew.core.settings import Settings

_WRITE = "clew_write"
_BEGIN_WRITE = "BEGIN IMMEDIATE"  # take the write lock up front: no deadlock on upgrade
_BEGIN_READ = "BEGIN DEFERRED"


def _normalize_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    synchronous = settings.sqlite_synchronous.upper()
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise InvalidInput(f"CLEW_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN, instead of pysqlite's implicit one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        _enable_wal(cur, settings.sqlite_busy_timeout_ms / 1000)
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA case_sensitive_like=ON")
        # Search over 100k runs builds large IN lists and sorts: keep them in memory.
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: a statement through SQLAlchemy (execution context, events,
        # result object) cost more than SQLite's own BEGIN, once per transaction.
        # A busy database still surfaces as SQLAlchemy's OperationalError, which ``_connect``
        # turns into TemporarilyUnavailable.
        statement = _BEGIN_WRITE if conn.get_execution_options().get(_WRITE) else _BEGIN_READ
        try:
            conn.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.OperationalError as exc:
            raise OperationalError(statement, None, exc) from exc


def _enable_wal(cur: Any, timeout_s: float) -> None:
    """Switch the file to WAL (a persistent setting), waiting out a concurrent opener.

    Changing the journal mode needs an exclusive lock and SQLite does not always run the busy
    handler for it: two processes opening a new database at once would see "database is
    locked" here. Once the file is in WAL mode the check below is all later connections do.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


# psycopg prepares a statement on its fifth run, and PostgreSQL then keeps a generic plan for
# that connection until something invalidates it (DDL, ANALYZE). A plan made while a table was
# small outlives its growth: after filling 3,000 runs through one server, its reads of a search
# page (``execution_id = ANY(...)``) still scanned whole tables, 273 ms a search against 60 ms on
# a fresh server over the same data. Custom plans cost a few microseconds of planning per
# statement; parsing is still saved by the prepared statement.
_CUSTOM_PLANS = "-c plan_cache_mode=force_custom_plan"


class Database:
    """An engine plus the two kinds of transaction services use: ``read()`` and ``write()``."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.url = _normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": self.settings.sqlite_busy_timeout_ms / 1000,
            }
        elif self.dialect == "postgresql":
            # No pre-ping: it cost a round trip on every checkout. A pooled connection the
            # server dropped fails its first statement instead, and ``_connect`` makes that a
            # retryable TemporarilyUnavailable (SQLAlchemy has already discarded the pool's
            # older connections, so the rerun connects afresh).
            kwargs.update(
                pool_size=10,
                max_overflow=20,
                connect_args={"options": _CUSTOM_PLANS},
            )
        else:
            raise InvalidInput(f"Unsupported database {self.dialect!r}: use sqlite or postgresql")
        self.engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, self.settings)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commits when the block ends, rolls back on any exception.

        A connection lost before the commit was sent is retryable (nothing was written); one
        lost during the commit is not, since the write may have landed.
        """
        with self._connect(write=True) as conn:
            transaction = conn.begin()
            try:
                yield conn
            except BaseException:
                transaction.rollback()
                raise
            if not transaction.is_active:  # the block rolled back itself
                return
            try:
                transaction.commit()
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                raise TemporarilyUnavailable(
                    "The database connection was lost during the commit; the write may or may "
                    "not have been applied",
                    reason="disconnected_at_commit",
                    retryable=False,
                ) from exc

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A read-only block.

        On SQLite it is one snapshot (a deferred transaction). On PostgreSQL each statement sees
        what was committed when it started, as in a READ COMMITTED transaction, but the block
        runs without one: ``BEGIN`` and ``COMMIT`` were two of a read's five or six round trips
        and bought no consistency at that isolation level. ``snapshot=True`` asks for one
        snapshot on PostgreSQL too (a REPEATABLE READ transaction), and is needed to stream
        rows (``yield_per``: a server-side cursor lives in a transaction).
        """
        with self._connect(write=False, snapshot=snapshot) as conn, conn.begin():
            yield conn

    @contextmanager
    def _connect(self, *, write: bool, snapshot: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if write:
                    conn.execution_options(**{_WRITE: True})
                elif not self.is_sqlite:
                    level = "REPEATABLE READ" if snapshot else "AUTOCOMMIT"
                    conn.execution_options(isolation_level=level)
                yield conn
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TemporarilyUnavailable(
                    "The database connection was lost; retry the request",
                    reason="disconnected",
                    retryable=True,
                ) from exc
            if not isinstance(exc, OperationalError):
                raise
            kind = _transient_kind(exc)
            if kind is not None:
                raise TemporarilyUnavailable(
                    "The database is busy; retry the request",
                    reason=kind,
                    retryable=kind in _RETRY_INSIDE,
                ) from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()


_TRANSIENT = {
    "deadlock detected": "deadlock",
    "could not serialize": "serialization_failure",
    "database is locked": "locked",
    "database is busy": "locked",
}
# Conflicts PostgreSQL resolves by aborting one transaction, and a connection lost before the
# commit: re-running it is the cure. A SQLite lock that outlasted the busy timeout is not
# retried here; the client sees 503 and backs off.
_RETRY_INSIDE = {"deadlock", "serialization_failure"}
_ATTEMPTS = 4

P = ParamSpec("P")
R = TypeVar("R")


def _transient_kind(exc: OperationalError) -> str | None:
    text = str(exc.orig).lower()
    return next((kind for needle, kind in _TRANSIENT.items() if needle in text), None)


def retry_conflicts(method: Callable[P, R]) -> Callable[P, R]:
    """Re-run a use case whose transaction lost a deadlock or serialization conflict, or whose
    connection was found dropped before its commit.

    Only for methods whose every side effect is inside one ``Database.write()`` block, so a
    rolled-back attempt leaves nothing behind and the rerun starts clean.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(_ATTEMPTS):
            try:
                return method(*args, **kwargs)
            except TemporarilyUnavailable as exc:
                if not exc.details.get("retryable") or attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    return wrapper


def wait_for_database(db: Database, timeout_s: float = 10.0) -> None:
    """Block until the database answers (used when a server starts next to a booting Postgres)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with db.read() as conn:
                conn.exec_driver_sql("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
