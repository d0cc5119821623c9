"""Fixtures for webhooks: a real HTTP receiver on 127.0.0.1, settings that let Clew reach it,
a service and a dispatcher with a clock the test moves."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from clew.core import netguard
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.ids import now_ms
from clew.core.settings import Settings
from clew.registry.webhooks.dispatcher import Dispatcher
from clew.registry.webhooks.service import WebhookService


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers POSTs with the queued statuses (then ``default``), recording each request."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default: int = 204
    location: str = ""
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def named_url(self, host: str) -> str:
        return f"http://{host}:{self.port}/hook"

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.delay_s:
                threading.Event().wait(receiver.delay_s)
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = receiver.next_status()
            self.send_response(status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class _ReceiverServer(http.server.ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when two dispatchers post 16 at once
    # on a loaded machine; the retried SYN can outlast the 2 s webhook timeout, and the
    # delivery then waits for its backoff (a flaky miss in the exactly-once test).
    request_queue_size = 128


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on free loopback ports (HTTPS with ``tls``, a server-side context); all
    are shut down after the test."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def make(tls: ssl.SSLContext | None = None) -> Receiver:
        spec = Receiver()
        server = _ReceiverServer(("127.0.0.1", 0), _handler(spec))
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        spec.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return spec

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(make_receiver: Callable[..., Receiver]) -> Receiver:
    return make_receiver()


class Clock:
    """Milliseconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = now_ms() + 1000  # just after anything enqueued so far

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def open_settings(settings: Settings) -> Settings:
    """The receiver is on loopback: open private destinations, fast retries."""
    return settings.model_copy(
        update={"webhook_allow_private": True, "webhook_backoff_s": 10.0, "webhook_timeout_s": 2}
    )


@pytest.fixture
def service(db: Database, open_settings: Settings) -> WebhookService:
    return WebhookService(db, open_settings)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dispatcher(db: Database, open_settings: Settings, clock: Clock) -> Dispatcher:
    policy = netguard.OutboundPolicy(allow_private=True)
    return Dispatcher(db, open_settings, policy, clock=clock, rand=lambda: 1.0)


@pytest.fixture
def alice() -> Actor:
    return Actor("alice")
