"""Read-side checks shared by the durability tests: what is in the database, counted exactly."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from clew.core import audit, schema
from clew.core.audit import AuditEvent
from clew.core.db import Database

M, LM = schema.metrics, schema.latest_metrics
EP, ET = schema.execution_params, schema.execution_tags

Point = tuple[int, int, float]  # (step, timestamp, value)


def metric_points(db: Database, run_id: str) -> dict[str, list[Point]]:
    out: dict[str, list[Point]] = {}
    with db.read() as conn:
        rows = conn.execute(
            select(M.c.key, M.c.step, M.c.timestamp, M.c.value).where(M.c.execution_id == run_id)
        )
        for key, step, ts, value in rows:
            out.setdefault(key, []).append((step, ts, value))
    return out


def latest_metrics(db: Database, run_id: str) -> dict[str, Point]:
    with db.read() as conn:
        rows = conn.execute(
            select(LM.c.key, LM.c.step, LM.c.timestamp, LM.c.value).where(
                LM.c.execution_id == run_id
            )
        )
        return {key: (step, ts, value) for key, step, ts, value in rows}


def assert_latest_matches_history(db: Database, run_id: str) -> dict[str, Point]:
    """``latest_metrics`` holds, for every key and only those, the history's max point."""
    history = metric_points(db, run_id)
    latest = latest_metrics(db, run_id)
    assert set(latest) == set(history)
    for key, points in history.items():
        assert latest[key] == max(points), key
    return latest


def params(db: Database, run_id: str) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(select(EP.c.key, EP.c.value).where(EP.c.execution_id == run_id))
        return {key: value for key, value in rows}


def tags(db: Database, run_id: str) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(select(ET.c.key, ET.c.value).where(ET.c.execution_id == run_id))
        return {key: value for key, value in rows}


def count_rows(db: Database, table: str) -> int:
    with db.read() as conn:
        t = schema.metadata.tables[table]
        return int(conn.execute(select(func.count()).select_from(t)).scalar_one())


def audit_events(db: Database) -> list[AuditEvent]:
    with db.read() as conn:
        return list(audit.iter_all(conn))


def assert_audit_ok(db: Database) -> audit.Verification:
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.ok, result
    return result


def audit_counts(events: list[AuditEvent]) -> Counter[tuple[str, str]]:
    """(action, resource_id) → number of events."""
    return Counter((e.action, e.resource_id) for e in events)


def assert_sqlite_intact(url: str) -> None:
    """``PRAGMA integrity_check`` and ``foreign_key_check`` on a raw connection (no Clew code)."""
    database = make_url(url).database
    assert database
    conn = sqlite3.connect(Path(database), timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
