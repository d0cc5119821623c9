"""A lineage graph: runs and artifact nodes, joined by the runs' INPUT and OUTPUT events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LineageNode:
    """``kind`` is ``run`` (``id`` is the run id) or ``artifact`` (``id`` is the node id as
    text; ``type`` says dataset, model, pipeline_output, …)."""

    kind: str
    id: str
    type: str
    name: str
    digest: str = ""
    uri: str = ""
    status: str = ""


@dataclass(frozen=True)
class LineageEdge:
    """``run`` read (INPUT) or wrote (OUTPUT) ``artifact`` under ``name``."""

    run: str
    artifact: str
    type: str
    name: str


@dataclass(frozen=True)
class LineageGraph:
    start: str
    nodes: list[LineageNode] = field(default_factory=list)
    edges: list[LineageEdge] = field(default_factory=list)
    #: True when the walk stopped at ``max_nodes`` before it ran out of graph.
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        # A shallow copy of each record's fields: their values are all text, and
        # ``dataclasses.asdict`` (which deep-copies) took 70 ms of a 2,000-node walk's answer.
        return {
            "start": self.start,
            "nodes": [dict(vars(n)) for n in self.nodes],
            "edges": [dict(vars(e)) for e in self.edges],
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageGraph:
        return cls(
            data["start"],
            [LineageNode(**n) for n in data["nodes"]],
            [LineageEdge(**e) for e in data["edges"]],
            bool(data.get("truncated", False)),
        )

    def node(self, key: str) -> LineageNode:
        return next(n for n in self.nodes if _key(n) == key)


def _key(node: LineageNode) -> str:
    return f"{node.kind}:{node.id}"


def node_key(kind: str, id_: str) -> str:
    return f"{kind}:{id_}"
