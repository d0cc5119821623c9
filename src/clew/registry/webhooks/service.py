"""Webhook use cases, and ``enqueue``: the one way registry changes reach the outbox.

Each use case: authorize → validate → write → audit, in one transaction. Managing webhooks and
reading them both need ``MANAGE`` on ``webhook``: a subscription's URL often carries a token
(Slack, Teams), and the subscription itself exports registry events outside Clew.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from clew.core import audit, netguard
from clew.core.actor import Actor
from clew.core.audit import canonical_json
from clew.core.authz import AllowAll, Authorizer, Permission, Resource
from clew.core.db import Database, retry_conflicts
from clew.core.errors import InvalidInput, LimitExceeded
from clew.core.ids import now_ms
from clew.core.settings import Settings
from clew.registry.webhooks.dispatcher import Dispatcher
from clew.registry.webhooks.model import (
    EVENT_TYPES,
    MAX_DESCRIPTION,
    MAX_MODEL_NAME,
    MAX_PAGE,
    PING,
    CreatedWebhook,
    Delivery,
    DeliveryStatus,
    Webhook,
    new_id,
)
from clew.registry.webhooks.signing import new_secret
from clew.registry.webhooks.store import WebhookStore


def enqueue(conn: Connection, event_type: str, payload: Mapping[str, Any]) -> list[str]:
    """Queue a registry event for every active webhook subscribed to it. Call it inside the
    write transaction of the change it reports, after the change itself::

        with self.db.write() as conn:
            ...  # insert the model version
            audit.append(conn, actor, "model_version.create", ...)
            webhooks.enqueue(conn, "model_version.created", {"name": name, "version": 3, ...})

    The delivery rows commit or roll back with the change: a crash loses no event, and a
    change that rolls back sends none. Nothing leaves the process here; the dispatcher posts
    later (``clew server``'s thread, or ``WebhookService.dispatch_pending``).

    Args:
        conn: the caller's open write connection.
        event_type: one of ``EVENT_TYPES``.
        payload: JSON-serialisable; ``payload["name"]`` must be the registered model's name
            (subscriptions filtered by model match on it). It becomes the ``data`` of the body
            ``{"id", "event", "webhook_id", "created_at", "data"}``.

    Returns:
        The ids of the deliveries queued (empty when no one subscribes).

    Raises:
        ValueError: an unknown event type (a bug in the caller, not bad user input).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(
            f"Unknown webhook event type {event_type!r}; expected one of {EVENT_TYPES}"
        )
    name = payload.get("name")
    store = WebhookStore(conn)
    subscribers = store.subscribers(event_type, name if isinstance(name, str) else None)
    now = now_ms()
    rows = [_delivery_row(webhook_id, event_type, payload, now) for webhook_id in subscribers]
    store.insert_deliveries(rows)
    return [row["id"] for row in rows]


def _delivery_row(
    webhook_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    now: int,
    *,
    attempts: int = 0,
    max_attempts: int | None = None,
    next_attempt_at: int | None = None,
) -> dict[str, Any]:
    delivery_id = new_id()
    envelope = {
        "id": delivery_id,
        "event": event_type,
        "webhook_id": webhook_id,
        "created_at": now,
        "data": dict(payload),
    }
    return {
        "id": delivery_id,
        "webhook_id": webhook_id,
        "event_type": event_type,
        "body": canonical_json(envelope).decode(),
        "status": DeliveryStatus.PENDING.value,
        "attempts": attempts,
        "max_attempts": max_attempts,
        "next_attempt_at": now if next_attempt_at is None else next_attempt_at,
        "created_at": now,
    }


class _Keep(enum.Enum):
    KEEP = "keep"


#: For ``update``: leave a field as it is (``None`` means "no model filter" for ``model_name``).
KEEP = _Keep.KEEP
_ALL = Resource("webhook", "*")
#: Left out of audit summaries: the secret, and what the event records anyway.
_NOT_AUDITED = frozenset({"secret", "id", "url", "created_at", "updated_at", "created_by"})


def _resource(webhook_id: str) -> Resource:
    return Resource("webhook", webhook_id)


def _check_events(events: Sequence[str]) -> list[str]:
    if isinstance(events, str) or not events:
        raise InvalidInput(f"events must be a non-empty list of: {', '.join(EVENT_TYPES)}")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"Unknown webhook event type; expected some of: {', '.join(EVENT_TYPES)}"
        )
    return [e for e in EVENT_TYPES if e in events]  # canonical order, no duplicates


