"""``FeatureRouter``'s shortcut changes which routes are tried, never which route answers."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from clew.server.routing import FeatureRouter


def _scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}


def _app(router: FeatureRouter) -> FastAPI:
    app = FastAPI()
    router.mount_at("/api/v1")
    app.include_router(router, prefix="/api/v1")
    return app


def test_paths_outside_its_first_segments_are_rejected_without_matching() -> None:
    router = FeatureRouter()

    @router.get("/things/{name}")
    def thing(name: str) -> dict[str, str]:
        return {"name": name}

    router.mount_at("/api/v1")
    assert router.matches(_scope("/api/v1/others/x")) == (Match.NONE, {})
    assert router.matches(_scope("/elsewhere/things/x")) == (Match.NONE, {})
    with TestClient(_app(router)) as client:
        assert client.get("/api/v1/things/a").json() == {"name": "a"}
        assert client.get("/api/v1/others/a").status_code == 404
        assert client.post("/api/v1/things/a").status_code == 405  # partial matches still work


def test_a_parameter_as_first_segment_turns_the_shortcut_off() -> None:
    router = FeatureRouter()

    @router.get("/{anything}/x")
    def anything(anything: str) -> dict[str, str]:
        return {"got": anything}

    with TestClient(_app(router)) as client:
        assert client.get("/api/v1/whatever/x").json() == {"got": "whatever"}


def test_every_route_of_the_server_is_still_reached(api: TestClient) -> None:
    """Each operation in the OpenAPI spec, its path parameters filled in, is matched by its
    route: whatever the handler then says, it is not the server's "no such endpoint"."""
    app: Any = api.app
    checked = 0
    for template, operations in app.openapi()["paths"].items():
        if not template.startswith("/api/v1/"):
            continue
        path = re.sub(r"\{[^}]+\}", "0" * 32, template)
        for method in operations:
            response = api.request(method, path, headers={"content-type": "application/json"})
            body = response.json() if "json" in response.headers.get("content-type", "") else {}
            code = body.get("error", {}).get("code") if isinstance(body, dict) else None
            assert code not in ("ENDPOINT_NOT_FOUND", "METHOD_NOT_ALLOWED"), (method, template)
            checked += 1
    assert checked > 50


def test_mlflow_routes_called_directly_still_honour_dependency_overrides(app: Any) -> None:
    """``MlflowRoute`` skips FastAPI's dependency solving for ``(request, platform, actor)``
    endpoints, but the actor still comes from ``server.deps.get_actor`` (or its override),
    where authentication plugs in; path-parameter routes keep FastAPI's handler."""
    from clew.core.actor import Actor
    from clew.server.deps import get_actor
    from clew.server.mlflow_compat.protocol import MlflowRoute, _direct_resolvers

    def walk(routes: list[Any]) -> Any:
        for route in routes:
            yield route
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)

    mlflow_routes = [r for r in walk(app.routes) if isinstance(r, MlflowRoute)]
    direct = {r.path for r in mlflow_routes if _direct_resolvers(r.endpoint) is not None}
    assert "/runs/log-metric" in direct and "/registered-models/create" in direct
    assert "/artifacts/{path:path}" not in direct

    async def someone() -> Actor:
        return Actor(name="someone")

    app.dependency_overrides[get_actor] = lambda request: someone()
    with TestClient(app) as client:
        created = client.post("/api/2.0/mlflow/experiments/create", json={"name": "direct"})
        assert created.status_code == 200, created.text
        missing = client.post("/api/2.0/mlflow/runs/log-metric", json={"key": "k"})
        assert missing.status_code == 400
        assert missing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    platform = app.state.platform
    events = platform.audit.list(Actor(name="auditor"), resource_type="experiment")
    assert [e.actor for e in events if e.action == "experiment.create"] == ["someone"]


def test_exact_routes_answer_mlflow_rpcs_inside_clews_middleware(app: Any) -> None:
    """The dispatch answers a literal-path MLflow RPC before FastAPI's router, yet the request
    guard, the security headers, the metrics and MLflow's error shape all still apply, and
    whatever it does not know (another method, a trailing slash) still reaches FastAPI."""
    from clew.server.exact_routes import ExactRouteDispatch

    dispatch = next(m for m in app.user_middleware if m.cls is ExactRouteDispatch)
    routes = dispatch.kwargs["routes"]
    assert routes.get("POST", "/api/2.0/mlflow/runs/log-metric") is not None
    assert routes.get("POST", "/ajax-api/2.0/mlflow/runs/log-metric") is not None
    assert routes.get("GET", "/api/2.0/mlflow/runs/log-metric") is None
    assert len(routes) > 90

    with TestClient(app) as client:
        exp = client.post("/api/2.0/mlflow/experiments/create", json={"name": "exact"}).json()
        run = client.post(
            "/api/2.0/mlflow/runs/create", json={"experiment_id": exp["experiment_id"]}
        ).json()["run"]["info"]["run_id"]
        logged = client.post(
            "/api/2.0/mlflow/runs/log-metric",
            json={"run_id": run, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0},
        )
        assert logged.status_code == 200 and logged.json() == {}
        assert logged.headers["x-content-type-options"] == "nosniff"

        unknown_run = client.post(
            "/api/2.0/mlflow/runs/log-metric",
            json={"run_id": "0" * 32, "key": "loss", "value": 1, "timestamp": 1},
        )
        assert unknown_run.status_code == 404
        assert unknown_run.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

        not_json = client.post(
            "/api/2.0/mlflow/runs/log-metric",
            content=b"run_id=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert not_json.status_code == 415  # the guard runs before the dispatch

        wrong_method = client.get("/api/2.0/mlflow/runs/log-metric")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        slash = client.post("/api/2.0/mlflow/runs/log-metric/", json={}, follow_redirects=False)
        assert slash.status_code == 307  # FastAPI's redirect: the dispatch knows exact paths only

        history = client.get(
            "/api/2.0/mlflow/metrics/get-history", params={"run_id": run, "metric_key": "loss"}
        )
        assert [m["value"] for m in history.json()["metrics"]] == [0.5]
        scraped = client.get("/metrics").text
    assert 'route="/api/2.0/mlflow/runs/log-metric",status="200"' in scraped


def test_an_unexpected_error_in_an_exact_route_is_a_500_in_mlflow_shape(app: Any) -> None:
    from clew.server.deps import get_actor

    async def broken(request: Any) -> Any:
        raise RuntimeError("boom")

    app.dependency_overrides[get_actor] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/2.0/mlflow/experiments/create", json={"name": "x"})
    assert response.status_code == 500
    assert response.json() == {"error_code": "INTERNAL_ERROR", "message": "Internal server error"}
    assert response.headers["x-frame-options"] == "DENY"
    assert "boom" not in response.text
