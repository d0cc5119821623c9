"""The SDK suite runs on both transports: ``local`` (services in-process) and ``http`` (the REST
API through an in-process server). Each also runs on SQLite and PostgreSQL via ``settings``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import clew
from clew.client.client import Client
from clew.client.transport import Transport
from clew.core.settings import Settings


@pytest.fixture(params=["local", "http"])
def transport(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Transport]:
    if request.param == "local":
        from clew.client.local import LocalTransport

        local = LocalTransport(settings)
        yield local
        local.close()
        return
    with warnings.catch_warnings():
        # starlette warns once, at import, that it prefers httpx2 over httpx: not our concern.
        warnings.simplefilter("ignore", UserWarning)
        from fastapi.testclient import TestClient

    from clew.client.http import HttpTransport
    from clew.server.app import create_app

    with TestClient(create_app(settings)) as test_client:
        http = HttpTransport("http://testserver", client=test_client)
        yield http
        http.close()


@pytest.fixture
def client(transport: Transport) -> Client:
    return Client(transport=transport)


@pytest.fixture
def fluent(client: Client) -> Iterator[Client]:
    """The fluent API pointed at ``client`` for the test; no run leaks into the next test."""
    with clew.use_client(client):
        yield client


@pytest.fixture
def async_logging(clew_home: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Background batching, whatever CLEW_ASYNC_LOGGING the environment has."""
    monkeypatch.setenv("CLEW_ASYNC_LOGGING", "true")
