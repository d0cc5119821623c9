"""The examples in the SDK's docstrings run, against a local client in a temporary home."""

from __future__ import annotations

import doctest
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import clew
from clew.client import artifact_methods, client, data, fluent, runs
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings
from tests.conftest import need

MODULES = [clew, client, artifact_methods, fluent, runs, data]


@pytest.fixture
def local_client(clew_home: Path) -> Iterator[Client]:
    c = Client(transport=LocalTransport(Settings(home=clew_home)))
    yield c
    c.close()


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType, local_client: Client) -> None:
    if module is data:
        need("pandas")
    with clew.use_client(local_client):
        result = doctest.testmod(
            module,
            extraglobs={"client": local_client, "clew": clew},
            optionflags=doctest.ELLIPSIS,
            raise_on_error=False,
            verbose=False,
        )
    assert result.failed == 0
    assert result.attempted > 0
