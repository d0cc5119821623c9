"""The MLflow compatibility suite's parts: a real server driven by the real ``mlflow`` client.

- ``compat_server``: a real ``clew server`` per test module, on SQLite and on PostgreSQL; with
  ``--against-mlflow`` a real MLflow server instead, so the suite is checked against MLflow's
  own behaviour (``make test-compat-mlflow``). The PostgreSQL-backed server is driven by the
  newest client only: the backend is the server's business, the client line the protocol's. ``compat_server.kind`` is ``"clew"`` or ``"mlflow"``; tests of
  what only Clew adds (audit events, digests, lineage) ask for ``clew_only``.
- ``mlflow_client``: runs a script in a compat venv with ``MLFLOW_TRACKING_URI`` at the server
  and returns the JSON document it prints last. It is parametrized over the supported client
  lines (the newest 3.x and the last 2.x); ``mlflow_client.version`` says which runs.
- ``mlflow_server``: a real MLflow 3.x server (the importer's source), whatever the flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PostgresDatabases, require
from tests.models.mlflow_env import MLFLOW2, MLFLOW3, MlflowVenv
from tests.server.mlflow_compat.servers import MlflowServer
from tests.server.test_real_server import Server

#: The client lines the suite runs against; the first is also the real MLflow server's.
CLIENTS = (MLFLOW3, MLFLOW2)


def _ready(venv: MlflowVenv) -> MlflowVenv:
    ok, log = venv.build()
    require(ok, f"the {venv.name} compatibility venv could not be built:\n{log}")
    return venv


@pytest.fixture(scope="session")
def mlflow_venv() -> MlflowVenv:
    """The newest 3.x client's venv."""
    return _ready(MLFLOW3)


@pytest.fixture(scope="session")
def against_mlflow(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--against-mlflow"))


class ClewServer(Server):
    kind = "clew"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def compat_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    against_mlflow: bool,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[ClewServer | MlflowServer]:
    """One real server per test module and backend (starting one costs ~1 s); tests use
    distinct names."""
    home = tmp_path_factory.mktemp("mlflow-compat")
    if against_mlflow:
        srv: ClewServer | MlflowServer = MlflowServer(_ready(MLFLOW3), home / "mlflow")
        yield srv
        srv.stop()
        return
    database_url = ""
    if request.param == "postgres":
        require(postgres_databases is not None, "PostgreSQL: set CLEW_TEST_POSTGRES_URL")
        assert postgres_databases is not None
        database_url = postgres_databases.new()
    srv = ClewServer(home / "home", database_url=database_url)
    yield srv
    srv.stop()
    if database_url and postgres_databases is not None:
        postgres_databases.drop(database_url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep one MLflow server per module (``--against-mlflow``), and the PostgreSQL-backed
    Clew for the newest client only."""
    against = bool(config.getoption("--against-mlflow"))
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgres = params.get("compat_server") == "postgres"
        old_client = params.get("mlflow_client", MLFLOW3.name) != MLFLOW3.name
        (drop if on_postgres and (against or old_client) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def clew_only(compat_server: ClewServer | MlflowServer) -> ClewServer:
    """For assertions about what Clew adds on top of MLflow's behaviour."""
    if not isinstance(compat_server, ClewServer):
        pytest.skip("checks what Clew adds; the target is a real MLflow server")
    return compat_server


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    srv = MlflowServer(_ready(MLFLOW3), tmp_path_factory.mktemp("mlflow-server"))
    yield srv
    srv.stop()


class MlflowClientRunner:
    """Scripts in one client line's venv, pointed at one server."""

    def __init__(self, venv: MlflowVenv, url: str) -> None:
        self.venv = venv
        self.url = url
        self.major = 3 if venv is MLFLOW3 else 2

    def __call__(self, script: str, *args: str, env: dict[str, str] | None = None) -> Any:
        return self.venv.run(script, *args, tracking_uri=self.url, env=env)


@pytest.fixture(params=[venv.name for venv in CLIENTS])
def mlflow_client(
    request: pytest.FixtureRequest, compat_server: ClewServer | MlflowServer
) -> MlflowClientRunner:
    venv = next(v for v in CLIENTS if v.name == request.param)
    return MlflowClientRunner(_ready(venv), compat_server.url)


@pytest.fixture
def mlflow3_client(compat_server: ClewServer | MlflowServer) -> MlflowClientRunner:
    """Only the 3.x client, for what 2.x lacks (LoggedModels)."""
    return MlflowClientRunner(_ready(MLFLOW3), compat_server.url)
