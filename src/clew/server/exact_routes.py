"""``ExactRoutes``: literal-path routes answered by one dictionary lookup, before FastAPI.

MLflow's client calls a handful of RPCs thousands of times a run (``runs/log-metric``,
``runs/log-batch``, ``runs/get``). Each has a literal path, and its endpoint reads its own
fields (``mlflow_compat.protocol.MlflowRoute``), so FastAPI adds nothing to those calls: they
still went through its exception middleware, the app router, the included router's route
matching, the route's request wrapper and the exit stacks it opens for dependencies with
``yield``. ``ExactRouteDispatch`` sits inside Clew's own middleware (security headers, metrics,
the request guard, all still applied) and answers such a route itself; any other request,
including the same path with another method or a trailing slash, goes on to FastAPI.

An endpoint dispatched here must turn its own ``ClewError`` into a response (``MlflowRoute``'s
handler does); anything else it raises reaches Starlette's ``ServerErrorMiddleware`` and the
app's 500 handler, as it would through FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]

#: The scope key that names the matched route's template for ``server.metrics``.
ROUTE_TEMPLATE: Final = "clew.route_template"


class ExactRoutes:
    """``(method, path) -> endpoint`` for routes whose path has no parameters."""

    def __init__(self) -> None:
        self._table: dict[tuple[str, str], Endpoint] = {}

    def add(self, method: str, path: str, endpoint: Endpoint) -> None:
        if "{" in path:
            raise ValueError(f"{path!r} has path parameters; only literal paths dispatch here")
        key = (method.upper(), path)
        if key in self._table:
            raise ValueError(f"{method} {path} is already routed")
        self._table[key] = endpoint

    def get(self, method: str, path: str) -> Endpoint | None:
        return self._table.get((method, path))

    def __len__(self) -> int:
        return len(self._table)


class ExactRouteDispatch:
    """Pure ASGI middleware: a request for an exact route is answered here, the rest pass on."""

    def __init__(self, app: ASGIApp, *, routes: ExactRoutes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = get_route_path(scope)
            endpoint = self.routes.get(scope["method"], path)
            if endpoint is not None:
                scope[ROUTE_TEMPLATE] = path
                response = await endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
