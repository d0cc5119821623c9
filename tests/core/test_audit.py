from __future__ import annotations

import pytest
from sqlalchemy import text

from clew.core import audit
from clew.core.actor import Actor
from clew.core.db import Database


def _append(db: Database, n: int) -> None:
    with db.write() as conn:
        for i in range(n):
            audit.append(conn, Actor("alice"), "thing.update", "thing", str(i), {"i": i})


def _drop_guard(db: Database) -> None:
    """An attacker with database access can drop the append-only triggers; the chain still tells."""
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))


def test_chain_verifies(db: Database) -> None:
    _append(db, 5)
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.ok and result.checked == 5 and result.head_seq == 5


def test_audit_rows_refuse_update(db: Database) -> None:
    _append(db, 1)
    with pytest.raises(Exception, match="append-only"), db.write() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory'"))


@pytest.mark.parametrize(
    ("tamper", "broken", "reason"),
    [
        pytest.param(
            "UPDATE audit_events SET actor='mallory' WHERE seq=3", 3, "altered", id="edit"
        ),
        pytest.param("DELETE FROM audit_events WHERE seq=2", 2, "missing", id="delete"),
        pytest.param("DELETE FROM audit_events WHERE seq>=4", 4, "removed", id="truncate-tail"),
        pytest.param(
            "UPDATE audit_events SET summary='{\"i\": 9}' WHERE seq=4", 4, "altered", id="summary"
        ),
    ],
)
def test_tampering_names_first_broken_link(
    db: Database, tamper: str, broken: int, reason: str
) -> None:
    _append(db, 5)
    _drop_guard(db)
    with db.write() as conn:
        conn.execute(text(tamper))
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.broken_seq == broken
    assert reason in result.reason


def test_reordering_breaks_chain(db: Database) -> None:
    _append(db, 4)
    _drop_guard(db)
    with db.write() as conn:
        rows = conn.execute(text("SELECT seq, summary FROM audit_events WHERE seq IN (2,3)")).all()
        by_seq = {r.seq: r.summary for r in rows}
        conn.execute(text("UPDATE audit_events SET summary=:s WHERE seq=2"), {"s": by_seq[3]})
        conn.execute(text("UPDATE audit_events SET summary=:s WHERE seq=3"), {"s": by_seq[2]})
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.broken_seq == 2


def test_list_filters_and_pages(db: Database) -> None:
    _append(db, 5)
    with db.write() as conn:
        audit.append(conn, Actor("bob"), "other.create", "other", "x", {})
    with db.read() as conn:
        assert [e.actor for e in audit.list_events(conn, actor="bob")] == ["bob"]
        first = audit.list_events(conn, resource_type="thing", limit=2)
        assert [e.seq for e in first] == [5, 4]
        rest = audit.list_events(conn, resource_type="thing", after_seq=first[-1].seq, limit=10)
        assert [e.seq for e in rest] == [3, 2, 1]
