"""MLflow's artifact proxy and ``artifacts/list`` over Clew's artifact services (being written)."""

from __future__ import annotations

from clew.server.routing import FeatureRouter


def add_routes(router: FeatureRouter) -> None:
    """``/artifacts/list`` under each RPC prefix."""


def add_proxy_routes(router: FeatureRouter) -> None:
    """``/artifacts/<path>`` PUT/GET/DELETE and ``/artifacts?path=`` under each proxy prefix."""
