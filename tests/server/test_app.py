"""The app around the routers: health, metrics, OpenAPI, headers, the docs, the bind rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import Route

from clew.core.errors import InvalidInput
from clew.core.settings import Settings
from clew.server.main import check_bind, is_loopback

from .conftest import TestClient

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_health(api: TestClient) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]


def test_health_reports_a_dead_database(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = api.app.state.platform  # type: ignore[attr-defined]

    def broken() -> None:
        raise RuntimeError("down")

    monkeypatch.setattr(platform.db, "read", broken)
    response = api.get("/health")
    assert response.status_code == 503 and response.json()["database"] == "unavailable"


def test_metrics_count_by_route_template(api: TestClient, run_id: str) -> None:
    api.get(f"/api/v1/runs/{run_id}")
    api.get("/api/v1/runs/" + "0" * 32)
    text = api.get("/metrics").text
    assert (
        'clew_http_requests_total{method="GET",route="/api/v1/runs/{run_id}",status="200"} 1.0'
        in text
    )
    assert 'route="/api/v1/runs/{run_id}",status="404"} 1.0' in text
    assert "clew_http_request_duration_seconds_bucket" in text
    assert run_id not in text  # raw paths never become labels


def test_each_app_has_its_own_registry(settings: Settings, api: TestClient) -> None:
    from clew.platform import Platform
    from clew.server.app import create_app

    api.get("/health")
    platform = Platform.open(settings, migrate=False)
    try:
        with TestClient(create_app(settings, platform)) as other:
            assert 'route="/health"' not in other.get("/metrics").text
    finally:
        platform.close()


def test_openapi_and_docs(api: TestClient) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/runs/{run_id}/batch" in spec["paths"]
    op = spec["paths"]["/api/v1/runs/{run_id}/batch"]["post"]
    assert "422" not in op["responses"] and "4XX" in op["responses"]
    assert api.get("/api/v1/docs").status_code == 200


def test_security_headers_everywhere(api: TestClient) -> None:
    for response in (api.get("/health"), api.get("/api/v1/nope"), api.get("/metrics")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_identity_headers_are_ignored(api: TestClient) -> None:
    response = api.post("/api/v1/runs", json={}, headers={"X-Clew-User": "admin", "X-User": "a"})
    assert response.json()["info"]["user_id"] == "anonymous"


def _documented_routes(text: str) -> set[tuple[str, str]]:
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", text, re.MULTILINE)
    return {(m, p) for m, p in rows}


def test_every_route_is_documented(app: FastAPI) -> None:
    """Every (method, path) the app serves is a row of docs/api.md, and every row is served."""
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:  # the routes outside the OpenAPI document
        if isinstance(route, Route) and route.path != "/docs/oauth2-redirect":
            served |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
    documented = _documented_routes(DOCS.read_text())
    assert served - documented == set(), "routes missing from docs/api.md"
    assert documented - served == set(), "docs/api.md lists routes that do not exist"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.8.9.1"])
def test_loopback_binds_are_allowed(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, Settings(auth=False))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com", ""])
def test_non_loopback_binds_are_refused_without_auth(host: str) -> None:
    with pytest.raises(InvalidInput, match="authentication is disabled"):
        check_bind(host, Settings(auth=False))
    check_bind(host, Settings(auth=True))
