"""Shared fixtures: a migrated database on every backend, settings in a temporary home.

PostgreSQL runs wherever ``CLEW_TEST_POSTGRES_URL`` is set (``make test`` sets it to the local
server). With ``CI=true`` a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import importlib
import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from clew.client.client import Client
from clew.client.transport import Transport
from clew.core import migrate
from clew.core.db import Database
from clew.core.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("CLEW_TEST_POSTGRES_URL", "")


def require(condition: bool, why: str) -> None:
    """Skip outside CI when a real part is missing; fail in CI, where nothing may be skipped."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a required part is missing: {why}")
    pytest.skip(why)


def need(module: str) -> Any:
    """Import an optional package a test needs: skip without it, except in CI, where it fails."""
    try:
        return importlib.import_module(module)
    except ImportError:
        require(False, f"the {module!r} package is not installed")


def _admin_url() -> str:
    base = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    return "postgresql+psycopg://" + base.split("://", 1)[1]


class PostgresDatabases:
    """Creates throwaway databases from a migrated template, so each test starts empty and fast."""

    def __init__(self) -> None:
        self.admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
        self.template = f"clew_tpl_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        db = Database(self._url(self.template))
        migrate.upgrade(db)
        db.dispose()
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return _admin_url().rsplit("/", 1)[0] + "/" + name

    def new(self) -> str:
        name = f"clew_t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    if not POSTGRES_URL:
        yield None
        return
    pg = PostgresDatabases()
    yield pg
    pg.close()


@pytest.fixture
def clew_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CLEW_HOME; also clears CLEW_* variables leaking in from the environment."""
    for key in list(os.environ):
        if key.startswith("CLEW_") and not key.startswith("CLEW_TEST_"):
            monkeypatch.delenv(key)
    home = tmp_path / "clew-home"
    monkeypatch.setenv("CLEW_HOME", str(home))
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> Iterator[str]:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clew.db'}"
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url
        return
    require(postgres_databases is not None, "PostgreSQL: set CLEW_TEST_POSTGRES_URL")
    assert postgres_databases is not None
    url = postgres_databases.new()
    yield url
    postgres_databases.drop(url)


@pytest.fixture
def settings(clew_home: Path, database_url: str) -> Settings:
    """``allowed_hosts``: Starlette's test client sends ``Host: testserver``."""
    return Settings(home=clew_home, database_url=database_url, allowed_hosts="testserver")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url(), settings)
    yield database
    database.dispose()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--against-mlflow",
        action="store_true",
        help="run the MLflow compatibility suite against a real MLflow server instead of Clew "
        "(checks that the suite asserts MLflow's behaviour, not Clew's idea of it)",
    )


# ---- the client on both transports (the SDK suite, and pipelines that track through it) ----


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
