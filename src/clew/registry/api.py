"""The registry REST API: parse → ``RegistryService`` → response. No try/except here.

Model names and aliases travel in path segments, unlike tracking's free-text keys: the
service refuses any name with ``/``, ``\\``, ``..``, a percent-escape or only dots, and aliases
are ``[A-Za-z0-9_-]``, so no HTTP client can normalize one into something else. Path params are
plain strings here so that the service's checks, and their stable codes, apply to them.
Tag keys and filters go in query strings and bodies, as in tracking. Responses are the domain
models' ``to_dict`` serialized by orjson (``response_model`` documents the shape).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from starlette.responses import Response

from clew.registry import api_schemas as s
from clew.registry.model import ModelVersion, RegisteredModel
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["registry"])

Name = Annotated[str, Path(min_length=1, max_length=256)]
Version = Annotated[str, Path(pattern=r"^[0-9]{1,18}$")]
Alias = Annotated[str, Path(min_length=1, max_length=255)]
KeyQuery = Annotated[str, Query(min_length=1, max_length=250)]
MODELS = "/registered-models"
VERSION = MODELS + "/{name}/versions/{version}"


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _done() -> Response:
    return Response(status_code=204)


def _model(model: RegisteredModel, status: int = 200) -> Response:
    return _json(model.to_dict(), status)


def _version(version: ModelVersion, status: int = 200) -> Response:
    return _json(version.to_dict(), status)


# ---- registered models -------------------------------------------------------------------------


@router.post(MODELS, status_code=201, response_model=s.RegisteredModelOut)
def create_registered_model(
    body: s.CreateModel, platform: PlatformDep, actor: ActorDep
) -> Response:
    model = platform.registry.create_registered_model(actor, body.name, body.description, body.tags)
    return _model(model, 201)


@router.post(MODELS + "/search", response_model=s.ModelPage)
def search_registered_models(body: s.Search, platform: PlatformDep, actor: ActorDep) -> Response:
    page = platform.registry.search_registered_models(
        actor, body.filter, body.max_results, body.order_by, body.page_token
    )
    return _json(
        {
            "registered_models": [m.to_dict() for m in page.items],
            "next_page_token": page.next_page_token,
        }
    )


@router.get(MODELS + "/{name}", response_model=s.RegisteredModelOut)
def get_registered_model(name: Name, platform: PlatformDep, actor: ActorDep) -> Response:
    return _model(platform.registry.get_registered_model(actor, name))


@router.patch(MODELS + "/{name}", response_model=s.RegisteredModelOut)
def update_registered_model(
    name: Name, body: s.UpdateModel, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _model(platform.registry.update_registered_model(actor, name, body.description))


@router.post(MODELS + "/{name}/rename", response_model=s.RegisteredModelOut)
def rename_registered_model(
    name: Name, body: s.RenameModel, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _model(platform.registry.rename_registered_model(actor, name, body.new_name))


@router.delete(MODELS + "/{name}", status_code=204, response_class=Response)
def delete_registered_model(name: Name, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.registry.delete_registered_model(actor, name)
    return _done()


@router.post(MODELS + "/{name}/tags", status_code=204, response_class=Response)
def set_registered_model_tags(
    name: Name, body: s.SetTags, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.set_registered_model_tags(actor, name, body.tags)
    return _done()


@router.delete(MODELS + "/{name}/tags", status_code=204, response_class=Response)
def delete_registered_model_tag(
    name: Name, key: KeyQuery, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.delete_registered_model_tag(actor, name, key)
    return _done()


@router.get(MODELS + "/{name}/latest-versions", response_model=s.VersionList)
def get_latest_versions(
    name: Name,
    platform: PlatformDep,
    actor: ActorDep,
    stages: Annotated[list[str] | None, Query(max_length=4)] = None,
) -> Response:
    found = platform.registry.get_latest_versions(actor, name, stages)
    return _json({"model_versions": [mv.to_dict() for mv in found]})


@router.get(MODELS + "/{name}/history", response_model=s.AliasHistoryOut)
def alias_history(
    name: Name,
    platform: PlatformDep,
    actor: ActorDep,
    alias: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    at: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
) -> Response:
    return _json(platform.registry.alias_history(actor, name, alias, at).to_dict())


# ---- aliases -------------------------------------------------------------------------------------
# Alias moves and version reads are what deployment pipelines call in a loop; like tracking's
# hottest routes they run on the event loop (the service call is well under a millisecond).


@router.put(MODELS + "/{name}/aliases/{alias}", status_code=204, response_class=Response)
async def set_registered_model_alias(
    name: Name, alias: Alias, body: s.SetAlias, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.set_registered_model_alias(actor, name, alias, body.version)
    return _done()


@router.get(MODELS + "/{name}/aliases/{alias}", response_model=s.ModelVersionOut)
async def get_model_version_by_alias(
    name: Name, alias: Alias, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _version(platform.registry.get_model_version_by_alias(actor, name, alias))


@router.delete(MODELS + "/{name}/aliases/{alias}", status_code=204, response_class=Response)
def delete_registered_model_alias(
    name: Name, alias: Alias, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.delete_registered_model_alias(actor, name, alias)
    return _done()


# ---- versions ------------------------------------------------------------------------------------


@router.post(MODELS + "/{name}/versions", status_code=201, response_model=s.ModelVersionOut)
async def create_model_version(
    name: Name, body: s.CreateVersion, platform: PlatformDep, actor: ActorDep
) -> Response:
    version = platform.registry.create_model_version(
        actor,
        name,
        body.source,
        run_id=body.run_id,
        tags=body.tags,
        description=body.description,
        logged_model_id=body.logged_model_id,
        status=body.status,
    )
    return _version(version, 201)


@router.post("/model-versions/search", response_model=s.VersionPage)
async def search_model_versions(body: s.Search, platform: PlatformDep, actor: ActorDep) -> Response:
    page = platform.registry.search_model_versions(
        actor, body.filter, body.max_results, body.order_by, body.page_token
    )
    return _json(
        {
            "model_versions": [mv.to_dict() for mv in page.items],
            "next_page_token": page.next_page_token,
        }
    )


@router.get("/model-versions/resolve", response_model=s.ModelVersionOut)
def resolve_model_uri(
    uri: Annotated[str, Query(min_length=1, max_length=600)],
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """The version a ``models:/name@alias`` or ``models:/name/<version|stage|latest>`` names."""
    return _version(platform.registry.resolve_model_uri(actor, uri))


@router.get(VERSION, response_model=s.ModelVersionOut)
async def get_model_version(
    name: Name, version: Version, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _version(platform.registry.get_model_version(actor, name, version))


@router.patch(VERSION, response_model=s.ModelVersionOut)
def update_model_version(
    name: Name, version: Version, body: s.UpdateVersion, platform: PlatformDep, actor: ActorDep
) -> Response:
    updated = platform.registry.update_model_version(
        actor, name, version, body.description, body.status, body.status_message
    )
    return _version(updated)


@router.delete(VERSION, status_code=204, response_class=Response)
def delete_model_version(
    name: Name, version: Version, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.delete_model_version(actor, name, version)
    return _done()


@router.post(VERSION + "/tags", status_code=204, response_class=Response)
def set_model_version_tags(
    name: Name, version: Version, body: s.SetTags, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.set_model_version_tags(actor, name, version, body.tags)
    return _done()


@router.delete(VERSION + "/tags", status_code=204, response_class=Response)
def delete_model_version_tag(
    name: Name, version: Version, key: KeyQuery, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.registry.delete_model_version_tag(actor, name, version, key)
    return _done()


@router.post(VERSION + "/stage", response_model=s.ModelVersionOut)
def transition_model_version_stage(
    name: Name, version: Version, body: s.TransitionStage, platform: PlatformDep, actor: ActorDep
) -> Response:
    moved = platform.registry.transition_model_version_stage(
        actor, name, version, body.stage, body.archive_existing_versions
    )
    return _version(moved)


@router.get(VERSION + "/files", response_model=s.VersionFiles)
def list_model_version_files(
    name: Name, version: Version, platform: PlatformDep, actor: ActorDep
) -> Response:
    files = platform.registry.list_model_version_files(actor, name, version)
    return _json({"files": [f.to_dict() for f in files]})


@router.post(VERSION + "/verify", response_model=s.VerificationOut)
def verify_model_version(
    name: Name, version: Version, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Re-hash the version's stored blobs (a read, but slow: POST so nothing caches it)."""
    return _json(platform.registry.verify_version(actor, name, version).to_dict())
