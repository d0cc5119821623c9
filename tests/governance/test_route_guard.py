"""Deny by default: with authentication on, every route the app serves (native, MLflow and its
ajax mirror, artifacts, pipelines, identity, audit) refuses a request without credentials,
except the few that are public on purpose. A new route that forgets to ask who is calling
fails here."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest
from starlette.routing import Route

from clew.core.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

#: Public on purpose: load balancers, the login itself, the API's own description.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/login"),
    # How to sign in, and who is signed in already: the UI's first call, before any login.
    ("GET", "/api/v1/auth/config"),
    # Single sign-on (a 404 when no provider is configured).
    ("GET", "/api/v1/auth/oidc/login"),
    ("GET", "/api/v1/auth/oidc/callback"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/version"),
    # What the MLflow client asks before anything else; it names the server, nothing stored.
    ("GET", "/api/3.0/mlflow/server-info"),
    ("GET", "/ajax-api/3.0/mlflow/server-info"),
}
#: A value for each path parameter that reaches the route (not a 404 from its pattern).
SAMPLES = {
    "run_id": "a" * 32, "job_id": "b" * 32, "step_run_id": "c" * 32, "token_id": "d" * 32,
    "digest": "e" * 64, "model_id": "m-" + "f" * 32, "experiment_id": "1", "version": "1",
    "webhook_id": "0" * 32, "delivery_id": "0" * 32,
}  # fmt: skip


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    from clew.server.app import create_app

    home = tmp_path_factory.mktemp("guard")
    settings = Settings(home=home, auth=True, allowed_hosts="testserver", password_hash_memory_kib=1024,
                        password_hash_time_cost=1)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path), documented or not (the MLflow routes are not in the OpenAPI
    document), walking the routers the app includes."""
    served: set[tuple[str, str]] = set()

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            context = getattr(route, "include_context", None)
            if context is not None:  # a router the app includes, under its prefix
                walk(context.included_router.routes, prefix + context.prefix)
            elif isinstance(route, Route) and route.path != "/docs/oauth2-redirect":
                path = prefix + route.path
                served.update((m, path) for m in route.methods or () if m != "HEAD")

    walk(list(app.routes), "")
    return served


def _concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return SAMPLES.get(name, "x")

    return re.sub(r"\{([^}]+)\}", value, path)


def test_every_route_but_the_public_ones_needs_credentials(
    guarded: tuple[FastAPI, TestClient],
) -> None:
    app, client = guarded
    routes = _routes(app)
    assert len(routes) > 150  # the whole app: native, MLflow, ajax, artifacts
    open_routes = []
    for method, path in sorted(routes):
        if (method, path) in PUBLIC:
            continue
        if method == "PUT" and "/artifacts/" in path:  # uploads stream bytes, not JSON
            response = client.put(_concrete(path), content=b"x",
                                  headers={"content-type": "application/octet-stream"})  # fmt: skip
        else:
            response = client.request(method, _concrete(path),
                                      json={} if method != "GET" else None)  # fmt: skip
        if response.status_code != 401:
            open_routes.append((method, path, response.status_code))
    assert open_routes == [], f"routes that answer without asking who is calling: {open_routes}"
    for method, path in PUBLIC & routes:
        if path != "/api/v1/auth/login":
            assert client.request(method, path).status_code != 401, path
