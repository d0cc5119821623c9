"""Fixtures of the pipeline tests: a client on the local store, and a folder to meet steps in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings


@pytest.fixture
def local_client(settings: Settings) -> Iterator[Client]:
    """The local transport only: what a process executor's children can reach too."""
    transport = LocalTransport(settings)
    yield Client(transport=transport)
    transport.close()


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    """Where a test and its steps leave files for each other (``tests.pipelines.faults``)."""
    path = tmp_path / "gate"
    path.mkdir()
    return path
