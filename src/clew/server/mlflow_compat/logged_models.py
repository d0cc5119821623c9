"""MLflow 3's LoggedModel RPCs (``/logged-models``) and ``runs/outputs`` over
``LoggedModelService``.

Since MLflow 3, ``log_model`` creates a PENDING LoggedModel, links it to the run as an output,
uploads the files under the model's own ``mlflow-artifacts:/<exp>/models/<id>/artifacts`` root
through the proxy (``artifacts``), and finalizes it READY. Each handler reads MLflow's fields,
makes the call ``registry/logged_api.py`` makes and answers MLflow's ``LoggedModel`` message
(``{info: {...}, data: {params, metrics}}``, ``service.proto``).

Where Clew differs, it says so here:

- ``runs/outputs`` checks that the run is active and every model exists (MLflow's store records
  whatever id it is given) and records an OUTPUT edge of the lineage graph
  (``LoggedModelService.log_outputs``); linking the same model to the same run again changes
  nothing.
- Finalize is once: READY or FAILED from PENDING; repeating the same status is a no-op, and any
  other change is 400 ``INVALID_PARAMETER_VALUE`` (MLflow's store lets a model flip back and
  forth). A READY model's files are frozen, so a registered version's digests stay true.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from clew.core.errors import InvalidInput
from clew.registry.logged_model import LoggedModel, LoggedModelMetric, LoggedModelStatus
from clew.server.deps import ActorDep, PlatformDep
from clew.server.mlflow_compat import uris
from clew.server.mlflow_compat.artifacts import file_info
from clew.server.mlflow_compat.protocol import Fields, key_values, ok
from clew.server.routing import FeatureRouter
from clew.tracking.model import encode_float

MODELS: Final = "/logged-models"
#: MLflow's wire names of the statuses (``LoggedModelStatus`` in ``service.proto``).
WIRE_STATUS: Final = {
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
#: The enum's numbers, which a proto-JSON client may send instead of names.
_STATUS_NUMBERS: Final = {1: "PENDING", 2: "READY", 3: "FAILED"}


def metric(point: LoggedModelMetric, model_id: str) -> dict[str, Any]:
    return {
        "key": point.key,
        "value": encode_float(point.value),
        "timestamp": point.timestamp,
        "step": point.step,
        "run_id": point.run_id,
        "dataset_name": point.dataset_name,
        "dataset_digest": point.dataset_digest,
        "model_id": model_id,
    }


def logged_model(m: LoggedModel) -> dict[str, Any]:
    """MLflow's ``LoggedModel`` message; the artifact root is the proxy's, not Clew's own."""
    return {
        "info": {
            "model_id": m.model_id,
            "experiment_id": m.experiment_id,
            "name": m.name,
            "creation_timestamp_ms": m.creation_timestamp,
            "last_updated_timestamp_ms": m.last_updated_timestamp,
            "artifact_uri": uris.model_root(m.experiment_id, m.model_id),
            "status": WIRE_STATUS[LoggedModelStatus(m.status)],
            "status_message": m.status_message or None,
            "model_type": m.model_type or None,
            "source_run_id": m.source_run_id,
            "tags": key_values(m.tags),
        },
        "data": {
            "params": key_values(m.params),
            "metrics": [metric(point, m.model_id) for point in m.metrics],
        },
    }


