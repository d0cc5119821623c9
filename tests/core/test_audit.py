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
        head = conn.execute(text("SELECT hash FROM audit_head")).scalar_one()
    assert result.ok and result.checked == 5 and result.head_seq == 5
    assert result.head_hash == head


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
    with db.read() as conn:
        good = conn.execute(text(f"SELECT hash FROM audit_events WHERE seq={broken - 1}"))
        last_good = good.scalar_one()
    with db.write() as conn:
        conn.execute(text(tamper))
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.broken_seq == broken
    assert reason in result.reason
    assert result.head_hash == last_good  # the last link that held


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


def test_concurrent_appenders_make_one_unbroken_chain(db: Database) -> None:
    """Eight threads, each appending in its own transactions: the head lock orders them (on
    PostgreSQL inside the one statement that locks, inserts and moves the head)."""
    from concurrent.futures import ThreadPoolExecutor

    def writer(w: int) -> None:
        for i in range(25):
            with db.write() as conn:
                audit.append(conn, Actor(f"w{w}"), "thing.update", "thing", f"{w}-{i}", {"i": i})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    with db.read() as conn:
        result = audit.verify(conn)
        seqs = [e.seq for e in audit.iter_all(conn)]
    assert result.ok and result.checked == 200 and result.head_seq == 200
    assert seqs == list(range(1, 201))


def test_digest_is_the_documented_formula_on_every_backend(db: Database) -> None:
    """``hash = sha256(prev_hash || canonical_json(entry))``, recomputed here from the stored
    columns, also for summaries with quotes, non-ASCII text and a ``"seq"`` key of their own."""
    import hashlib

    with db.write() as conn:
        audit.append(conn, Actor("zoë"), "thing.update", "thing", 'a"b', {"seq": 0, "x": "é\n"})
        audit.append(conn, Actor("bob"), "thing.update", "thing", "2", {})
    with db.read() as conn:
        events = list(audit.iter_all(conn))
    prev = audit.GENESIS
    for e in events:
        entry = {"seq": e.seq, "time": e.time, "actor": e.actor, "actor_kind": e.actor_kind,
                 "action": e.action, "resource_type": e.resource_type,
                 "resource_id": e.resource_id, "summary": audit.canonical_json(e.summary).decode()}  # fmt: skip
        expected = hashlib.sha256(prev.encode() + audit.canonical_json(entry)).hexdigest()
        assert (e.prev_hash, e.hash) == (prev, expected)
        prev = e.hash
