"""``mount_mlflow(app)``: MLflow's REST surface on a Clew app, every family under both prefixes.

Each prefix gets ``FeatureRouter`` objects built from the feature modules' ``add_routes``, one per
first path segment (``experiments``, ``runs``, ``registered-models`` …), so a native
``/api/v1`` call never tries an MLflow route and an MLflow call tries only its segment's
routes (``runs/log-metric`` tried ~40 routes before, twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fastapi import FastAPI

from clew.server.errors import ErrorShapes
from clew.server.exact_routes import ExactRoutes
from clew.server.mlflow_compat import (
    artifacts,
    logged_models,
    operations,
    registry,
    tracking,
    tracking_reads,
)
from clew.server.mlflow_compat.protocol import MlflowRoute, error_response
from clew.server.routing import FeatureRouter

#: The classic RPCs and the UI's mirror of them.
RPC_PREFIXES: Final = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
#: Where MLflow serves the RPCs only its UI calls (``experiments/search-datasets``).
UI_ONLY_PREFIXES: Final = ("/ajax-api/2.0/mlflow",)
#: The artifact proxy's prefixes (``mlflow-artifacts:`` URIs resolve against these).
PROXY_PREFIXES: Final = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
#: RPCs MLflow added in 3.x (``since.major = 3``).
V3_PREFIXES: Final = ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow")

AddRoutes = Callable[[FeatureRouter], None]


def _families() -> list[tuple[tuple[str, ...], tuple[AddRoutes, ...]]]:
    return [
        (
            RPC_PREFIXES,
            (
                tracking.add_routes,
                registry.add_routes,
                logged_models.add_routes,
                artifacts.add_routes,
            ),
        ),
        (UI_ONLY_PREFIXES, (tracking_reads.add_ajax_routes,)),
        (PROXY_PREFIXES, (artifacts.add_proxy_routes,)),
        (V3_PREFIXES, (operations.add_v3_routes,)),
    ]


def mount_mlflow(app: FastAPI) -> ExactRoutes:
    """The routes, and MLflow's error shape for everything under their prefixes, including
    what the router (unknown endpoint, wrong method) and the request guard answer.

    Returns the routes with a literal path and a direct handler (``MlflowRoute.is_direct``),
    for ``ExactRouteDispatch`` to answer before FastAPI's router; they stay mounted in FastAPI
    too, which serves the methods and paths the dispatch does not know.
    """
    shapes: ErrorShapes = app.state.error_shapes
    exact = ExactRoutes()
    shapes.add((*RPC_PREFIXES, *PROXY_PREFIXES, *V3_PREFIXES), error_response)
    for prefixes, adders in _families():
        for prefix in prefixes:
            family = FeatureRouter(route_class=MlflowRoute, include_in_schema=False)
            for add in adders:
                add(family)
            for router in family.by_first_segment():
                router.mount_at(prefix)
                app.include_router(router, prefix=prefix)
            _collect_exact(family, prefix, exact)
    operations.add_root_routes(app)
    return exact


def _collect_exact(family: FeatureRouter, prefix: str, exact: ExactRoutes) -> None:
    for route in family.routes:
        if isinstance(route, MlflowRoute) and route.is_direct and "{" not in route.path:
            handler = route.get_route_handler()
            for method in route.methods or ():
                exact.add(method, prefix + route.path, handler)


def is_mlflow_upload(method: str, path: str) -> bool:
    """An artifact PUT through the proxy: the body guard lets it stream past the JSON limit."""
    return method == "PUT" and any(path.startswith(p + "/artifacts/") for p in PROXY_PREFIXES)
