"""Subscriptions and the outbox, on SQLite and PostgreSQL: CRUD with audit, who ``enqueue``
queues for, transactional enqueue, and the claim lease."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import Table, func, select

from clew.core import audit, schema
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.errors import InvalidInput, LimitExceeded, NotFound
from clew.registry.webhooks import enqueue
from clew.registry.webhooks.model import EVENT_TYPES, DeliveryStatus
from clew.registry.webhooks.service import WebhookService
from clew.registry.webhooks.store import WebhookStore

from .conftest import Receiver


def _count(db: Database, table: Table) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _events(db: Database, prefix: str = "webhook.") -> list[audit.AuditEvent]:
    with db.read() as conn:
        return [e for e in audit.iter_all(conn) if e.action.startswith(prefix)]


def test_create_returns_the_secret_once(
    service: WebhookService, alice: Actor, receiver: Receiver
) -> None:
    created = service.create(alice, receiver.url, ["alias.set", "model_version.created"])
    assert created.secret.startswith("whsec_") and len(created.secret) > 40
    hook = created.webhook
    assert hook.events == ("model_version.created", "alias.set")  # canonical order
    assert hook.active and hook.model_name is None and hook.created_by == "alice"
    assert "secret" not in service.get(alice, hook.id).to_dict()
    assert "secret" not in service.list_webhooks(alice)[0].to_dict()
    other = service.create(alice, receiver.url, ["alias.set"])
    assert other.secret != created.secret


def test_every_change_is_audited_without_the_secret(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    created = service.create(alice, receiver.url + "?token=s3cr3t", list(EVENT_TYPES))
    hook_id = created.webhook.id
    service.update(alice, hook_id, active=False, description="off for now")
    service.delete(alice, hook_id)
    events = _events(db)
    assert [e.action for e in events] == ["webhook.create", "webhook.update", "webhook.delete"]
    assert all(e.resource_id == hook_id and e.actor == "alice" for e in events)
    assert events[0].summary["url"] == receiver.url  # the query (a token) is left out
    assert events[1].summary == {"active": False, "description": "off for now"}
    for event in events:
        text = orjson.dumps(event.summary).decode()
        assert created.secret not in text and "s3cr3t" not in text


def test_update_changes_only_the_given_fields(
    service: WebhookService, alice: Actor, receiver: Receiver
) -> None:
    hook = service.create(alice, receiver.url, ["alias.set"], model_name="churn").webhook
    changed = service.update(alice, hook.id, events=["stage.changed"])
    assert changed.events == ("stage.changed",) and changed.model_name == "churn"
    assert changed.url == hook.url and changed.updated_at >= hook.updated_at
    assert service.update(alice, hook.id, model_name=None).model_name is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"events": []}, InvalidInput, id="no-events"),
        pytest.param({"events": ["model.deleted"]}, InvalidInput, id="unknown-event"),
        pytest.param({"events": ["ping"]}, InvalidInput, id="ping-is-not-subscribable"),
        pytest.param({"events": "alias.set"}, InvalidInput, id="a-string-not-a-list"),
        pytest.param({"model_name": ""}, InvalidInput, id="empty-model-name"),
        pytest.param({"model_name": "m" * 501}, LimitExceeded, id="long-model-name"),
        pytest.param({"description": "d" * 1001}, LimitExceeded, id="long-description"),
    ],
)
def test_bad_input_writes_nothing(
    service: WebhookService,
    db: Database,
    alice: Actor,
    receiver: Receiver,
    kwargs: dict[str, object],
    error: type[Exception],
) -> None:
    args: dict[str, object] = {"events": ["alias.set"], **kwargs}
    events = args.pop("events")
    with pytest.raises(error):
        service.create(alice, receiver.url, events, **args)  # type: ignore[arg-type]
    assert _count(db, schema.webhooks) == 0 and _events(db) == []


def test_unknown_webhooks_are_not_found(service: WebhookService, alice: Actor) -> None:
    missing = "0" * 32
    for call in (
        lambda: service.get(alice, missing),
        lambda: service.update(alice, missing, active=False),
        lambda: service.delete(alice, missing),
        lambda: service.test(alice, missing),
        lambda: service.list_deliveries(alice, missing),
    ):
        with pytest.raises(NotFound):
            call()


def test_list_pages_with_a_cursor(
    service: WebhookService, alice: Actor, receiver: Receiver
) -> None:
    ids = [service.create(alice, receiver.url, ["alias.set"]).webhook.id for _ in range(5)]
    first = service.list_webhooks(alice, limit=2)
    second = service.list_webhooks(alice, after=first[-1].id, limit=2)
    third = service.list_webhooks(alice, after=second[-1].id, limit=2)
    assert [h.id for h in first + second + third] == ids


def test_enqueue_queues_one_delivery_per_matching_active_subscription(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    every = service.create(alice, receiver.url, ["model_version.created"]).webhook
    churn = service.create(alice, receiver.url, list(EVENT_TYPES), model_name="churn").webhook
    service.create(alice, receiver.url, ["model_version.created"], model_name="other")
    service.create(alice, receiver.url, ["alias.set"])  # another event
    service.create(alice, receiver.url, ["model_version.created"], active=False)
    with db.write() as conn:
        queued = enqueue(conn, "model_version.created", {"name": "churn", "version": 3})
    assert len(queued) == 2
    with db.read() as conn:
        store = WebhookStore(conn)
        by_hook = {d.webhook_id: d for d in (store.get_delivery(i) for i in queued)}
        assert set(by_hook) == {every.id, churn.id}
        delivery = by_hook[churn.id]
        body = orjson.loads(store.delivery_body(delivery.id))
    assert delivery.status == "pending" and delivery.attempts == 0
    assert body == {
        "id": delivery.id,
        "event": "model_version.created",
        "webhook_id": churn.id,
        "created_at": delivery.created_at,
        "data": {"name": "churn", "version": 3},
    }


def test_enqueue_with_no_subscriber_queues_nothing(db: Database) -> None:
    with db.write() as conn:
        assert enqueue(conn, "alias.set", {"name": "m", "alias": "champion", "version": 1}) == []
    assert _count(db, schema.webhook_deliveries) == 0


def test_a_rolled_back_change_enqueues_nothing(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    service.create(alice, receiver.url, ["alias.set"])

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.write() as conn:
        assert len(enqueue(conn, "alias.set", {"name": "m", "alias": "a"})) == 1
        raise Boom
    assert _count(db, schema.webhook_deliveries) == 0


def test_enqueue_refuses_an_unknown_event_type(db: Database) -> None:
    with pytest.raises(ValueError, match="Unknown webhook event type"), db.write() as conn:
        enqueue(conn, "model.exploded", {"name": "m"})


def test_deleting_a_webhook_deletes_its_deliveries(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    hook = service.create(alice, receiver.url, ["alias.set"]).webhook
    keep = service.create(alice, receiver.url, ["alias.set"]).webhook
    with db.write() as conn:
        enqueue(conn, "alias.set", {"name": "m"})
    service.delete(alice, hook.id)
    assert _count(db, schema.webhook_deliveries) == 1
    assert len(service.list_deliveries(alice, keep.id)) == 1


def test_a_claim_leases_rows_and_a_lapsed_lease_frees_them(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    service.create(alice, receiver.url, ["alias.set"])
    with db.write() as conn:
        [delivery_id] = enqueue(conn, "alias.set", {"name": "m"})
    now = 10**13
    with db.write() as conn:
        [claim] = WebhookStore(conn).claim_due(now, now + 1000, limit=10)
        assert WebhookStore(conn).claim_due(now, now + 1000, limit=10) == []
    assert claim.id == delivery_id and claim.attempt == 1
    with db.read() as conn:
        assert not WebhookStore(conn).has_due(now + 999)
        assert WebhookStore(conn).has_due(now + 1000)
    with db.write() as conn:
        [again] = WebhookStore(conn).claim_due(now + 1000, now + 2000, limit=10)
    assert again.attempt == 2
    # The first claimant comes back late: its outcome no longer applies.
    delivered = DeliveryStatus.DELIVERED
    with db.write() as conn:
        store = WebhookStore(conn)
        for held, expected in ((claim, False), (again, True)):
            recorded = store.record(
                held, status=delivered, status_code=204, error=None, next_attempt_at=None, now=now
            )
            assert recorded is expected


def test_deliveries_of_an_inactive_webhook_wait(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver
) -> None:
    hook = service.create(alice, receiver.url, ["alias.set"]).webhook
    with db.write() as conn:
        enqueue(conn, "alias.set", {"name": "m"})
    service.update(alice, hook.id, active=False)
    with db.write() as conn:
        assert not WebhookStore(conn).has_due(10**13)  # an idle dispatcher stays idle
        assert WebhookStore(conn).claim_due(10**13, 10**13 + 1, limit=10) == []
    service.update(alice, hook.id, active=True)
    with db.write() as conn:
        assert len(WebhookStore(conn).claim_due(10**13, 10**13 + 1, limit=10)) == 1
