"""Deliveries to a real HTTP receiver on 127.0.0.1: signed, retried with backoff, given up on,
never redirected, and checked against the guard again at delivery time."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from clew.core import netguard
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.settings import Settings
from clew.registry.webhooks import Delivery, enqueue, verify_signature
from clew.registry.webhooks.dispatcher import Dispatcher, retry_delay_ms
from clew.registry.webhooks.service import WebhookService
from clew.registry.webhooks.store import WebhookStore

from .conftest import Clock, Receiver

BASE_MS = 10_000  # open_settings' webhook_backoff_s


def _queue(db: Database, event: str = "model_version.created") -> str:
    with db.write() as conn:
        [delivery_id] = enqueue(conn, event, {"name": "churn", "version": 7})
    return delivery_id


def _delivery(db: Database, delivery_id: str) -> Delivery:
    with db.read() as conn:
        return WebhookStore(conn).get_delivery(delivery_id)


def test_a_delivery_arrives_signed(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    created = service.create(alice, receiver.url, ["model_version.created"])
    delivery_id = _queue(db)
    assert dispatcher.dispatch_pending() == 1
    [request] = receiver.requests
    assert request.path == "/hook"
    assert request.headers["X-Clew-Event"] == "model_version.created"
    assert request.headers["X-Clew-Delivery"] == delivery_id
    assert request.headers["X-Clew-Attempt"] == "1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"
    header = request.headers["X-Clew-Signature"]
    assert verify_signature(created.secret, header, request.body, now=dispatcher.clock() / 1000)
    assert not verify_signature("whsec_other", header, request.body, now=time.time())
    body = orjson.loads(request.body)
    assert body["id"] == delivery_id and body["data"] == {"name": "churn", "version": 7}
    done = _delivery(db, delivery_id)
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 1, 204)
    assert done.delivered_at is not None and done.next_attempt_at is None
    assert dispatcher.dispatch_pending() == 0  # delivered once


def test_failures_are_retried_with_exponential_backoff(
    service: WebhookService,
    db: Database,
    alice: Actor,
    receiver: Receiver,
    dispatcher: Dispatcher,
    clock: Clock,
) -> None:
    receiver.statuses = [500, 502]
    service.create(alice, receiver.url, ["model_version.created"])
    delivery_id = _queue(db)

    assert dispatcher.dispatch_pending() == 1
    first = _delivery(db, delivery_id)
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert first.last_error == "HTTP 500"
    assert first.next_attempt_at == clock.now + BASE_MS

    clock.advance(BASE_MS - 1)
    assert dispatcher.dispatch_pending() == 0  # not due yet
    clock.advance(1)
    assert dispatcher.dispatch_pending() == 1
    second = _delivery(db, delivery_id)
    assert (second.attempts, second.last_status_code) == (2, 502)
    assert second.next_attempt_at == clock.now + 2 * BASE_MS  # doubled

    clock.advance(2 * BASE_MS)
    assert dispatcher.dispatch_pending() == 1
    done = _delivery(db, delivery_id)
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 3, 204)
    assert done.last_error is None
    bodies = {r.body for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(bodies) == 1  # the same bytes every time
    assert [r.headers["X-Clew-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert {r.headers["X-Clew-Delivery"] for r in receiver.requests} == {delivery_id}


def test_jitter_keeps_each_delay_in_the_upper_half() -> None:
    for attempt, base in [(1, 10.0), (2, 10.0), (5, 1.0)]:
        full = 1000 * base * 2 ** (attempt - 1)
        assert retry_delay_ms(attempt, base, lambda: 0.0) == full / 2
        assert retry_delay_ms(attempt, base, lambda: 1.0) == full
    assert retry_delay_ms(40, 10.0, lambda: 1.0) == 3_600_000  # capped at an hour


def test_a_delivery_gives_up_after_max_attempts(
    service: WebhookService,
    db: Database,
    alice: Actor,
    receiver: Receiver,
    open_settings: Settings,
    clock: Clock,
) -> None:
    receiver.default = 503
    dispatcher = Dispatcher(
        db,
        open_settings.model_copy(update={"webhook_max_attempts": 3}),
        netguard.OutboundPolicy(allow_private=True),
        clock=clock,
        rand=lambda: 1.0,
    )
    service.create(alice, receiver.url, ["model_version.created"])
    delivery_id = _queue(db)
    for _ in range(5):
        dispatcher.dispatch_pending()
        clock.advance(3_600_000)
    failed = _delivery(db, delivery_id)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 3, 503)
    assert failed.next_attempt_at is None and failed.delivered_at is None
    assert len(receiver.requests) == 3


def test_an_unreachable_receiver_is_an_error_and_a_retry(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    service.create(alice, receiver.url.replace(str(receiver.port), "1"), ["alias.set"])
    delivery_id = _queue(db, "alias.set")
    dispatcher.dispatch_pending()
    failed = _delivery(db, delivery_id)
    assert failed.status == "pending" and failed.last_status_code is None
    assert failed.last_error and "Connect" in failed.last_error


def test_redirects_are_not_followed(
    service: WebhookService,
    db: Database,
    alice: Actor,
    make_receiver: Callable[[], Receiver],
    dispatcher: Dispatcher,
) -> None:
    target = make_receiver()
    redirecting = make_receiver()
    redirecting.default, redirecting.location = 302, target.url
    service.create(alice, redirecting.url, ["alias.set"])
    delivery_id = _queue(db, "alias.set")
    dispatcher.dispatch_pending()
    outcome = _delivery(db, delivery_id)
    assert outcome.last_status_code == 302 and "redirects are not followed" in str(
        outcome.last_error
    )
    assert len(redirecting.requests) == 1 and target.requests == []


def test_the_guard_checks_again_at_delivery(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver, open_settings: Settings
) -> None:
    """A webhook created while private addresses were open is refused once they are closed."""
    service.create(alice, receiver.url, ["alias.set"])
    closed = Dispatcher(db, open_settings, netguard.OutboundPolicy(allow_private=False))
    delivery_id = _queue(db, "alias.set")
    closed.dispatch_pending()
    refused = _delivery(db, delivery_id)
    assert refused.status == "pending" and "outbound URL guard" in str(refused.last_error)
    assert "loopback" in str(refused.last_error)
    assert receiver.requests == []


def test_dns_rebinding_is_blocked_at_connect(
    db: Database, open_settings: Settings, alice: Actor, receiver: Receiver
) -> None:
    """The name was public when the webhook was created and points at 127.0.0.1 by delivery."""
    answers = {"now": "93.184.216.34"}

    def rebinding(host: str, port: int) -> list[str]:
        assert host == "hooks.example.com"
        return [answers["now"]]

    closed = open_settings.model_copy(update={"webhook_allow_private": False})
    service = WebhookService(db, closed, resolver=rebinding)
    service.create(alice, receiver.named_url("hooks.example.com"), ["alias.set"])
    answers["now"] = "127.0.0.1"
    delivery_id = _queue(db, "alias.set")
    service.dispatch_pending()
    assert "loopback" in str(_delivery(db, delivery_id).last_error)
    assert receiver.requests == []


def test_the_checked_address_is_the_one_connected_to(
    db: Database, open_settings: Settings, alice: Actor, receiver: Receiver
) -> None:
    """Pinning: the request goes to the resolved, checked address with the original Host."""
    allowed = open_settings.model_copy(
        update={"webhook_allow_private": False, "webhook_allowed_hosts": "hooks.internal"}
    )
    service = WebhookService(db, allowed, resolver=lambda host, port: ["127.0.0.1"])
    service.create(alice, receiver.named_url("hooks.internal"), ["alias.set"])
    _queue(db, "alias.set")
    assert service.dispatch_pending() == 1
    [request] = receiver.requests
    assert request.headers["Host"] == f"hooks.internal:{receiver.port}"


def test_a_ping_is_sent_once_now(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    created = service.create(alice, receiver.url, ["alias.set"], active=False)
    ping = service.test(alice, created.webhook.id)
    assert (ping.event_type, ping.status, ping.attempts, ping.last_status_code) == (
        "ping",
        "delivered",
        1,
        204,
    )
    [request] = receiver.requests
    assert request.headers["X-Clew-Event"] == "ping"
    assert verify_signature(created.secret, request.headers["X-Clew-Signature"], request.body)
    receiver.default = 500
    failed = service.test(alice, created.webhook.id)
    assert (failed.status, failed.last_status_code, failed.next_attempt_at) == ("failed", 500, None)
    log = service.list_deliveries(alice, created.webhook.id)
    assert [d.id for d in log] == [failed.id, ping.id]  # newest first
    assert [d.id for d in service.list_deliveries(alice, created.webhook.id, status="failed")] == [
        failed.id
    ]


def test_a_crashed_attempt_is_retried_after_its_lease(
    service: WebhookService,
    db: Database,
    alice: Actor,
    receiver: Receiver,
    dispatcher: Dispatcher,
    clock: Clock,
) -> None:
    service.create(alice, receiver.url, ["alias.set"])
    delivery_id = _queue(db, "alias.set")
    with db.write() as conn:  # a dispatcher claims, then dies before posting
        WebhookStore(conn).claim_due(clock.now, clock.now + dispatcher.lease_ms, 10)
    assert dispatcher.dispatch_pending() == 0
    clock.advance(dispatcher.lease_ms)
    assert dispatcher.dispatch_pending() == 1
    done = _delivery(db, delivery_id)
    assert (done.status, done.attempts) == ("delivered", 2)


def test_the_background_thread_delivers(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver, open_settings: Settings
) -> None:
    fast = open_settings.model_copy(update={"webhook_poll_interval_s": 0.02})
    dispatcher = Dispatcher(db, fast, netguard.OutboundPolicy(allow_private=True))
    service.create(alice, receiver.url, ["alias.set"])
    dispatcher.start()
    dispatcher.start()  # idempotent
    try:
        delivery_id = _queue(db, "alias.set")
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        dispatcher.stop()
    assert not dispatcher.running
    assert [r.headers["X-Clew-Delivery"] for r in receiver.requests] == [delivery_id]


@pytest.mark.parametrize("status", [200, 202, 299])
def test_any_2xx_is_delivered(
    service: WebhookService,
    db: Database,
    alice: Actor,
    receiver: Receiver,
    dispatcher: Dispatcher,
    status: int,
) -> None:
    receiver.default = status
    service.create(alice, receiver.url, ["alias.set"])
    delivery_id = _queue(db, "alias.set")
    dispatcher.dispatch_pending()
    assert _delivery(db, delivery_id).status == "delivered"
