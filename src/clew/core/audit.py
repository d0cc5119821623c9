"""The tamper-evident audit log: one hash-chained event per change, in the change's transaction.

``hash = sha256(prev_hash || canonical_json(entry))`` where the entry is every column but the
hash itself. Editing, deleting or reordering any event breaks the chain from that point, and
``verify`` names the first broken link. The head row (``audit_head``) is locked by each append,
which orders concurrent writers on PostgreSQL (``FOR UPDATE``, in the one statement that also
inserts the event and moves the head); SQLite's write lock already orders them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.engine import Dialect

from clew.core import schema
from clew.core.actor import Actor
from clew.core.audit_model import AuditEvent, Verification
from clew.core.ids import now_ms
from clew.core.prepared import Prepared, per_dialect

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same entry always hashes the same."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_json(dict(entry))).hexdigest()


def _entry(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "time": row["time"],
        "actor": row["actor"],
        "actor_kind": row["actor_kind"],
        "action": row["action"],
        "resource_type": row["resource_type"],
        "resource_id": row["resource_id"],
        "summary": row["summary"],
    }


def append(
    conn: Connection,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str,
    summary: Mapping[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's transaction and return its sequence number."""
    row = {
        "seq": 0,  # the head's next number, read under its lock
        "time": now_ms(),
        "actor": actor.name,
        "actor_kind": actor.kind,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "summary": canonical_json(dict(summary or {})).decode(),
    }
    if conn.dialect.name == "postgresql":
        return _append_in_one_statement(conn, row)
    sql = _statements(conn.dialect)
    head = sql.head(conn).one()
    seq = row["seq"] = head.seq + 1
    digest = entry_hash(head.hash, _entry(row))
    sql.insert(conn, {**row, "prev_hash": head.hash, "hash": digest})
    sql.move_head(conn, {"new_seq": seq, "new_hash": digest})
    return seq


def _append_in_one_statement(conn: Connection, row: dict[str, Any]) -> int:
    """PostgreSQL: lock the head, insert the event and move the head in one round trip.

    The hash is computed by the database from the head it locked: the entry's canonical JSON
    is sent as the bytes before and after its ``seq`` value (the one number the client does
    not know yet), so the digest is byte for byte what :func:`_entry_hash` computes and
    :func:`verify` checks. Three statements were three round trips per change.
    """
    # ``"seq":0`` sits between ``resource_type`` and ``summary`` in the sorted entry; as JSON
    # strings escape their quotes, ``,"seq":0,`` can appear nowhere else.
    before, after = canonical_json(_entry(row)).split(b',"seq":0,')
    params = {k: v for k, v in row.items() if k != "seq"}
    params.update(before=before + b',"seq":', after=b"," + after)
    return int(conn.exec_driver_sql(_APPEND_PG, params).scalar_one())


_APPEND_PG = """
WITH head AS (
    SELECT seq + 1 AS seq, hash AS prev_hash FROM audit_head WHERE id = 1 FOR UPDATE
), event AS (
    INSERT INTO audit_events
        (seq, time, actor, actor_kind, action, resource_type, resource_id, summary,
         prev_hash, hash)
    SELECT seq, %(time)s, %(actor)s, %(actor_kind)s, %(action)s, %(resource_type)s,
           %(resource_id)s, %(summary)s, prev_hash,
           encode(sha256(convert_to(prev_hash, 'UTF8') || %(before)s::bytea
                         || convert_to(seq::text, 'UTF8') || %(after)s::bytea), 'hex')
    FROM head
    RETURNING seq, hash
)
UPDATE audit_head SET seq = event.seq, hash = event.hash
FROM event WHERE audit_head.id = 1
RETURNING event.seq
"""


@dataclass(frozen=True)
class _Statements:
    head: Prepared
    insert: Prepared
    move_head: Prepared


@per_dialect
def _statements(dialect: Dialect) -> _Statements:
    """Compiled once per dialect: every change on SQLite runs these three (PostgreSQL runs
    ``_APPEND_PG``)."""
    head = select(schema.audit_head.c.seq, schema.audit_head.c.hash).where(
        schema.audit_head.c.id == 1
    )
    columns = [c.name for c in schema.audit_events.columns]
    return _Statements(
        head=Prepared(head, dialect),
        insert=Prepared(
            schema.audit_events.insert().values({c: bindparam(c) for c in columns}), dialect
        ),
        move_head=Prepared(
            update(schema.audit_head)
            .where(schema.audit_head.c.id == 1)
            .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")),
            dialect,
        ),
    )


def verify(conn: Connection, batch: int = 5000) -> Verification:
    """Recompute the chain from the first event; report the first link that does not hold."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0

    def broken(seq: int, reason: str) -> Verification:
        return Verification(False, checked, last_seq, seq, reason, prev_hash)

    while True:
        rows = (
            conn.execute(
                select(schema.audit_events)
                .where(schema.audit_events.c.seq >= expected_seq)
                .order_by(schema.audit_events.c.seq)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if row["seq"] != expected_seq:
                return broken(expected_seq, "event missing")
            if row["prev_hash"] != prev_hash:
                return broken(row["seq"], "prev_hash does not match previous event")
            if entry_hash(prev_hash, _entry(row)) != row["hash"]:
                return broken(row["seq"], "content was altered")
            prev_hash, last_seq = row["hash"], row["seq"]
            expected_seq += 1
            checked += 1
    head = conn.execute(select(schema.audit_head).where(schema.audit_head.c.id == 1)).one()
    if head.seq != last_seq or head.hash != prev_hash:
        return broken(last_seq + 1, "events after the last one were removed")
    return Verification(True, checked, last_seq, head_hash=prev_hash)


def _to_event(row: Mapping[Any, Any]) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        time=row["time"],
        actor=row["actor"],
        actor_kind=row["actor_kind"],
        action=row["action"],
        resource_type=row["resource_type"],
        resource_id=row["resource_id"],
        summary=orjson.loads(row["summary"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def list_events(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    after_seq: int | None = None,
    limit: int = 100,
    newest_first: bool = True,
) -> list[AuditEvent]:
    """Filtered events; page with ``after_seq`` (a cursor, never an offset)."""
    t = schema.audit_events
    q = select(t)
    if actor is not None:
        q = q.where(t.c.actor == actor)
    if action is not None:
        q = q.where(t.c.action == action)
    if resource_type is not None:
        q = q.where(t.c.resource_type == resource_type)
    if resource_id is not None:
        q = q.where(t.c.resource_id == resource_id)
    if since_ms is not None:
        q = q.where(t.c.time >= since_ms)
    if until_ms is not None:
        q = q.where(t.c.time < until_ms)
    if after_seq is not None:
        q = q.where(t.c.seq < after_seq if newest_first else t.c.seq > after_seq)
    q = q.order_by(t.c.seq.desc() if newest_first else t.c.seq.asc()).limit(limit)
    return [_to_event(row) for row in conn.execute(q).mappings()]


def iter_all(conn: Connection) -> Iterator[AuditEvent]:
    for row in conn.execute(
        select(schema.audit_events).order_by(schema.audit_events.c.seq)
    ).mappings():
        yield _to_event(row)
