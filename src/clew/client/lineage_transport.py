"""Lineage walks on both transports (mixins of the local and HTTP transports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clew.lineage.model import LineageGraph

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform


class LocalLineage:
    platform: Platform
    actor: Actor

    def get_lineage(
        self, run_id: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph:
        return self.platform.lineage.of_run(
            self.actor, run_id, direction=direction, depth=depth, max_nodes=max_nodes
        )

    def get_artifact_lineage(
        self, ref: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph:
        return self.platform.lineage.of_artifact(
            self.actor, ref, direction=direction, depth=depth, max_nodes=max_nodes
        )


class HttpLineage:
    _json: Callable[..., Any]

    def get_lineage(
        self, run_id: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph:
        params = {"run_id": run_id, "direction": direction, "depth": depth, "max_nodes": max_nodes}
        return LineageGraph.from_dict(self._json("GET", "/lineage", params=params, idempotent=True))

    def get_artifact_lineage(
        self, ref: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph:
        params = {"artifact": ref, "direction": direction, "depth": depth, "max_nodes": max_nodes}
        return LineageGraph.from_dict(self._json("GET", "/lineage", params=params, idempotent=True))
