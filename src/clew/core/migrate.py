"""Apply Alembic migrations on start (and for ``clew db upgrade``), once, whoever starts first.

Several servers or processes may start against an empty database at the same moment. On
PostgreSQL an advisory lock makes one of them migrate while the others wait; on SQLite a
``BEGIN IMMEDIATE`` around the check-and-upgrade does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from clew.core.db import Database

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x636C6577  # "clew"


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> bool:
    """Bring the schema to the newest revision. Returns True if anything was applied."""
    head = head_revision()
    with db.engine.connect() as conn:
        if current_revision(conn) == head:
            return False
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                return _upgrade_locked(conn, head)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        conn.execution_options(clew_write=True)
        return _upgrade_locked(conn, head)


def _upgrade_locked(conn: Connection, head: str) -> bool:
    with conn.begin():
        if current_revision(conn) == head:
            return False
        command.upgrade(_config(conn), "head")
    return True
