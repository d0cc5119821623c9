"""The MLflow compatibility suite's parts: the adapter in process (``api``, from the server
tests' fixtures, for shapes and bad input) and a real ``clew server`` driven by the real
``mlflow`` client in its own venv (``mlflow_client``), asserting what is read back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from tests.conftest import require
from tests.models import mlflow_env
from tests.server.test_real_server import Server


class MlflowClientRunner(Protocol):
    def __call__(self, script: str, *args: str) -> Any: ...


@pytest.fixture(scope="session")
def mlflow_venv() -> None:
    ok, log = mlflow_env.build()
    require(ok, f"the mlflow 3.x compatibility venv could not be built:\n{log}")


@pytest.fixture(scope="module")
def clew_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per test module (starting one costs ~1 s); tests use distinct names."""
    srv = Server(tmp_path_factory.mktemp("mlflow-compat") / "home")
    yield srv
    srv.stop()


@pytest.fixture
def mlflow_client(mlflow_venv: None, clew_server: Server) -> MlflowClientRunner:
    """Run a script with the real ``mlflow`` package, ``MLFLOW_TRACKING_URI`` at the server;
    the script prints one JSON document last, which is returned."""

    def run(script: str, *args: str) -> Any:
        return mlflow_env.run(script, *args, tracking_uri=clew_server.url)

    return run
