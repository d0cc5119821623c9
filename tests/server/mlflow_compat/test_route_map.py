"""Every MLflow route maps to a service call (issue 4, point 4: governance holds on this surface).

The adapter is thin: a route reads MLflow's fields and calls the same service method the native
API calls, so authorization, validation, audit and lineage happen once, in the services. This
test holds that for every route, including ones added later: the app is built in process over
a platform whose services are wrapped by recording proxies; every route under the MLflow
prefixes is found in ``app.routes`` and called once with plausible fields over a seeded
experiment, run, logged model and registered model with a version; each call must reach at
least one service method. A route answered by the adapter alone (its own store, its own rules)
fails here. Operations routes (``server-info``, ``/version``) are exempt by name.

The recorder counts a call that the service then refuses (an error still went through the one
rule set), so the fields need only get past MLflow's presence checks in the adapter.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from clew.core.settings import Settings
from clew.platform import Platform
from clew.server.app import create_app
from clew.server.deps import ANONYMOUS
from clew.server.mlflow_compat import uris
from clew.server.mlflow_compat.mount import PROXY_PREFIXES, RPC_PREFIXES, V3_PREFIXES
from clew.tracking.model import Metric

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

#: The services a route may reach; each is wrapped on the Platform instance.
SERVICES = ("tracking", "registry", "logged_models", "artifacts", "logged_model_artifacts", "audit")
#: Routes that answer about the server itself, not about any resource.
EXEMPT = frozenset({"/server-info"})
#: Routes MLflow serves under ``/ajax-api`` only (its UI's), and Clew with it.
UI_ONLY = frozenset({"/experiments/search-datasets"})
#: (primary, mirror) prefix pairs that must serve the same routes.
PAIRS = (RPC_PREFIXES, PROXY_PREFIXES, V3_PREFIXES)
ALL_PREFIXES = tuple(p for pair in PAIRS for p in pair)


class Recording:
    """Forwards every attribute to ``target``; a call of a method is recorded by name first
    (so a call the service refuses still counts)."""

    def __init__(self, target: Any, name: str, calls: list[str]) -> None:
        self._target, self._name, self._calls = target, name, calls

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if attr.startswith("_") or not callable(value):
            return value
        calls, label = self._calls, f"{self._name}.{attr}"

        def recorded(*args: Any, **kwargs: Any) -> Any:
            calls.append(label)
            return value(*args, **kwargs)

        return recorded


# ---- the route table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    prefix: str
    path: str  # below the prefix, e.g. "/runs/create"
    method: str


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) for every APIRoute, through nested routers. FastAPI 0.165 keeps an
    included router as one ``_IncludedRouter`` entry (its prefix on ``include_context``);
    older versions flattened them into routes with the full path; both are handled."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from walk(inner.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def mlflow_endpoints(app: Any) -> list[Endpoint]:
    found = set()
    for full, route in walk(app.routes):
        prefix = next((p for p in ALL_PREFIXES if full.startswith(p + "/") or full == p), None)
        if prefix is None:
            continue
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add(Endpoint(prefix, full[len(prefix) :] or "/", method))
    return sorted(found, key=lambda e: (_phase(e), e.prefix, e.path, e.method))


def _phase(e: Endpoint) -> int:
    """Calls that change a seed's state go late, so the seeds stay live for the others:
    updates (a finished run takes no metrics), then tag and alias deletes, then deletes of
    whole resources, restores, and renames last (a renamed model is not found by name)."""
    if e.path.endswith("/rename"):
        return 5
    if e.path.endswith("/restore"):
        return 4
    if e.path.endswith("/delete") or (e.method == "DELETE" and e.path.endswith("{model_id}")):
        return 3
    if "delete" in e.path or e.method == "DELETE":
        return 2
    return 1 if "update" in e.path else 0


# ---- the platform and its seeds ----------------------------------------------------------------


@dataclass
class Seeds:
    experiment_id: str
    experiment_name: str
    run_id: str
    model_id: str
    model: str
    version: str


@dataclass
class Harness:
    client: TestClient
    app: Any
    calls: list[str]
    seeds: Seeds


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    settings = Settings(home=tmp_path_factory.mktemp("route-map"), allowed_hosts="testserver")
    platform = Platform.open(settings)
    seeds = _seed(platform)
    calls: list[str] = []
    for name in SERVICES:
        setattr(platform, name, Recording(getattr(platform, name), name, calls))
    app = create_app(settings, platform)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Harness(client, app, calls, seeds)
    platform.close()


def _seed(platform: Platform) -> Seeds:
    """What the routes act on, made through the real services before they are wrapped."""
    actor, tag = ANONYMOUS, uuid.uuid4().hex[:8]
    exp_name = f"map-{tag}"
    eid = platform.tracking.create_experiment(actor, exp_name)
    run = platform.tracking.create_run(
        actor,
        experiment_id=eid,
        run_name="r",
        params=[("p", "1")],
        metrics=[Metric("m", 1.0, 1, 0)],
    )
    run_id = run.info.run_id
    platform.artifacts.log_stream(actor, run_id, "model/MLmodel", io.BytesIO(b"flavors: {}\n"))
    platform.artifacts.log_stream(actor, run_id, "f.txt", io.BytesIO(b"f"))
    logged = platform.logged_models.create(
        actor, experiment_id=eid, name="lm", source_run_id=run_id
    )
    platform.logged_model_artifacts.log_stream(
        actor, logged.model_id, "MLmodel", io.BytesIO(b"flavors: {}\n")
    )
    model = f"map-model-{tag}"
    platform.registry.create_registered_model(actor, model)
    version = platform.registry.create_model_version(
        actor, model, f"runs:/{run_id}/model", run_id=run_id
    )
    platform.registry.set_registered_model_alias(actor, model, "champion", version.version)
    return Seeds(eid, exp_name, run_id, logged.model_id, model, str(version.version))


# ---- plausible fields per route ----------------------------------------------------------------


def fields_for(endpoint: Endpoint, s: Seeds) -> dict[str, Any]:
    """A superset of what MLflow's client sends to this route (reference/mlflow.md §1.2); every
    id names a seed, every new name is fresh."""
    path, fresh = endpoint.path, uuid.uuid4().hex[:8]
    logged = path.startswith("/logged-models")
    registry = path.startswith(("/registered-models", "/model-versions"))
    f: dict[str, Any] = {
        "experiment_id": s.experiment_id,
        "experiment_ids": [s.experiment_id],
        "experiment_name": s.experiment_name,
        "run_id": s.run_id,
        "run_uuid": s.run_id,
        "run_ids": [s.run_id],
        "model_id": s.model_id,
        "version": s.version,
        "alias": "champion",
        "key": "k",
        "value": "1",
        "metric_key": "m",
        "timestamp": 1,
        "step": 0,
        "stage": "Staging",
        "stages": ["Staging"],
        "archive_existing_versions": False,
        "description": "d",
        "new_name": f"renamed-{fresh}",
        "max_results": 10,
        "source": f"runs:/{s.run_id}/model",
        "status": "LOGGED_MODEL_READY" if logged else "FINISHED",
        "run_name": "r",
        "start_time": 1,
        "end_time": 2,
        "path": "",
        "model_json": orjson.dumps(
            {
                "run_id": s.run_id,
                "artifact_path": "model",
                "utc_time_created": "2024-01-01 00:00:00",
                "flavors": {"python_function": {}},
            }
        ).decode(),
    }
    if registry:
        f["name"] = f"new-{fresh}" if path.endswith("/create") and "registered" in path else s.model
    elif path.startswith("/experiments"):
        f["name"] = f"exp-{fresh}"
    else:
        f["name"] = "lm"
    if endpoint.method != "GET":
        f["tags"] = [{"key": "t", "value": "v"}]
        f["params"] = [{"key": f"p-{fresh}", "value": "v"}]
        f["metrics"] = [{"key": "m", "value": 2.0, "timestamp": 2, "step": 1}]
        if path == "/runs/log-inputs":
            f["datasets"] = [
                {"dataset": {"name": "d", "digest": "abc", "source_type": "local", "source": "{}"}}
            ]
            f["models"] = [{"model_id": s.model_id}]
        if path == "/runs/outputs":
            f["models"] = [{"model_id": s.model_id, "step": 0}]
    return f


_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def concrete(endpoint: Endpoint, s: Seeds) -> str:
    """The route's path with its parameters filled: a logged model id, a tag key, or an
    artifact path inside the seeded run (or the logged model, for a models path)."""

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if "model_id" in name or name == "id":
            return s.model_id
        if "key" in name:
            return "t"
        if "path" in name:
            return uris.run_root(s.experiment_id, s.run_id).split(":", 1)[1].strip("/") + "/f.txt"
        return "x"

    return endpoint.prefix + _PARAM.sub(fill, endpoint.path)


def hit(h: Harness, endpoint: Endpoint) -> tuple[list[str], int, str]:
    """Call one route; the service methods it reached, its status and the start of its body."""
    url = concrete(endpoint, h.seeds)
    fields = fields_for(endpoint, h.seeds)
    del h.calls[:]
    send: Callable[..., Any] = h.client.request
    if endpoint.prefix in PROXY_PREFIXES:
        if endpoint.method == "PUT":
            response = send("PUT", url, content=b"replaced", headers={"content-type": "text/plain"})
        elif "{" in endpoint.path:
            response = send(endpoint.method, url)
        else:  # the proxy's listing: GET /artifacts?path=<dir>
            run_dir = concrete(Endpoint("", "/{path:path}", "GET"), h.seeds).rsplit("/", 1)[0]
            response = send(endpoint.method, url, params={"path": run_dir.lstrip("/")})
    elif endpoint.method == "GET":
        query = {k: v for k, v in fields.items() if not isinstance(v, dict | bool)}
        query = {
            k: v
            for k, v in query.items()
            if not (isinstance(v, list) and v and isinstance(v[0], dict))
        }
        response = send("GET", url, params=query)
    else:
        response = send(endpoint.method, url, json=fields)
    return list(h.calls), response.status_code, response.text[:200]


# ---- the tests ---------------------------------------------------------------------------------


def test_the_mlflow_routes_are_found(harness: Harness) -> None:
    """No vacuous pass: the walk finds the RPC and proxy routes, not just server-info."""
    endpoints = mlflow_endpoints(harness.app)
    rpc = [e for e in endpoints if e.prefix == RPC_PREFIXES[0] and e.path not in EXEMPT]
    proxy = [e for e in endpoints if e.prefix == PROXY_PREFIXES[0]]
    assert rpc, "no MLflow RPC route under /api/2.0/mlflow"
    assert proxy, "no artifact proxy route under /api/2.0/mlflow-artifacts"
    assert any(e.prefix == V3_PREFIXES[0] and e.path == "/server-info" for e in endpoints)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p[0])
def test_both_prefixes_serve_the_same_routes(harness: Harness, pair: tuple[str, str]) -> None:
    endpoints = mlflow_endpoints(harness.app)
    primary, mirror = (
        {(e.path, e.method) for e in endpoints if e.prefix == prefix and e.path not in UI_ONLY}
        for prefix in pair
    )
    assert primary, f"no route under {pair[0]}"
    assert primary == mirror, {
        "only " + pair[0]: primary - mirror,
        "only " + pair[1]: mirror - primary,
    }


def test_every_mlflow_route_calls_a_service(harness: Harness) -> None:
    endpoints = [e for e in mlflow_endpoints(harness.app) if e.path not in EXEMPT]
    assert endpoints, "no MLflow route to check"
    unmapped, crashed = [], []
    for endpoint in endpoints:
        calls, status, body = hit(harness, endpoint)
        label = f"{endpoint.method} {endpoint.prefix}{endpoint.path}"
        if not calls:
            unmapped.append(f"{label} -> {status} {body}")
        if status >= 500:
            crashed.append(f"{label} -> {status} {body}")
    assert not unmapped, "routes that reached no service:\n" + "\n".join(unmapped)
    assert not crashed, "routes that failed with a 5xx:\n" + "\n".join(crashed)


def test_the_recorder_records(harness: Harness) -> None:
    """The proxy is live: a native call through the same app is recorded (else every route
    above would look unmapped for the wrong reason)."""
    del harness.calls[:]
    response = harness.client.get(f"/api/v1/runs/{harness.seeds.run_id}")
    assert response.status_code == 200, response.text
    assert "tracking.get_run" in harness.calls
