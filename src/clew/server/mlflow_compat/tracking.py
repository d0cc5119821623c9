"""MLflow's tracking RPCs (``service.proto``: experiments, runs, logging) over ``TrackingService``.

Each handler reads MLflow's fields, makes the call ``tracking/api.py`` makes, and answers in
MLflow's shape (``tracking_shapes``). Searches and metric histories are in ``tracking_reads``.
Where MLflow's behaviour and Clew's differ, the difference is spelled out at the handler:

- A run's ``user_id`` is the caller Clew authenticated, not the name the client claims; the
  client's claim is kept where MLflow's client also puts it, the ``mlflow.user`` tag.
- ``runs/create`` with an ``mlflow.parentRunId`` tag makes a nested run in Clew's sense too
  (``parent_run_id``), so the parent must exist and be in the same experiment.
- A metric logged with ``model_id`` (MLflow 3) is also a point of that LoggedModel's metrics,
  written in the run's transaction (``log_batch(within=…)``). ``dataset_name`` and
  ``dataset_digest`` are kept on the model's point; a run's own series has no such columns.
- ``runs/log-inputs`` records datasets and, in the same transaction, its ``models`` entries (a
  run reading a LoggedModel) as INPUT edges, which ``runs/get`` lists as ``model_inputs``. An
  unknown model fails the call and writes nothing (MLflow records any id).
- ``runs/log-model`` (2.x clients) appends the model's summary to the run's
  ``mlflow.log-model.history`` tag, as MLflow's store does: a read and a tag write, so two
  concurrent ``log-model`` calls on one run could lose one entry.
"""

from __future__ import annotations

import json
from typing import Any, Final

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from clew.core.actor import Actor
from clew.core.errors import InvalidInput
from clew.platform import Platform
from clew.registry.logged_model import LoggedModelMetric
from clew.server.deps import ActorDep, PlatformDep
from clew.server.mlflow_compat import tracking_reads
from clew.server.mlflow_compat import tracking_shapes as shapes
from clew.server.mlflow_compat.protocol import Fields, ok
from clew.server.routing import FeatureRouter
from clew.tracking.model import Metric

EXPERIMENTS: Final = "/experiments"
RUNS: Final = "/runs"
#: MLflow's default page of an experiment search (``SEARCH_MAX_RESULTS_DEFAULT``).
EXPERIMENTS_PAGE: Final = 1000
#: The run tag where MLflow's 2.x ``log-model`` keeps the models logged in a run.
LOG_MODEL_HISTORY: Final = "mlflow.log-model.history"
#: What ``Model.get_tags_dict`` keeps of an MLmodel for that tag.
_LOG_MODEL_KEYS: Final = ("run_id", "utc_time_created", "artifact_path", "model_uuid")
_LOG_MODEL_REQUIRED: Final = frozenset({"artifact_path", "flavors", "utc_time_created", "run_id"})

#: A parsed ``Metric`` message: the point, and the model and dataset it belongs to.
Point = tuple[Metric, str | None, str | None, str | None]


def log_points(
    platform: Platform,
    actor: Actor,
    run_id: str,
    points: list[Point],
    params: list[tuple[str, str]] | None = None,
    tags: list[tuple[str, str]] | None = None,
) -> None:
    """One ``log_batch``; points that name a LoggedModel also reach its metrics, in the same
    transaction."""
    by_model: dict[str, list[LoggedModelMetric]] = {}
    for point, model_id, dataset_name, dataset_digest in points:
        if model_id:
            by_model.setdefault(model_id, []).append(
                LoggedModelMetric(
                    point.key,
                    point.value,
                    point.timestamp,
                    point.step,
                    run_id,
                    dataset_name,
                    dataset_digest,
                )
            )

    def for_models(conn: Connection) -> None:
        for model_id, model_points in by_model.items():
            platform.logged_models.log_metrics_in(conn, actor, model_id, model_points)

    platform.tracking.log_batch(
        actor,
        run_id,
        metrics=[p[0] for p in points],
        params=params or (),
        tags=tags or (),
        within=for_models if by_model else None,
    )


