"""The webhooks REST API under ``/api/v1/webhooks``: parse → ``WebhookService`` → response.

Pages use cursors: the webhook list is oldest first (``after`` = the last id seen), the
delivery log newest first (``before`` = the last id seen); ``next`` is set when a page is full.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import orjson
from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.responses import Response

from clew.registry.webhooks.model import (
    EVENT_TYPES,
    MAX_DESCRIPTION,
    MAX_MODEL_NAME,
    MAX_PAGE,
    MAX_URL,
)
from clew.registry.webhooks.service import KEEP
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["webhooks"])

_Id = r"^[0-9a-f]{32}$"
WebhookId = Annotated[str, Path(pattern=_Id)]
Cursor = Annotated[str | None, Query(pattern=_Id)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
EventType = Literal[
    "registered_model.created",
    "model_version.created",
    "alias.set",
    "alias.deleted",
    "stage.changed",
]
assert set(get_args(EventType)) == set(EVENT_TYPES), "EventType must list EVENT_TYPES"
Url = Annotated[StrictStr, Field(min_length=1, max_length=MAX_URL)]
ModelName = Annotated[StrictStr, Field(min_length=1, max_length=MAX_MODEL_NAME)]
Description = Annotated[StrictStr, Field(max_length=MAX_DESCRIPTION)]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateWebhook(_Request):
    url: Url
    events: Events
    model_name: ModelName | None = None
    description: Description = ""
    active: StrictBool = True


class UpdateWebhook(_Request):
    """Only the fields present change; ``"model_name": null`` removes the model filter."""

    url: Url | None = None
    events: Events | None = None
    model_name: ModelName | None = None
    description: Description | None = None
    active: StrictBool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    model_name: str | None
    description: str
    active: bool
    created_by: str
    created_at: int
    updated_at: int


class WebhookCreated(BaseModel):
    webhook: WebhookOut
    secret: str = Field(description="Signs every delivery (HMAC-SHA256); shown only now")


class WebhookPage(BaseModel):
    webhooks: list[WebhookOut]
    next: str | None


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next: str | None


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
def create_webhook(body: CreateWebhook, platform: PlatformDep, actor: ActorDep) -> Response:
    """Subscribe a URL to registry events. The answer holds the signing secret, once."""
    created = platform.webhooks.create(
        actor,
        body.url,
        body.events,
        model_name=body.model_name,
        description=body.description,
        active=body.active,
    )
    return _json(created.to_dict(), 201)


@router.get("/webhooks", response_model=WebhookPage)
def list_webhooks(
    platform: PlatformDep, actor: ActorDep, after: Cursor = None, limit: Limit = 100
) -> Response:
    hooks = platform.webhooks.list_webhooks(actor, after=after, limit=limit)
    cursor = hooks[-1].id if len(hooks) == limit else None
    return _json({"webhooks": [h.to_dict() for h in hooks], "next": cursor})


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: WebhookId, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.webhooks.get(actor, webhook_id).to_dict())


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut)
def update_webhook(
    webhook_id: WebhookId, body: UpdateWebhook, platform: PlatformDep, actor: ActorDep
) -> Response:
    given = body.model_fields_set
    changes: dict[str, Any] = {
        name: getattr(body, name) if name in given else KEEP
        for name in ("url", "events", "model_name", "description", "active")
    }
    # Only model_name may be cleared with null; null elsewhere means "leave it".
    for name in ("url", "events", "description", "active"):
        if changes[name] is None:
            changes[name] = KEEP
    return _json(platform.webhooks.update(actor, webhook_id, **changes).to_dict())


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response)
def delete_webhook(webhook_id: WebhookId, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.webhooks.delete(actor, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", response_model=DeliveryOut)
def test_webhook(webhook_id: WebhookId, platform: PlatformDep, actor: ActorDep) -> Response:
    """Send a signed ``ping`` now and answer with its delivery (status code or error)."""
    return _json(platform.webhooks.test(actor, webhook_id).to_dict())


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    webhook_id: WebhookId,
    platform: PlatformDep,
    actor: ActorDep,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    before: Cursor = None,
    limit: Limit = 100,
) -> Response:
    found = platform.webhooks.list_deliveries(
        actor, webhook_id, status=status, before=before, limit=limit
    )
    cursor = found[-1].id if len(found) == limit else None
    return _json({"deliveries": [d.to_dict() for d in found], "next": cursor})
