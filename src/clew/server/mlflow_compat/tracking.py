"""MLflow's tracking RPCs over Clew's services (being written)."""

from __future__ import annotations

from clew.server.routing import FeatureRouter


def add_routes(router: FeatureRouter) -> None:
    """Add this family's routes to ``router`` (mounted under each RPC prefix)."""
