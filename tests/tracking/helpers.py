"""Small readers used by the tracking tests to check what was (not) written."""

from __future__ import annotations

from sqlalchemy import func, select

from clew.core import schema
from clew.core.db import Database


def count(db: Database, table_name: str) -> int:
    table = schema.metadata.tables[table_name]
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit_actions(db: Database) -> list[str]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(schema.audit_events.c.action).order_by(schema.audit_events.c.seq)
            ).scalars()
        )
