"""The dispatcher: claims due deliveries from the outbox, posts them, records what happened.

Delivery is at least once. A claim is a short transaction that counts the attempt and leases
the row (moves ``next_attempt_at`` past the longest an attempt can take); the POST happens
outside any transaction; the outcome is a second short transaction. A dispatcher that dies
mid-attempt leaves a lease that runs out, and the delivery is attempted again, so receivers
should de-duplicate on ``X-Clew-Delivery``. Order is not guaranteed either: a retry can
overtake a newer event; the body's ``created_at`` says which came first.

Several dispatchers (one per server process) can share one database; see ``store.claim_due``.
In-process callers (tests, local mode) use :meth:`Dispatcher.dispatch_pending`; ``clew server``
runs :meth:`Dispatcher.start`'s thread from its lifespan.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from clew.core import netguard
from clew.core.db import Database
from clew.core.errors import UrlNotAllowed
from clew.core.ids import now_ms
from clew.core.settings import Settings
from clew.registry.webhooks import signing
from clew.registry.webhooks.model import ClaimedDelivery, DeliveryStatus, Outcome
from clew.registry.webhooks.store import WebhookStore

log = logging.getLogger(__name__)

#: Deliveries claimed per round, all sent at once: a claimed delivery never queues behind
#: another, so one attempt's worth of lease covers it.
BATCH = 8
_MAX_DELAY_S = 3600.0
_MAX_ROUNDS = 100


def _user_agent() -> str:
    try:
        return f"Clew-Webhooks/{metadata.version('clew')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "Clew-Webhooks"


def retry_delay_ms(attempt: int, base_s: float, rand: Callable[[], float] = random.random) -> int:
    """Delay before attempt ``attempt + 1``: ``base * 2**(attempt - 1)``, capped at an hour,
    with "equal jitter" (the upper half is random), so receivers that fail together are not
    retried together, and a retry never comes much sooner than the schedule says."""
    delay = min(base_s * 2 ** max(attempt - 1, 0), _MAX_DELAY_S)
    return int(1000 * (delay / 2 + rand() * delay / 2))


class Dispatcher:
    """Delivers the outbox of one database. Thread-safe; ``start``/``stop`` are idempotent."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        policy: netguard.OutboundPolicy,
        *,
        resolver: netguard.Resolver = netguard.system_resolver,
        clock: Callable[[], int] = now_ms,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy
        self.resolver = resolver
        self.clock = clock
        self.rand = rand
        self.user_agent = _user_agent()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def lease_ms(self) -> int:
        """Longer than one attempt can take: DNS, then connect, write and read timeouts."""
        return int(1000 * (4 * self.settings.webhook_timeout_s + 30))

    # ---- one pass ----------------------------------------------------------------------------

    def dispatch_pending(self, limit: int = BATCH) -> int:
        """Attempt every delivery that is due now, ``limit`` at a time in parallel; return how
        many were attempted. Failed attempts are rescheduled into the future, so this returns
        once nothing is due.
        """
        if not 1 <= limit <= 64:
            raise ValueError("limit must be between 1 and 64 (one thread per claimed delivery)")
        return self._dispatch(limit, lambda: False)

    def _dispatch(self, limit: int, stopping: Callable[[], bool]) -> int:
        attempted = 0
        for _ in range(_MAX_ROUNDS):
            if stopping():
                break
            claims = self._claim(limit)
            if not claims:
                break
            self._send_and_record(claims)
            attempted += len(claims)
        return attempted

    def _claim(self, limit: int) -> list[ClaimedDelivery]:
        now = self.clock()
        with self.db.read() as conn:
            if not WebhookStore(conn).has_due(now):
                return []
        with self.db.write() as conn:
            return WebhookStore(conn).claim_due(now, now + self.lease_ms, limit)

    def _send_and_record(self, claims: list[ClaimedDelivery]) -> None:
        if len(claims) == 1:
            outcomes = [self.attempt(claims[0])]
        else:  # one thread per claim: none waits for another while its lease runs
            with ThreadPoolExecutor(max_workers=len(claims)) as pool:
                outcomes = list(pool.map(self.attempt, claims))
        self.record(list(zip(claims, outcomes, strict=True)))

    def attempt(self, claim: ClaimedDelivery) -> Outcome:
        """POST one claimed delivery through the SSRF guard; never raises for the receiver's
        faults (they are the outcome)."""
        timestamp = self.clock() // 1000
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            signing.EVENT_HEADER: claim.event_type,
            signing.DELIVERY_HEADER: claim.id,
            signing.ATTEMPT_HEADER: str(claim.attempt),
            signing.SIGNATURE_HEADER: signing.signature_header(claim.secret, timestamp, claim.body),
        }
        try:
            status = netguard.post(
                claim.url,
                claim.body,
                headers,
                policy=self.policy,
                timeout_s=self.settings.webhook_timeout_s,
                resolver=self.resolver,
                ca_bundle=self.settings.webhook_ca_bundle,
            )
        except UrlNotAllowed as exc:
            return Outcome(None, f"refused by the outbound URL guard: {exc.message}")
        except netguard.OutboundError as exc:
            return Outcome(None, str(exc))
        if 200 <= status < 300:
            return Outcome(status)
        if 300 <= status < 400:
            return Outcome(status, f"HTTP {status}: redirects are not followed")
        return Outcome(status, f"HTTP {status}")

    def record(self, results: list[tuple[ClaimedDelivery, Outcome]]) -> None:
        """Write the outcomes of a batch in one transaction: delivered, retry later, or failed."""
        now = self.clock()
        with self.db.write() as conn:
            store = WebhookStore(conn)
            for claim, outcome in results:
                limit = claim.max_attempts or self.settings.webhook_max_attempts
                if outcome.ok:
                    status, next_at = DeliveryStatus.DELIVERED, None
                elif claim.attempt >= limit:
                    status, next_at = DeliveryStatus.FAILED, None
                else:
                    delay = retry_delay_ms(
                        claim.attempt, self.settings.webhook_backoff_s, self.rand
                    )
                    status, next_at = DeliveryStatus.PENDING, now + delay
                if not store.record(
                    claim,
                    status=status,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    next_attempt_at=next_at,
                    now=now,
                ):
                    log.warning("webhook delivery %s was taken over; outcome dropped", claim.id)

    # ---- the background thread ---------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="clew-webhook-dispatcher", daemon=True
            )
            self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Ask the thread to finish and wait for it (an attempt in flight completes first)."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout_s if timeout_s is not None else self.lease_ms / 1000)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                attempted = self._dispatch(BATCH, self._stop.is_set)
            except Exception:  # a busy or restarting database: log, wait, try again
                log.exception("webhook dispatch failed; retrying after the poll interval")
                attempted = 0
            if attempted == 0:
                self._stop.wait(self.settings.webhook_poll_interval_s)
