"""An in-process server on each database: ``api`` is a ``TestClient`` over ``create_app``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from clew.core import schema
from clew.core.settings import Settings
from clew.platform import Platform
from clew.server.app import create_app

with warnings.catch_warnings():
    # Starlette 1.x asks for ``httpx2``; the client is built on ``httpx``, which still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

__all__ = ["TestClient"]


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    # The ``database_url`` fixture hands over a migrated database: skip Alembic (seconds/test).
    platform = Platform.open(settings, migrate=False)
    yield create_app(settings, platform)
    platform.close()


@pytest.fixture
def api(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def run_id(api: TestClient) -> str:
    response = api.post("/api/v1/runs", json={"run_name": "r"})
    assert response.status_code == 201, response.text
    return str(response.json()["info"]["run_id"])


def count_rows(api: TestClient, table: Any) -> int:
    platform = api.app.state.platform  # type: ignore[attr-defined]
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit_count(api: TestClient) -> int:
    return count_rows(api, schema.audit_events)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])
