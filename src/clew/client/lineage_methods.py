"""The lineage half of :class:`~clew.client.client.Client` (a mixin, for file size)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clew.lineage.model import LineageGraph

if TYPE_CHECKING:
    from clew.client.transport import Transport


class LineageMethods:
    transport: Transport

    def get_lineage(
        self, run_id: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph:
        """What run ``run_id`` came from (``upstream``: what it read, the runs that wrote that,
        …) and what came of it (``downstream``), up to ``depth`` runs away and ``max_nodes``
        nodes (``truncated`` says the walk was cut)."""
        return self.transport.get_lineage(run_id, direction, depth, max_nodes)

    def get_artifact_lineage(
        self, ref: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph:
        """The same walk from an artifact: ``sha256:<digest>`` (every node holding those bytes)
        or a node's URI (``runs:/RUN/outputs/NAME`` for a pipeline step's output)."""
        return self.transport.get_artifact_lineage(ref, direction, depth, max_nodes)
