"""Reading the audit log over HTTP: filtered pages (newest first) and chain verification.

Pages use a cursor, never an offset: pass the last event's ``seq`` (also returned as
``next_after_seq`` when the page is full) as ``after_seq`` to get the next, older page.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import orjson
from fastapi import Query
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from clew.audit.service import MAX_LIMIT
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["audit"])

_Text = Annotated[str | None, Query(max_length=500)]
_Millis = Annotated[int | None, Query(ge=0, lt=2**63)]


class AuditEventOut(BaseModel):
    seq: int
    time: int
    actor: str
    actor_kind: str
    action: str
    resource_type: str
    resource_id: str
    summary: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_after_seq: int | None


class VerificationOut(BaseModel):
    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None
    reason: str
    head_hash: str


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/audit/events", response_model=AuditPage)
def list_audit_events(
    platform: PlatformDep,
    actor: ActorDep,
    actor_name: Annotated[str | None, Query(alias="actor", max_length=500)] = None,
    action: _Text = None,
    resource_type: _Text = None,
    resource_id: _Text = None,
    since: _Millis = None,
    until: _Millis = None,
    after_seq: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    """Events matching every given filter; ``since``/``until`` are UTC milliseconds."""
    events = platform.audit.list(
        actor,
        actor_name=actor_name,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        since_ms=since,
        until_ms=until,
        after_seq=after_seq,
        limit=limit,
    )
    cursor = events[-1].seq if len(events) == limit else None
    return _json({"events": [e.to_dict() for e in events], "next_after_seq": cursor})


@router.get("/audit/verify", response_model=VerificationOut)
def verify_audit(platform: PlatformDep, actor: ActorDep) -> Response:
    """Recompute the hash chain; ``ok`` is false and ``broken_seq`` names the first bad link."""
    return _json(dataclasses.asdict(platform.audit.verify(actor)))


@router.get("/audit/export", response_class=StreamingResponse)
def export_audit(
    platform: PlatformDep,
    actor: ActorDep,
    since_seq: Annotated[int, Query(ge=1)] = 1,
) -> StreamingResponse:
    """The log as JSON Lines, oldest first, ending in a head line (signed with the server's
    ``CLEW_AUDIT_SIGNING_KEY`` when it has one): ``clew audit verify --file`` checks it."""
    lines = platform.audit.export(actor, since_seq)
    return StreamingResponse(lines, media_type="application/x-ndjson")