def add_routes(router: FeatureRouter) -> None:
    """Add the tracking routes to ``router`` (mounted under each RPC prefix). The logging
    routes come first: the router tries routes in order, and they are the hot ones."""
    _logging_routes(router)
    _run_routes(router)
    tracking_reads.add_routes(router)
    _experiment_routes(router)


def _logging_routes(router: FeatureRouter) -> None:
    @router.post(RUNS + "/log-metric")
    async def log_metric(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        log_points(platform, actor, f.run_id(), [shapes.metric(f.data)])
        return ok()

    @router.post(RUNS + "/log-batch")
    async def log_batch(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        """Idempotent under the client's retries: the same points, params and tags again
        change nothing (``TrackingService.log_batch``)."""
        f = await Fields.of(request)
        log_points(
            platform,
            actor,
            f.run_id(),
            [shapes.metric(item) for item in f.items("metrics")],
            params=f.pairs("params"),
            tags=f.pairs("tags"),
        )
        return ok()

    @router.post(RUNS + "/log-parameter")
    async def log_param(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        platform.tracking.log_param(
            actor, f.run_id(), f.text("key", required=True), f.text("value", default="")
        )
        return ok()

    @router.post(RUNS + "/set-tag")
    async def set_tag(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        platform.tracking.set_tag(
            actor, f.run_id(), f.text("key", required=True), f.text("value", default="")
        )
        return ok()

    @router.post(RUNS + "/delete-tag")
    async def delete_tag(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        platform.tracking.delete_tag(actor, f.run_id(), f.text("key", required=True))
        return ok()

    @router.post(RUNS + "/log-inputs")
    async def log_inputs(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        run_id = f.run_id()
        datasets = list(shapes.dataset_inputs(f.items("datasets")))
        model_ids = []
        for item in f.items("models"):
            model_id = item.get("model_id") if isinstance(item, dict) else None
            if not isinstance(model_id, str) or not model_id:
                raise InvalidInput("Every entry of 'models' needs a 'model_id'")
            model_ids.append(model_id)

        def read_models(conn: Connection) -> None:
            platform.logged_models.link_inputs_in(conn, actor, run_id, model_ids)

        platform.tracking.log_inputs(
            actor, run_id, datasets, within=read_models if model_ids else None
        )
        return ok()

    @router.post(RUNS + "/log-model")
    async def log_model(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        run_id = f.run_id()
        entry = _log_model_entry(f.text("model_json", required=True))
        run = platform.tracking.get_run(actor, run_id)
        history = _history_of(run.data.tags.get(LOG_MODEL_HISTORY))
        platform.tracking.set_tag(actor, run_id, LOG_MODEL_HISTORY, json.dumps([*history, entry]))
        return ok()


def _log_model_entry(model_json: str) -> dict[str, Any]:
    """What MLflow keeps of a logged MLmodel (``Model.get_tags_dict``), after its checks."""
    try:
        model = json.loads(model_json)
    except ValueError:
        model = None
    if not isinstance(model, dict):
        raise InvalidInput(f"Malformed model info. \n {model_json} \n is not a valid JSON.")
    missing = _LOG_MODEL_REQUIRED - set(model)
    if missing:
        raise InvalidInput(f"Model json is missing mandatory fields: {sorted(missing)}")
    entry = {key: model[key] for key in _LOG_MODEL_KEYS if model.get(key) is not None}
    flavors = model["flavors"] if isinstance(model["flavors"], dict) else {}
    entry["flavors"] = {
        name: {k: v for k, v in conf.items() if k != "config"} if isinstance(conf, dict) else conf
        for name, conf in flavors.items()
    }
    return entry


def _history_of(tag: str | None) -> list[Any]:
    if not tag:
        return []
    try:
        history = json.loads(tag)
    except ValueError:
        return []  # a hand-set tag that is not MLflow's list: start it afresh, as a list
    return history if isinstance(history, list) else []


def _run_routes(router: FeatureRouter) -> None:
    @router.post(RUNS + "/create")
    async def create_run(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        tags = dict(f.pairs("tags"))
        run = platform.tracking.create_run(
            actor,
            experiment_id=f.text("experiment_id", default="0"),
            run_name=f.text("run_name"),
            start_time=f.integer("start_time"),
            tags=tags,
            parent_run_id=tags.get("mlflow.parentRunId") or None,
        )
        return ok({"run": shapes.run(run)})

    @router.get(RUNS + "/get")
    async def get_run(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        return ok({"run": shapes.run(platform.tracking.get_run(actor, f.run_id()))})

    @router.post(RUNS + "/update")
    async def update_run(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        info = platform.tracking.update_run(
            actor,
            f.run_id(),
            status=f.text("status"),
            end_time=f.integer("end_time"),
            run_name=f.text("run_name"),
        )
        return ok({"run_info": shapes.run_info(info)})

    @router.post(RUNS + "/delete")
    async def delete_run(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        platform.tracking.delete_run(actor, f.run_id())
        return ok()

    @router.post(RUNS + "/restore")
    async def restore_run(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        platform.tracking.restore_run(actor, f.run_id())
        return ok()


def _experiment_routes(router: FeatureRouter) -> None:
    @router.post(EXPERIMENTS + "/create")
    async def create_experiment(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        experiment_id = platform.tracking.create_experiment(
            actor,
            f.text("name", required=True),
            f.text("artifact_location"),
            dict(f.pairs("tags")),
        )
        return ok({"experiment_id": experiment_id})

    @router.get(EXPERIMENTS + "/get")
    async def get_experiment(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        found = platform.tracking.get_experiment(actor, f.text("experiment_id", required=True))
        return ok({"experiment": shapes.experiment(found)})

    @router.get(EXPERIMENTS + "/get-by-name")
    async def get_experiment_by_name(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        """404 ``RESOURCE_DOES_NOT_EXIST`` for an unknown name: ``mlflow.set_experiment``
        creates the experiment on exactly that answer."""
        f = await Fields.of(request)
        found = platform.tracking.get_experiment_by_name(
            actor, f.text("experiment_name", required=True)
        )
        return ok({"experiment": shapes.experiment(found)})

    @router.api_route(EXPERIMENTS + "/search", methods=["POST", "GET"])
    async def search_experiments(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        page = await run_in_threadpool(
            platform.tracking.search_experiments,
            actor,
            filter_string=f.text("filter", default=""),
            order_by=[str(clause) for clause in f.items("order_by")],
            max_results=f.integer("max_results", default=EXPERIMENTS_PAGE),
            page_token=f.text("page_token"),
            view_type=shapes.view_type(f.data.get("view_type")),
        )
        return ok(
            {
                "experiments": [shapes.experiment(e) for e in page.items],
                "next_page_token": page.next_page_token,
            }
        )

    @router.post(EXPERIMENTS + "/update")
    async def update_experiment(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.tracking.rename_experiment(
            actor, f.text("experiment_id", required=True), f.text("new_name", required=True)
        )
        return ok()

    @router.post(EXPERIMENTS + "/delete")
    async def delete_experiment(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.tracking.delete_experiment(actor, f.text("experiment_id", required=True))
        return ok()

    @router.post(EXPERIMENTS + "/restore")
    async def restore_experiment(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.tracking.restore_experiment(actor, f.text("experiment_id", required=True))
        return ok()

    @router.post(EXPERIMENTS + "/set-experiment-tag")
    async def set_experiment_tag(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.tracking.set_experiment_tags(
            actor,
            f.text("experiment_id", required=True),
            {f.text("key", required=True): f.text("value", default="")},
        )
        return ok()

    @router.post(EXPERIMENTS + "/delete-experiment-tag")
    async def delete_experiment_tag(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        platform.tracking.delete_experiment_tag(
            actor, f.text("experiment_id", required=True), f.text("key", required=True)
        )
        return ok()
