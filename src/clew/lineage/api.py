"""The lineage REST API: parse → ``LineageService`` → response."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Query
from pydantic import BaseModel
from starlette.responses import Response

from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["lineage"])


class NodeOut(BaseModel):
    kind: str
    id: str
    type: str
    name: str
    digest: str
    uri: str
    status: str


class EdgeOut(BaseModel):
    run: str
    artifact: str
    type: str
    name: str


class LineageOut(BaseModel):
    start: str
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    truncated: bool


@router.get("/lineage", response_model=LineageOut)
def run_lineage(
    platform: PlatformDep,
    actor: ActorDep,
    run_id: Annotated[str, Query(pattern=r"^[0-9a-f]{32}$")],
    direction: Annotated[str, Query(pattern=r"^(upstream|downstream|both)$")] = "both",
    depth: Annotated[int, Query(ge=1, le=50)] = 10,
    max_nodes: Annotated[int, Query(ge=1, le=10_000)] = 2000,
) -> Response:
    """What a run came from and what came of it: runs and the nodes (datasets, models, step
    outputs) their INPUT and OUTPUT events join."""
    graph = platform.lineage.of_run(
        actor, run_id, direction=direction, depth=depth, max_nodes=max_nodes
    )
    return Response(orjson.dumps(graph.to_dict()), media_type="application/json")