def _check_text(field: str, value: str, limit: int, *, empty_ok: bool) -> str:
    if not isinstance(value, str) or (not value and not empty_ok):
        raise InvalidInput(f"{field} must be a {'' if empty_ok else 'non-empty '}string")
    if len(value) > limit:
        raise LimitExceeded(f"{field} is longer than {limit} characters", limit=limit)
    return value


def _check_page(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")


class WebhookService:
    """Create, read, change, delete and test webhooks; read their delivery log; dispatch."""

    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        authz: Authorizer | None = None,
        *,
        resolver: netguard.Resolver = netguard.system_resolver,
    ) -> None:
        self.db = db
        self.settings = settings or db.settings
        self.authz = authz or AllowAll()
        self.resolver = resolver
        self.policy = netguard.OutboundPolicy.parse(
            self.settings.webhook_allow_private, self.settings.webhook_allowed_hosts
        )
        self.dispatcher = Dispatcher(db, self.settings, self.policy, resolver=resolver)

    def _check_url(self, url: str) -> str:
        """Refuse at creation what the dispatcher would refuse at delivery (it checks again)."""
        netguard.check_url(url, self.policy, self.resolver)
        return url

    @retry_conflicts
    def create(
        self,
        actor: Actor,
        url: str,
        events: Sequence[str],
        *,
        model_name: str | None = None,
        description: str = "",
        active: bool = True,
    ) -> CreatedWebhook:
        """Subscribe ``url`` to ``events`` (of the model ``model_name``, or of every model).

        The returned secret signs every delivery; it is not shown again.
        """
        self.authz.check(actor, Permission.MANAGE, _ALL)
        url = self._check_url(url)
        events = _check_events(events)
        if model_name is not None:
            _check_text("model_name", model_name, MAX_MODEL_NAME, empty_ok=False)
        _check_text("description", description, MAX_DESCRIPTION, empty_ok=True)
        if not isinstance(active, bool):
            raise InvalidInput("active must be true or false")
        secret, now, webhook_id = new_secret(), now_ms(), new_id()
        row: dict[str, Any] = {
            "id": webhook_id,
            "url": url,
            "events": events,
            "model_name": model_name,
            "description": description,
            "active": active,
            "secret": secret,
            "created_by": actor.name,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.write() as conn:
            store = WebhookStore(conn)
            store.insert_webhook(row)
            audit.append(conn, actor, "webhook.create", "webhook", webhook_id, self._summary(row))
            webhook = store.get_webhook(webhook_id)
        return CreatedWebhook(webhook, secret)

    def get(self, actor: Actor, webhook_id: str) -> Webhook:
        self.authz.check(actor, Permission.MANAGE, _resource(webhook_id))
        with self.db.read() as conn:
            return WebhookStore(conn).get_webhook(webhook_id)

    def list_webhooks(
        self, actor: Actor, *, after: str | None = None, limit: int = 100
    ) -> list[Webhook]:
        """Oldest first; pass the last id as ``after`` for the next page."""
        self.authz.check(actor, Permission.MANAGE, _ALL)
        _check_page(limit)
        with self.db.read() as conn:
            return WebhookStore(conn).list_webhooks(after=after, limit=limit)

    @retry_conflicts
    def update(
        self,
        actor: Actor,
        webhook_id: str,
        *,
        url: str | _Keep = KEEP,
        events: Sequence[str] | _Keep = KEEP,
        model_name: str | _Keep | None = KEEP,
        description: str | _Keep = KEEP,
        active: bool | _Keep = KEEP,
    ) -> Webhook:
        """Change the given fields; the secret stays. ``model_name=None`` removes the filter."""
        self.authz.check(actor, Permission.MANAGE, _resource(webhook_id))
        values: dict[str, Any] = {}
        if url is not KEEP:
            values["url"] = self._check_url(url)
        if events is not KEEP:
            values["events"] = _check_events(events)
        if model_name is not KEEP:
            if model_name is not None:
                _check_text("model_name", model_name, MAX_MODEL_NAME, empty_ok=False)
            values["model_name"] = model_name
        if description is not KEEP:
            values["description"] = _check_text(
                "description", description, MAX_DESCRIPTION, empty_ok=True
            )
        if active is not KEEP:
            if not isinstance(active, bool):
                raise InvalidInput("active must be true or false")
            values["active"] = active
        with self.db.write() as conn:
            store = WebhookStore(conn)
            store.get_webhook(webhook_id)
            if values:
                store.update_webhook(webhook_id, {**values, "updated_at": now_ms()})
                audit.append(
                    conn, actor, "webhook.update", "webhook", webhook_id, self._summary(values)
                )
            return store.get_webhook(webhook_id)

    @retry_conflicts
    def delete(self, actor: Actor, webhook_id: str) -> None:
        """Remove the subscription with its delivery log; pending deliveries are dropped."""
        self.authz.check(actor, Permission.MANAGE, _resource(webhook_id))
        with self.db.write() as conn:
            store = WebhookStore(conn)
            old = store.get_webhook(webhook_id)
            store.delete_webhook(webhook_id)
            audit.append(
                conn,
                actor,
                "webhook.delete",
                "webhook",
                webhook_id,
                self._summary({"url": old.url}),
            )

    def test(self, actor: Actor, webhook_id: str) -> Delivery:
        """Send a ``ping`` now, once, and return how it went (active or not; never retried).

        The ping is a delivery like any other, so it appears in the delivery log.
        """
        self.authz.check(actor, Permission.MANAGE, _resource(webhook_id))
        now = now_ms()
        with self.db.write() as conn:
            store = WebhookStore(conn)
            store.get_webhook(webhook_id)
            lease = now + self.dispatcher.lease_ms
            row = _delivery_row(
                webhook_id,
                PING,
                {"webhook_id": webhook_id},
                now,
                attempts=1,
                max_attempts=1,
                next_attempt_at=lease,
            )
            store.insert_deliveries([row])
            audit.append(
                conn, actor, "webhook.test", "webhook", webhook_id, {"delivery": row["id"]}
            )
            [claim] = store.claimed([row["id"]])
        self.dispatcher.record([(claim, self.dispatcher.attempt(claim))])
        with self.db.read() as conn:
            return WebhookStore(conn).get_delivery(row["id"])

    def list_deliveries(
        self,
        actor: Actor,
        webhook_id: str,
        *,
        status: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The delivery log of one webhook, newest first; ``before`` is the previous page's
        last id. ``status`` is ``pending``, ``delivered`` or ``failed``."""
        self.authz.check(actor, Permission.MANAGE, _resource(webhook_id))
        _check_page(limit)
        if status is not None and status not in {s.value for s in DeliveryStatus}:
            raise InvalidInput("status must be pending, delivered or failed")
        with self.db.read() as conn:
            store = WebhookStore(conn)
            store.get_webhook(webhook_id)
            return store.list_deliveries(webhook_id, status=status, before=before, limit=limit)

    def dispatch_pending(self) -> int:
        """Deliver what is due now, in this thread (tests, local mode); returns attempts made."""
        return self.dispatcher.dispatch_pending()

    @staticmethod
    def _summary(values: Mapping[str, Any]) -> dict[str, Any]:
        """What the audit log keeps of a change: never the secret, and URLs without their query
        string (it often holds a token)."""
        out = {k: v for k, v in values.items() if k not in _NOT_AUDITED}
        if "url" in values:
            out["url"] = netguard.parse_url(values["url"]).redacted()
        return out
