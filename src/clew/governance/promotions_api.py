"""The REST API of model policies and promotion requests. Parse → ``PromotionService``."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["promotions"])

ModelName = Annotated[str, Path(min_length=1, max_length=500)]
RequestId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


class SetPolicy(BaseModel):
    document: Annotated[str, Field(max_length=64 * 1024)]


class OpenRequest(BaseModel):
    model: Annotated[str, Field(min_length=1, max_length=500)]
    version: Annotated[int, Field(ge=1)]
    alias: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    stage: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    justification: Annotated[str, Field(min_length=1, max_length=4000)]


class Decide(BaseModel):
    comment: Annotated[str, Field(max_length=4000)] = ""


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


@router.put("/registered-models/{name}/policy")
def set_model_policy(
    name: ModelName, body: SetPolicy, platform: PlatformDep, actor: ActorDep
) -> Response:
    """A new version of the model's policy (YAML; maintainers)."""
    return _json(platform.promotions.set_policy(actor, name, body.document))


@router.get("/registered-models/{name}/policy")
def get_model_policy(name: ModelName, platform: PlatformDep, actor: ActorDep) -> Response:
    """The model's newest policy, or ``{"policy": null}``."""
    found = platform.promotions.get_policy(actor, name)
    return _json(found if found is not None else {"model": name, "policy": None})


@router.post("/promotion-requests", status_code=201)
def open_promotion_request(body: OpenRequest, platform: PlatformDep, actor: ActorDep) -> Response:
    """Ask to move a protected alias or stage; the policy's checks run now and are frozen."""
    made = platform.promotions.request(actor, body.model, body.version, alias=body.alias,
                                       stage=body.stage, justification=body.justification)  # fmt: skip
    return _json(made.to_dict(), 201)


@router.get("/promotion-requests")
def list_promotion_requests(
    platform: PlatformDep,
    actor: ActorDep,
    model: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    found = platform.promotions.list_requests(actor, model, state, limit)
    return _json({"requests": [r.to_dict() for r in found]})


@router.get("/promotion-requests/{request_id}")
def get_promotion_request(
    request_id: RequestId, platform: PlatformDep, actor: ActorDep
) -> Response:
    """The request, and in ``allowed`` what the caller may do to it now (approve, reject,
    cancel, apply): the same rules those calls enforce, so a UI shows only working buttons."""
    found = platform.promotions.get(actor, request_id)
    allowed = platform.promotions.allowed_actions(actor, found)
    return _json({**found.to_dict(), "allowed": allowed})


@router.post("/promotion-requests/{request_id}/approve")
def approve_promotion_request(
    request_id: RequestId, body: Decide, platform: PlatformDep, actor: ActorDep
) -> Response:
    decided = platform.promotions.decide(actor, request_id, approve=True, comment=body.comment)
    return _json(decided.to_dict())


@router.post("/promotion-requests/{request_id}/reject")
def reject_promotion_request(
    request_id: RequestId, body: Decide, platform: PlatformDep, actor: ActorDep
) -> Response:
    decided = platform.promotions.decide(actor, request_id, approve=False, comment=body.comment)
    return _json(decided.to_dict())


@router.post("/promotion-requests/{request_id}/cancel")
def cancel_promotion_request(
    request_id: RequestId, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _json(platform.promotions.cancel(actor, request_id).to_dict())


@router.post("/promotion-requests/{request_id}/apply")
def apply_promotion_request(
    request_id: RequestId, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Move the alias or stage, re-checking the policy, in one transaction with the audit."""
    return _json(platform.promotions.apply(actor, request_id).to_dict())


@router.get("/registered-models/{name}/aliases/{alias}/provenance")
def alias_provenance(
    name: ModelName,
    alias: Annotated[str, Path(min_length=1, max_length=256)],
    platform: PlatformDep,
    actor: ActorDep,
    at: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
) -> Response:
    """Who held the alias at ``at`` (UTC ms; now if left out), the move that put it there,
    and the promotion request that approved that move with its approvals and evidence."""
    return _json(platform.promotions.provenance(actor, name, alias, at))


@router.get("/registered-models/{name}/versions/{version}/report")
def compliance_report(
    name: ModelName,
    version: Annotated[int, Path(ge=1)],
    platform: PlatformDep,
    actor: ActorDep,
    format: Annotated[str, Query(pattern="^(markdown|html)$")] = "html",
) -> Response:
    """The version's evidence pack (EU AI Act Annex IV headings), as HTML or Markdown."""
    from clew.governance import report

    text = report.render(platform, actor, name, version, format)
    media = "text/html" if format == "html" else "text/markdown"
    return Response(text, media_type=f"{media}; charset=utf-8")
