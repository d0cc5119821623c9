"""The logged-model REST API under ``/logged-models``: parse → service → response. No try/except.

Responses are ``LoggedModel.to_dict()`` through orjson (the ``response_model`` documents the
shape, as in tracking's API). A model's files use the same streaming upload and download as a
run's artifacts, through the artifact service whose owner is the model id; uploads are accepted
while the model is PENDING only.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, Final

import orjson
from fastapi import Path, Query
from starlette.requests import Request
from starlette.responses import Response

from clew.artifacts.api import FileInfoOut, FileList, file_response, store_upload
from clew.registry import logged_api_schemas as s
from clew.registry.logged_model import DatasetFilter, LoggedModelMetric, LoggedModelOrder
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter
from clew.tracking.model import decode_float

router = FeatureRouter(tags=["logged models"])

ModelId = Annotated[str, Path(pattern=r"^m-[0-9a-f]{32}$")]
KeyQuery = Annotated[str, Query(min_length=1, max_length=250)]
_UPLOAD = re.compile(r"^/logged-models/[^/]+/artifacts/.")
_BINARY: Final[dict[str, Any]] = {"schema": {"type": "string", "format": "binary"}}


def is_upload(method: str, path: str) -> bool:
    """Whether a request (path relative to the API prefix) streams a logged model's file."""
    return method == "PUT" and _UPLOAD.match(path) is not None


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _done() -> Response:
    return Response(status_code=204)


@router.post("/logged-models", status_code=201, response_model=s.LoggedModelOut)
def create_logged_model(
    body: s.CreateLoggedModel, platform: PlatformDep, actor: ActorDep
) -> Response:
    model = platform.logged_models.create(
        actor,
        experiment_id=body.experiment_id,
        name=body.name,
        source_run_id=body.source_run_id,
        model_type=body.model_type,
        params=[(p.key, p.value) for p in body.params],
        tags=body.tags or {},
    )
    return _json(model.to_dict(), 201)


@router.post("/logged-models/search", response_model=s.LoggedModelPage)
def search_logged_models(
    body: s.SearchLoggedModels, platform: PlatformDep, actor: ActorDep
) -> Response:
    order_by = [
        o if isinstance(o, str) else LoggedModelOrder(**o.model_dump()) for o in body.order_by
    ]
    page = platform.logged_models.search(
        actor,
        experiment_ids=body.experiment_ids,
        filter_string=body.filter,
        datasets=[DatasetFilter(d.dataset_name, d.dataset_digest) for d in body.datasets],
        max_results=body.max_results,
        order_by=order_by,
        page_token=body.page_token,
    )
    return _json(
        {"models": [m.to_dict() for m in page.items], "next_page_token": page.next_page_token}
    )


@router.get("/logged-models/{model_id}", response_model=s.LoggedModelOut)
def get_logged_model(model_id: ModelId, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.logged_models.get(actor, model_id).to_dict())


@router.patch("/logged-models/{model_id}", response_model=s.LoggedModelOut)
def finalize_logged_model(
    model_id: ModelId, body: s.FinalizeLoggedModel, platform: PlatformDep, actor: ActorDep
) -> Response:
    """PENDING → READY or FAILED, once (``INVALID_STATUS_TRANSITION`` otherwise)."""
    model = platform.logged_models.finalize(actor, model_id, body.status, body.status_message)
    return _json(model.to_dict())


@router.delete("/logged-models/{model_id}", status_code=204, response_class=Response)
def delete_logged_model(model_id: ModelId, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.logged_models.delete(actor, model_id)
    return _done()


@router.post("/logged-models/{model_id}/tags", status_code=204, response_class=Response)
def set_logged_model_tags(
    model_id: ModelId, body: s.SetLoggedModelTags, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.logged_models.set_tags(actor, model_id, body.tags)
    return _done()


@router.delete("/logged-models/{model_id}/tags", status_code=204, response_class=Response)
def delete_logged_model_tag(
    model_id: ModelId, key: KeyQuery, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.logged_models.delete_tag(actor, model_id, key)
    return _done()


@router.post("/logged-models/{model_id}/params", status_code=204, response_class=Response)
def log_logged_model_params(
    model_id: ModelId, body: s.LogLoggedModelParams, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.logged_models.log_params(actor, model_id, [(p.key, p.value) for p in body.params])
    return _done()


@router.post("/logged-models/{model_id}/metrics", status_code=204, response_class=Response)
def log_logged_model_metrics(
    model_id: ModelId, body: s.LogLoggedModelMetrics, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Metric points, each optionally on a run and a dataset; a retried batch changes nothing."""
    points = [
        LoggedModelMetric(
            m.key,
            decode_float(m.value),
            m.timestamp,
            m.step,
            m.run_id,
            m.dataset_name,
            m.dataset_digest,
        )
        for m in body.metrics
    ]
    platform.logged_models.log_metrics(actor, model_id, points)
    return _done()


# ---- files -------------------------------------------------------------------------------------


@router.put(
    "/logged-models/{model_id}/artifacts/{path:path}",
    response_model=FileInfoOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}
    },
)
async def upload_logged_model_artifact(
    model_id: ModelId, path: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Store the body at ``path`` among the model's files (while it is PENDING)."""
    files = platform.logged_model_artifacts
    info = await store_upload(
        request,
        platform.settings.max_artifact_bytes,
        partial(files.log_stream, actor, model_id, path),
    )
    return _json(info.to_dict())


@router.get("/logged-models/{model_id}/artifacts", response_model=FileList)
def list_logged_model_artifacts(
    model_id: ModelId,
    platform: PlatformDep,
    actor: ActorDep,
    path: Annotated[str, Query(max_length=4096)] = "",
) -> Response:
    files = platform.logged_model_artifacts.list(actor, model_id, path)
    return _json({"files": [f.to_dict() for f in files]})


@router.get(
    "/logged-models/{model_id}/artifacts/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": _BINARY}}},
)
def download_logged_model_artifact(
    model_id: ModelId, path: str, platform: PlatformDep, actor: ActorDep
) -> Response:
    return file_response(*platform.logged_model_artifacts.open(actor, model_id, path))


@router.delete(
    "/logged-models/{model_id}/artifacts/{path:path}", status_code=204, response_class=Response
)
def delete_logged_model_artifact(
    model_id: ModelId, path: str, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.logged_model_artifacts.delete(actor, model_id, path)
    return _done()
