"""MLflow's model registry RPCs (``model_registry.proto``) over Clew's ``RegistryService``.

Each handler reads MLflow's fields, makes the call ``registry/api.py`` makes, and answers in
MLflow's shape (``registry_shapes``). Where MLflow's behaviour differs from Clew's native API,
the difference is spelled out at the handler:

- MLflow's deletes of a tag or an alias that is not there succeed (its SQL store checks the
  model, then deletes nothing); Clew's service raises ``NotFound``. The handler reads first and
  deletes only what exists, so an MLflow client sees MLflow's ``{}``.
- ``registered-models/update`` without a description clears it (MLflow sends the proto
  default); ``model-versions/update`` leaves it unless the field is present.
- Sources are registered as the client gave them: ``mlflow-artifacts:/<exp>/<run>/artifacts/…``
  (what 2.x clients and 3.x ``register_model("runs:/…")`` send), ``runs:/<run>/…`` or
  ``models:/m-…`` (3.x, with ``model_id``); ``registry.sources`` reads all three, so the version
  records the same files and lineage as a native registration.
- ``get-download-uri`` answers where an MLflow client downloads the files through this server:
  the run's or the LoggedModel's ``mlflow-artifacts:`` root (plus the path), or an external URI
  as registered.
- Registered-model searches carry the clients' hidden prompt clause; ``model_filter`` reads it
  as MLflow's server does.
- An unknown alias of a known model is MLflow's INVALID_PARAMETER_VALUE (400), not a 404.
- ``run_link`` is stored with the version and answered back as given, as MLflow does.
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from clew.core.actor import Actor
from clew.core.errors import InvalidInput, NotFound
from clew.platform import Platform
from clew.registry.model import ModelVersion
from clew.registry.sources import parse_source
from clew.server.deps import ActorDep, PlatformDep
from clew.server.mlflow_compat import registry_shapes as shapes
from clew.server.mlflow_compat import uris
from clew.server.mlflow_compat.protocol import Fields, ok
from clew.server.routing import FeatureRouter

MODELS: Final = "/registered-models"
VERSIONS: Final = "/model-versions"
#: MLflow's defaults when a search gives no ``max_results`` (``model_registry.proto``).
MODELS_PAGE: Final = 100
VERSIONS_PAGE: Final = 10_000


#: The clause MLflow clients add to every registered-model search (``add_prompt_filter_string``).
_PROMPT_CLAUSE: Final = re.compile(
    r"tags?\.`mlflow\.prompt\.is_prompt`\s*(=|!=)\s*'(true|false)'", re.IGNORECASE
)
_PROMPT_TAG: Final = "tags.`mlflow.prompt.is_prompt`"


def model_filter(text: str) -> str:
    """MLflow's filter for registered models, with its prompt clause as MLflow's server reads it.

    MLflow 2.x and 3.x clients append ``tag.`mlflow.prompt.is_prompt` != 'true'`` to hide
    prompts; MLflow's server takes that to include every model *without* the tag (an anti-join),
    where a plain ``!=`` on a tag would drop them. Here it becomes the same condition in Clew's
    grammar: ``= 'true'`` / ``!= 'false'`` ask for prompts, anything else for the rest.
    """

    def clause(match: re.Match[str]) -> str:
        op, value = match[1], match[2].lower()
        if (op == "=") == (value == "true"):
            return f"{_PROMPT_TAG} = 'true'"
        return f"({_PROMPT_TAG} IS NULL OR {_PROMPT_TAG} != 'true')"

    return _PROMPT_CLAUSE.sub(clause, text)


def _present(fields: Fields, name: str) -> str | None:
    """The field's text if the request has it at all (``""`` included), else ``None``."""
    return fields.text(name, default="") if name in fields.data else None


def _version(mv: ModelVersion) -> Response:
    return ok({"model_version": shapes.model_version(mv)})


