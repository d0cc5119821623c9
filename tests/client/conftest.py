"""The SDK suite runs on both transports, ``local`` and ``http`` (``client`` in the root
conftest), each on SQLite and PostgreSQL via ``settings``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import clew
from clew.client.client import Client


@pytest.fixture
def fluent(client: Client) -> Iterator[Client]:
    """The fluent API pointed at ``client`` for the test; no run leaks into the next test."""
    with clew.use_client(client):
        yield client


@pytest.fixture
def async_logging(clew_home: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Background batching, whatever CLEW_ASYNC_LOGGING the environment has."""
    monkeypatch.setenv("CLEW_ASYNC_LOGGING", "true")
