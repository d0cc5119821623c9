"""Webhooks' domain objects: subscriptions, deliveries and the events one can subscribe to."""

from __future__ import annotations

import enum
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Final

from clew.core.ids import now_ms

#: The registry events a webhook can subscribe to. Each payload carries the registered model's
#: ``name``; the model-name filter of a subscription matches on it.
EVENT_TYPES: Final = (
    "registered_model.created",
    "model_version.created",
    "alias.set",
    "alias.deleted",
    "stage.changed",
)
#: Sent by ``test`` only; not subscribable.
PING: Final = "ping"

MAX_URL: Final = 2048
MAX_MODEL_NAME: Final = 500
MAX_DESCRIPTION: Final = 1000
MAX_PAGE: Final = 1000


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due, being attempted, or waiting for its next retry
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # every attempt failed; no more retries


_last_id = (0, 0)
_id_lock = threading.Lock()


def new_id() -> str:
    """32 hex characters, time-ordered (48-bit milliseconds, then 80 bits, 79 of them random), so that
    ordering by id is ordering by creation and an id works as a paging cursor.

    Within one millisecond a process counts up from the previous id's random part (ULID's
    monotonic rule): ids made in the same millisecond used to sort at random.
    """
    global _last_id
    with _id_lock:
        ms, tail = now_ms(), secrets.randbits(79)  # headroom to count up
        last_ms, last_tail = _last_id
        if ms <= last_ms:
            ms, tail = last_ms, last_tail + 1
        _last_id = (ms, tail)
    return f"{ms:012x}{tail:020x}"


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription. The secret is not part of it: it is shown once, at creation."""

    id: str
    url: str
    events: tuple[str, ...]
    model_name: str | None
    description: str
    active: bool
    created_by: str
    created_at: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "model_name": self.model_name,
            "description": self.description,
            "active": self.active,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    """What ``create`` returns: the subscription and its signing secret (the only time)."""

    webhook: Webhook
    secret: str

    def to_dict(self) -> dict[str, Any]:
        return {"webhook": self.webhook.to_dict(), "secret": self.secret}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook, and how its delivery went so far (the delivery log)."""

    id: str
    webhook_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
        }


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a dispatcher holds the lease on: everything needed to send it once.

    ``attempt`` is the attempt number this claim made; recording the outcome only succeeds
    while the row still has it, so a dispatcher whose lease ran out cannot overwrite the
    outcome of the one that took over.
    """

    id: str
    webhook_id: str
    event_type: str
    url: str
    secret: str
    body: bytes
    attempt: int
    max_attempts: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt: a status code when the receiver answered, an error if not 2xx."""

    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
