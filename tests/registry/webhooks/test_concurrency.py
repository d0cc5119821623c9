"""Several dispatchers on one database (one per server process) never deliver a delivery twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from clew.core import netguard
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.settings import Settings
from clew.registry.webhooks import enqueue
from clew.registry.webhooks.dispatcher import Dispatcher
from clew.registry.webhooks.service import WebhookService
from clew.registry.webhooks.store import WebhookStore

from .conftest import Receiver

N = 120


def test_two_dispatchers_deliver_each_delivery_exactly_once(
    service: WebhookService,
    db: Database,
    alice: Actor,
    receiver: Receiver,
    open_settings: Settings,
) -> None:
    receiver.delay_s = 0.002  # keep both dispatchers busy at the same time
    service.create(alice, receiver.url, ["alias.set"])
    with db.write() as conn:
        queued = {enqueue(conn, "alias.set", {"name": "m", "n": i})[0] for i in range(N)}
    policy = netguard.OutboundPolicy(allow_private=True)
    # Separate engines, as separate server processes would have.
    engines = [Database(open_settings.resolved_database_url(), open_settings) for _ in range(2)]
    dispatchers = [Dispatcher(e, open_settings, policy) for e in engines]
    start = threading.Barrier(len(dispatchers))
    attempted: list[int] = []

    def run(dispatcher: Dispatcher) -> None:
        start.wait()
        attempted.append(dispatcher.dispatch_pending(limit=8))

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for engine in engines:
        engine.dispose()
    seen = Counter(r.headers["X-Clew-Delivery"] for r in receiver.requests)
    assert set(seen) == queued
    assert max(seen.values()) == 1, "a delivery was sent twice"
    assert sum(attempted) == N
    with db.read() as conn:
        store = WebhookStore(conn)
        assert {store.get_delivery(i).status for i in queued} == {"delivered"}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_claim_skips_rows_another_claim_holds(
    service: WebhookService, db: Database, alice: Actor, receiver: Receiver, open_settings: Settings
) -> None:
    """PostgreSQL: ``SKIP LOCKED`` — a second dispatcher neither waits for nor takes the rows an
    uncommitted claim has locked."""
    assert not db.is_sqlite  # SQLite serializes claims with its write lock instead
    service.create(alice, receiver.url, ["alias.set"])
    with db.write() as conn:
        first, second = (enqueue(conn, "alias.set", {"name": "m", "n": i})[0] for i in range(2))
    other = Database(open_settings.resolved_database_url(), open_settings)
    try:
        with db.write() as conn:
            now = 10**13
            [held] = WebhookStore(conn).claim_due(now, now + 60_000, limit=1)
            assert held.id == first
            # While that claim is uncommitted, another process dispatches what is left.
            delivered = Dispatcher(
                other, open_settings, netguard.OutboundPolicy(allow_private=True)
            ).dispatch_pending()
        assert delivered == 1
        assert [r.headers["X-Clew-Delivery"] for r in receiver.requests] == [second]
    finally:
        other.dispose()