def status_of(value: Any) -> str:
    """A finalize request's ``status``: MLflow's name, or the enum's number."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in _STATUS_NUMBERS:
            raise InvalidInput(f"Unknown logged model status {value}")
        return _STATUS_NUMBERS[value]
    if isinstance(value, str) and value.isdigit():
        return status_of(int(value))
    if not isinstance(value, str) or not value:
        raise InvalidInput("Missing value for required parameter 'status'")
    return value


def _outputs(items: list[Any]) -> list[tuple[str, int]]:
    outputs = []
    for item in items:
        fields = Fields(item if isinstance(item, dict) else {})
        model_id = fields.text("model_id")
        if model_id is None:
            raise InvalidInput("Every entry of 'models' needs a 'model_id'")
        outputs.append((model_id, fields.integer("step", default=0)))
    return outputs


def add_routes(router: FeatureRouter) -> None:
    """The LoggedModel routes and ``runs/outputs``, under each RPC prefix."""
    _model_routes(router)
    _detail_routes(router)

    @router.post("/runs/outputs")
    async def log_outputs(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        run_id = f.text("run_id", required=True)
        if "models" not in f.data:
            raise InvalidInput("Missing value for required parameter 'models'")
        platform.logged_models.log_outputs(actor, run_id, _outputs(f.items("models")))
        return ok()


def _model_routes(router: FeatureRouter) -> None:
    @router.post(MODELS)
    async def create(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        model = platform.logged_models.create(
            actor,
            experiment_id=f.text("experiment_id", required=True),
            name=f.text("name"),
            source_run_id=f.text("source_run_id"),
            model_type=f.text("model_type"),
            params=f.pairs("params"),
            tags=f.pairs("tags"),
        )
        return ok({"model": logged_model(model)})

    @router.post(MODELS + "/search")
    async def search(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        """MLflow requires ``experiment_ids``; Clew's filter also takes OR and parentheses."""
        f = await Fields.of(request)
        experiment_ids = [str(e) for e in f.items("experiment_ids")]
        if not experiment_ids:
            raise InvalidInput("Missing value for required parameter 'experiment_ids'")
        page = await run_in_threadpool(
            platform.logged_models.search,
            actor,
            experiment_ids=experiment_ids,
            filter_string=f.text("filter", default=""),
            datasets=f.items("datasets"),
            max_results=f.integer("max_results", default=100),
            order_by=f.items("order_by"),
            page_token=f.text("page_token"),
        )
        return ok(
            {
                "models": [logged_model(m) for m in page.items],
                "next_page_token": page.next_page_token,
            }
        )

    @router.get(MODELS + "/{model_id}")
    async def get(model_id: str, platform: PlatformDep, actor: ActorDep) -> Response:
        return ok({"model": logged_model(platform.logged_models.get(actor, model_id))})

    @router.patch(MODELS + "/{model_id}")
    async def finalize(
        model_id: str, request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        status = status_of(f.data.get("status"))
        model = platform.logged_models.finalize(actor, model_id, status)
        return ok({"model": logged_model(model)})

    @router.delete(MODELS + "/{model_id}")
    async def delete(model_id: str, platform: PlatformDep, actor: ActorDep) -> Response:
        platform.logged_models.delete(actor, model_id)
        return ok()


def _detail_routes(router: FeatureRouter) -> None:
    @router.patch(MODELS + "/{model_id}/tags")
    async def set_tags(
        model_id: str, request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.logged_models.set_tags(actor, model_id, f.pairs("tags"))
        return ok()

    @router.delete(MODELS + "/{model_id}/tags/{tag_key:path}")
    async def delete_tag(
        model_id: str, tag_key: str, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        platform.logged_models.delete_tag(actor, model_id, tag_key)
        return ok()

    @router.post(MODELS + "/{model_id}/params")
    async def log_params(
        model_id: str, request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.logged_models.log_params(actor, model_id, f.pairs("params"))
        return ok()

    @router.get(MODELS + "/{model_id}/artifacts/directories")
    async def list_artifacts(
        model_id: str, request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        """A directory of the model's files, paths relative to its root; ``root_uri`` is the
        model's ``mlflow-artifacts:`` root."""
        f = await Fields.of(request)
        path = f.text("artifact_directory_path", default="")
        model = platform.logged_models.get(actor, model_id)
        files = await run_in_threadpool(platform.logged_model_artifacts.list, actor, model_id, path)
        return ok(
            {
                "root_uri": uris.model_root(model.experiment_id, model_id),
                "files": [file_info(item, item.path) for item in files],
            }
        )
