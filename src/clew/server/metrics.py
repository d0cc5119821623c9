"""Prometheus metrics of the HTTP server, in a registry that belongs to one app.

No global registry: two apps in one process (tests, or the MLflow adapter beside the native
API) would otherwise share counters and fail on duplicate names. Labels use the route
*template* (``/api/v1/runs/{run_id}``), never the raw path, so cardinality stays bounded;
requests that match no route count under ``<unmatched>``.

With several uvicorn workers each process exposes its own numbers; scrape them per process or
run one worker per container (the usual Kubernetes layout).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clew.server.exact_routes import ROUTE_TEMPLATE

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "clew_http_requests",
            "HTTP requests handled, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "clew_http_request_duration_seconds",
            "Time from request start to the end of the response, by method and route template.",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=self.registry,
        )

    async def endpoint(self, _request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            template = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)


def _route_template(scope: Scope) -> str:
    exact = scope.get(ROUTE_TEMPLATE)
    if exact is not None:
        return str(exact)
    # FastAPI keeps an included router's routes relative to their prefix; the full template
    # is on its per-request route context (falling back to the matched route's own path).
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    return template or "<unmatched>"