def download_uri(platform: Platform, actor: Actor, mv: ModelVersion) -> str:
    """Where an MLflow client fetches the version's files from this server."""
    # The source passed the same parser when it was registered; ``allow_file`` only widens.
    source = parse_source(mv.source, allow_file=True)
    if source.kind == "run" and source.run_id is not None:
        run = platform.tracking.get_run(actor, source.run_id)
        root = uris.run_root(run.info.experiment_id, source.run_id)
        return f"{root}/{source.path}" if source.path else root
    if source.logged_model_id is not None:
        model = platform.logged_models.get(actor, source.logged_model_id)
        return uris.model_root(model.experiment_id, model.model_id)
    return mv.source


def add_routes(router: FeatureRouter) -> None:
    """Add the registry's routes to ``router`` (mounted under each RPC prefix)."""
    _model_routes(router)
    _alias_routes(router)
    _version_routes(router)


def _model_routes(router: FeatureRouter) -> None:
    @router.post(MODELS + "/create")
    async def create_registered_model(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        model = platform.registry.create_registered_model(
            actor, f.text("name", required=True), f.text("description"), dict(f.pairs("tags"))
        )
        return ok({"registered_model": shapes.registered_model(model)})

    @router.get(MODELS + "/get")
    async def get_registered_model(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        model = platform.registry.get_registered_model(actor, f.text("name", required=True))
        return ok({"registered_model": shapes.registered_model(model)})

    @router.post(MODELS + "/rename")
    async def rename_registered_model(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        model = platform.registry.rename_registered_model(
            actor, f.text("name", required=True), f.text("new_name", required=True)
        )
        return ok({"registered_model": shapes.registered_model(model)})

    @router.patch(MODELS + "/update")
    async def update_registered_model(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        model = platform.registry.update_registered_model(
            actor, f.text("name", required=True), f.text("description", default="")
        )
        return ok({"registered_model": shapes.registered_model(model)})

    @router.delete(MODELS + "/delete")
    async def delete_registered_model(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.registry.delete_registered_model(actor, f.text("name", required=True))
        return ok()

    @router.get(MODELS + "/search")
    async def search_registered_models(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        page = platform.registry.search_registered_models(
            actor,
            model_filter(f.text("filter", default="")),
            f.integer("max_results", default=MODELS_PAGE),
            [str(clause) for clause in f.items("order_by")],
            f.text("page_token"),
        )
        return ok(
            {
                "registered_models": [shapes.registered_model(m) for m in page.items],
                "next_page_token": page.next_page_token,
            }
        )

    @router.api_route(MODELS + "/get-latest-versions", methods=["POST", "GET"])
    async def get_latest_versions(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        """Deprecated in MLflow (stages); the newest version in each asked stage, or in all."""
        f = await Fields.of(request)
        found = platform.registry.get_latest_versions(
            actor, f.text("name", required=True), [str(s) for s in f.items("stages")] or None
        )
        return ok({"model_versions": [shapes.model_version(mv) for mv in found]})

    @router.post(MODELS + "/set-tag")
    async def set_registered_model_tag(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.registry.set_registered_model_tags(
            actor,
            f.text("name", required=True),
            {f.text("key", required=True): f.text("value", default="")},
        )
        return ok()

    @router.delete(MODELS + "/delete-tag")
    async def delete_registered_model_tag(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, key = f.text("name", required=True), f.text("key", required=True)
        if key in platform.registry.get_registered_model(actor, name).tags:
            platform.registry.delete_registered_model_tag(actor, name, key)
        return ok()


def _alias_routes(router: FeatureRouter) -> None:
    @router.post(MODELS + "/alias")
    async def set_registered_model_alias(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.registry.set_registered_model_alias(
            actor,
            f.text("name", required=True),
            f.text("alias", required=True),
            f.text("version", required=True),
        )
        return ok()

    @router.delete(MODELS + "/alias")
    async def delete_registered_model_alias(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, alias = f.text("name", required=True), f.text("alias", required=True)
        if alias in platform.registry.get_registered_model(actor, name).aliases:
            platform.registry.delete_registered_model_alias(actor, name, alias)
        return ok()

    @router.get(MODELS + "/alias")
    async def get_model_version_by_alias(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        """One read (``models:/name@alias`` loads call this per load). MLflow answers an
        unknown alias of a known model with INVALID_PARAMETER_VALUE (400), not
        RESOURCE_DOES_NOT_EXIST, and clients see that code: the service's NotFound for the
        alias (it names the alias; an unknown model's does not) is translated here."""
        f = await Fields.of(request)
        name, alias = f.text("name", required=True), f.text("alias", required=True)
        try:
            version = platform.registry.get_model_version_by_alias(actor, name, alias)
        except NotFound as missing:
            if "alias" not in missing.details:
                raise
            raise InvalidInput(f"Registered model alias {alias} not found.") from None
        return _version(version)


def _version_routes(router: FeatureRouter) -> None:
    @router.post(VERSIONS + "/create")
    async def create_model_version(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        mv = platform.registry.create_model_version(
            actor,
            f.text("name", required=True),
            f.text("source", required=True),
            run_id=f.text("run_id"),
            tags=dict(f.pairs("tags")),
            description=f.text("description"),
            logged_model_id=f.text("model_id"),
            run_link=f.text("run_link"),
        )
        return _version(mv)

    @router.get(VERSIONS + "/get")
    async def get_model_version(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, version = _name_version(f)
        return _version(platform.registry.get_model_version(actor, name, version))

    @router.patch(VERSIONS + "/update")
    async def update_model_version(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, version = _name_version(f)
        mv = platform.registry.update_model_version(
            actor, name, version, description=_present(f, "description")
        )
        return _version(mv)

    @router.delete(VERSIONS + "/delete")
    async def delete_model_version(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, version = _name_version(f)
        platform.registry.delete_model_version(actor, name, version)
        return ok()

    @router.post(VERSIONS + "/transition-stage")
    async def transition_model_version_stage(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        """Deprecated in MLflow, still used; the stage is matched case-insensitively."""
        f = await Fields.of(request)
        name, version = _name_version(f)
        mv = platform.registry.transition_model_version_stage(
            actor,
            name,
            version,
            f.text("stage", required=True),
            f.flag("archive_existing_versions"),
        )
        return _version(mv)

    @router.get(VERSIONS + "/search")
    async def search_model_versions(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        page = platform.registry.search_model_versions(
            actor,
            f.text("filter", default=""),
            f.integer("max_results", default=VERSIONS_PAGE),
            [str(clause) for clause in f.items("order_by")],
            f.text("page_token"),
        )
        return ok(
            {
                "model_versions": [shapes.model_version(mv) for mv in page.items],
                "next_page_token": page.next_page_token,
            }
        )

    @router.get(VERSIONS + "/get-download-uri")
    async def get_model_version_download_uri(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, version = _name_version(f)
        mv = platform.registry.get_model_version(actor, name, version)
        return ok({"artifact_uri": download_uri(platform, actor, mv)})

    @router.post(VERSIONS + "/set-tag")
    async def set_model_version_tag(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, version = _name_version(f)
        tags = {f.text("key", required=True): f.text("value", default="")}
        platform.registry.set_model_version_tags(actor, name, version, tags)
        return ok()

    @router.delete(VERSIONS + "/delete-tag")
    async def delete_model_version_tag(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        name, version = _name_version(f)
        key = f.text("key", required=True)
        if key in platform.registry.get_model_version(actor, name, version).tags:
            platform.registry.delete_model_version_tag(actor, name, version, key)
        return ok()


def _name_version(fields: Fields) -> tuple[Any, Any]:
    return fields.text("name", required=True), fields.text("version", required=True)
