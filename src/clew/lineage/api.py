"""The lineage REST API: parse → ``LineageService`` → response."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Query
from pydantic import BaseModel
from starlette.responses import Response

from clew.core.errors import InvalidInput
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
    run_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
    artifact: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    direction: Annotated[str, Query(pattern=r"^(upstream|downstream|both)$")] = "both",
    depth: Annotated[int, Query(ge=1, le=50)] = 10,
    max_nodes: Annotated[int, Query(ge=1, le=10_000)] = 2000,
) -> Response:
    """What a run (``run_id``) or an artifact (``artifact``: ``sha256:<digest>`` or its URI)
    came from and what came of it: runs and the nodes (datasets, models, step outputs) their
    INPUT and OUTPUT events join."""
    if (run_id is None) == (artifact is None):
        raise InvalidInput("Give exactly one of run_id and artifact")
    walk = platform.lineage.of_run if run_id is not None else platform.lineage.of_artifact
    graph = walk(actor, run_id or str(artifact), direction=direction, depth=depth,
                 max_nodes=max_nodes)  # fmt: skip
    return Response(orjson.dumps(graph.to_dict()), media_type="application/json")
