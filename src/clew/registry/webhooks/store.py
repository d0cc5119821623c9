"""The SQL of webhooks, and nothing else: subscriptions, the delivery outbox and its log.

One instance wraps one connection inside the caller's transaction. Claiming is the one place
the two databases differ: PostgreSQL takes ``FOR UPDATE OF webhook_deliveries SKIP LOCKED`` so
that several dispatchers share the due rows without waiting on or duplicating each other; on
SQLite the clause compiles to nothing and the write lock (``BEGIN IMMEDIATE``) serializes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.engine import Dialect

from clew.core import schema
from clew.core.audit import canonical_json
from clew.core.errors import NotFound
from clew.core.prepared import Prepared, per_dialect
from clew.registry.webhooks.model import ClaimedDelivery, Delivery, DeliveryStatus, Webhook

W, D = schema.webhooks, schema.webhook_deliveries


@per_dialect
def _subscribers_sql(dialect: Dialect) -> Prepared:
    """Every registry write asks this inside its transaction: compiled once, not per call."""
    q = (
        select(W.c.id, W.c.events)
        .where(W.c.active.is_(True))
        .where(W.c.model_name.is_(None) | (W.c.model_name == bindparam("model_name")))
        .order_by(W.c.id)
    )
    return Prepared(q, dialect)


def _webhook(r: Any) -> Webhook:
    return Webhook(
        id=r.id,
        url=r.url,
        events=tuple(orjson.loads(r.events)),
        model_name=r.model_name,
        description=r.description,
        active=bool(r.active),
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _delivery(r: Any) -> Delivery:
    return Delivery(
        id=r.id,
        webhook_id=r.webhook_id,
        event_type=r.event_type,
        status=r.status,
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        last_status_code=r.last_status_code,
        last_error=r.last_error,
        created_at=r.created_at,
        delivered_at=r.delivered_at,
    )


_DELIVERY_COLUMNS = [c for c in D.c if c.name != "body"]


class WebhookStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ---- subscriptions ---------------------------------------------------------------------

    def insert_webhook(self, row: Mapping[str, Any]) -> None:
        values = dict(row)
        values["events"] = canonical_json(list(values["events"])).decode()
        self.conn.execute(W.insert().values(**values))

    def get_webhook(self, webhook_id: str) -> Webhook:
        row = self.conn.execute(select(W).where(W.c.id == webhook_id)).first()
        if row is None:
            raise NotFound(f"Webhook {webhook_id} does not exist")
        return _webhook(row)

    def list_webhooks(self, *, after: str | None, limit: int) -> list[Webhook]:
        q = select(W).order_by(W.c.id).limit(limit)
        if after is not None:
            q = q.where(W.c.id > after)
        return [_webhook(r) for r in self.conn.execute(q)]

    def update_webhook(self, webhook_id: str, values: Mapping[str, Any]) -> None:
        values = dict(values)
        if "events" in values:
            values["events"] = canonical_json(list(values["events"])).decode()
        self.conn.execute(update(W).where(W.c.id == webhook_id).values(**values))

    def delete_webhook(self, webhook_id: str) -> bool:
        # Explicit, not only ON DELETE CASCADE: the log goes with the subscription either way.
        self.conn.execute(delete(D).where(D.c.webhook_id == webhook_id))
        return self.conn.execute(delete(W).where(W.c.id == webhook_id)).rowcount > 0

    def subscribers(self, event_type: str, model_name: str | None) -> list[str]:
        """Ids of active webhooks subscribed to ``event_type`` whose model filter admits
        ``model_name``. The event list is checked here rather than in SQL: it is JSON text, and
        the active subscriptions are few."""
        rows = _subscribers_sql(self.conn.dialect)(self.conn, {"model_name": model_name})
        return [r.id for r in rows if event_type in orjson.loads(r.events)]

    # ---- the outbox --------------------------------------------------------------------------

    def insert_deliveries(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.conn.execute(D.insert(), [dict(r) for r in rows])

    def has_due(self, now: int) -> bool:
        """A cheap look before claiming, so an idle dispatcher never takes SQLite's write lock."""
        q = (
            select(D.c.id)
            .join(W, W.c.id == D.c.webhook_id)
            .where(D.c.next_attempt_at <= now, W.c.active.is_(True))
            .limit(1)
        )
        return self.conn.execute(q).first() is not None

    def claim_due(self, now: int, lease_until: int, limit: int) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries of active webhooks: count the attempt and move
        ``next_attempt_at`` to ``lease_until``, so no one else takes them until the lease ends
        (then a crashed dispatcher's deliveries become due again)."""
        due = (
            select(D.c.id)
            .join(W, W.c.id == D.c.webhook_id)
            .where(D.c.next_attempt_at <= now, W.c.active.is_(True))
            .order_by(D.c.next_attempt_at, D.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=D)
        )
        ids = list(self.conn.execute(due).scalars())
        if not ids:
            return []
        self.conn.execute(
            update(D)
            .where(D.c.id.in_(ids))
            .values(attempts=D.c.attempts + 1, next_attempt_at=lease_until)
        )
        return self.claimed(ids)

    def claimed(self, ids: Iterable[str]) -> list[ClaimedDelivery]:
        q = (
            select(D, W.c.url, W.c.secret)
            .join(W, W.c.id == D.c.webhook_id)
            .where(D.c.id.in_(list(ids)))
            .order_by(D.c.id)
        )
        return [
            ClaimedDelivery(
                id=r.id,
                webhook_id=r.webhook_id,
                event_type=r.event_type,
                url=r.url,
                secret=r.secret,
                body=r.body.encode(),
                attempt=r.attempts,
                max_attempts=r.max_attempts,
            )
            for r in self.conn.execute(q)
        ]

    def record(
        self,
        claim: ClaimedDelivery,
        *,
        status: DeliveryStatus,
        status_code: int | None,
        error: str | None,
        next_attempt_at: int | None,
        now: int,
    ) -> bool:
        """Write one attempt's outcome, if this claim still holds the row (same attempt, still
        pending). False means another dispatcher took over after the lease ran out."""
        result = self.conn.execute(
            update(D)
            .where(
                D.c.id == claim.id,
                D.c.attempts == claim.attempt,
                D.c.status == DeliveryStatus.PENDING.value,
            )
            .values(
                status=status.value,
                last_status_code=status_code,
                last_error=error,
                next_attempt_at=next_attempt_at,
                delivered_at=now if status is DeliveryStatus.DELIVERED else None,
            )
        )
        return result.rowcount > 0

    # ---- the log -----------------------------------------------------------------------------

    def get_delivery(self, delivery_id: str) -> Delivery:
        row = self.conn.execute(select(*_DELIVERY_COLUMNS).where(D.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"Delivery {delivery_id} does not exist")
        return _delivery(row)

    def list_deliveries(
        self, webhook_id: str, *, status: str | None, before: str | None, limit: int
    ) -> list[Delivery]:
        """Newest first; ``before`` is the last id of the previous page."""
        q = (
            select(*_DELIVERY_COLUMNS)
            .where(D.c.webhook_id == webhook_id)
            .order_by(D.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            q = q.where(D.c.status == status)
        if before is not None:
            q = q.where(D.c.id < before)
        return [_delivery(r) for r in self.conn.execute(q)]

    def delivery_body(self, delivery_id: str) -> bytes:
        row = self.conn.execute(select(D.c.body).where(D.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"Delivery {delivery_id} does not exist")
        return str(row.body).encode()
