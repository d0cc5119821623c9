"""The tracking REST API: parse → ``TrackingService`` → response. No try/except here.

Responses skip FastAPI's response-model validation on purpose: routes return the domain
models' ``to_dict()`` serialized by orjson, which is what keeps a 100,000-point metric history
or a 1,000-run search page cheap. The ``response_model`` on each route documents the shape.

Free-text identifiers (experiment names, tag and metric keys) travel as query parameters, not
path segments: HTTP clients normalize ``.`` and ``..`` segments in URLs, so a key such as
``a/./b`` would silently change on its way through a path.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from starlette.responses import Response

from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter
from clew.tracking import api_schemas as s
from clew.tracking.model import Dataset, DatasetInput, Metric, ViewType, decode_float

router = FeatureRouter(tags=["tracking"])

ExperimentId = Annotated[str, Path(pattern=r"^[0-9]{1,18}$")]
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
KeyQuery = Annotated[str, Query(min_length=1, max_length=250)]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _done() -> Response:
    return Response(status_code=204)


# ---- the hot routes ----------------------------------------------------------------------------
# Run creation, logging and reading a run come first: the router tries routes in order, and
# each candidate it passes costs a few microseconds, a noticeable share of a ~1 ms call. They
# also run on the event loop: their service calls take well under a millisecond on SQLite,
# less than the hop to the thread pool cost them. Everything else runs in the pool.


@router.post("/runs", status_code=201, response_model=s.RunOut)
async def create_run(body: s.CreateRun, platform: PlatformDep, actor: ActorDep) -> Response:
    run = platform.tracking.create_run(
        actor,
        experiment_id=body.experiment_id,
        run_name=body.run_name,
        start_time=body.start_time,
        tags=body.tags,
        parent_run_id=body.parent_run_id,
        params=[(p.key, p.value) for p in body.params],
        metrics=[Metric(m.key, decode_float(m.value), m.timestamp, m.step) for m in body.metrics],
        status=body.status,
        end_time=body.end_time,
    )
    return _json(run.to_dict(), 201)


@router.post("/runs/{run_id}/batch", status_code=204, response_class=Response)
async def log_batch(
    run_id: RunId, body: s.LogBatch, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Metrics, params and tags in one transaction; a retried batch changes nothing."""
    platform.tracking.log_batch(
        actor,
        run_id,
        metrics=[Metric(m.key, decode_float(m.value), m.timestamp, m.step) for m in body.metrics],
        params=[(p.key, p.value) for p in body.params],
        tags=[(t.key, t.value) for t in body.tags],
    )
    return _done()


@router.get("/runs/{run_id}", response_model=s.RunOut)
async def get_run(run_id: RunId, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.tracking.get_run(actor, run_id).to_dict())


@router.patch("/runs/{run_id}", response_model=s.RunInfoOut)
async def update_run(
    run_id: RunId, body: s.UpdateRun, platform: PlatformDep, actor: ActorDep
) -> Response:
    info = platform.tracking.update_run(
        actor, run_id, status=body.status, end_time=body.end_time, run_name=body.run_name
    )
    return _json(info.to_dict())


# ---- experiments -------------------------------------------------------------------------------


@router.post("/experiments", status_code=201, response_model=s.ExperimentCreated)
def create_experiment(body: s.CreateExperiment, platform: PlatformDep, actor: ActorDep) -> Response:
    eid = platform.tracking.create_experiment(actor, body.name, body.artifact_location, body.tags)
    return _json({"experiment_id": eid}, 201)


@router.get("/experiments/by-name", response_model=s.ExperimentOut)
def get_experiment_by_name(
    name: Annotated[str, Query(min_length=1, max_length=500)],
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    return _json(platform.tracking.get_experiment_by_name(actor, name).to_dict())


@router.post("/experiments/search", response_model=s.ExperimentPage)
def search_experiments(
    body: s.SearchExperiments, platform: PlatformDep, actor: ActorDep
) -> Response:
    page = platform.tracking.search_experiments(
        actor,
        filter_string=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
        view_type=ViewType(body.view_type),
    )
    return _json(
        {"experiments": [e.to_dict() for e in page.items], "next_page_token": page.next_page_token}
    )


@router.get("/experiments/{experiment_id}", response_model=s.ExperimentOut)
def get_experiment(experiment_id: ExperimentId, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.tracking.get_experiment(actor, experiment_id).to_dict())


@router.patch("/experiments/{experiment_id}", status_code=204, response_class=Response)
def rename_experiment(
    experiment_id: ExperimentId, body: s.UpdateExperiment, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.tracking.rename_experiment(actor, experiment_id, body.name)
    return _done()


@router.delete("/experiments/{experiment_id}", status_code=204, response_class=Response)
def delete_experiment(
    experiment_id: ExperimentId, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.tracking.delete_experiment(actor, experiment_id)
    return _done()


@router.post("/experiments/{experiment_id}/restore", status_code=204, response_class=Response)
def restore_experiment(
    experiment_id: ExperimentId, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.tracking.restore_experiment(actor, experiment_id)
    return _done()


@router.post("/experiments/{experiment_id}/tags", status_code=204, response_class=Response)
def set_experiment_tags(
    experiment_id: ExperimentId, body: s.SetExperimentTags, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.tracking.set_experiment_tags(actor, experiment_id, body.tags)
    return _done()


@router.delete("/experiments/{experiment_id}/tags", status_code=204, response_class=Response)
def delete_experiment_tag(
    experiment_id: ExperimentId, key: KeyQuery, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.tracking.delete_experiment_tag(actor, experiment_id, key)
    return _done()


# ---- runs --------------------------------------------------------------------------------------


@router.post("/runs/search", response_model=s.RunPage)
def search_runs(body: s.SearchRuns, platform: PlatformDep, actor: ActorDep) -> Response:
    page = platform.tracking.search_runs(
        actor,
        experiment_ids=body.experiment_ids,
        filter_string=body.filter,
        view_type=ViewType(body.view_type),
        max_results=body.max_results,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return _json(
        {"runs": [r.to_dict() for r in page.items], "next_page_token": page.next_page_token}
    )


@router.delete("/runs/{run_id}", status_code=204, response_class=Response)
def delete_run(run_id: RunId, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.tracking.delete_run(actor, run_id)
    return _done()


@router.post("/runs/{run_id}/restore", status_code=204, response_class=Response)
def restore_run(run_id: RunId, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.tracking.restore_run(actor, run_id)
    return _done()


@router.post("/runs/{run_id}/metrics", status_code=204, response_class=Response)
def log_metric(
    run_id: RunId, body: s.LogMetric, platform: PlatformDep, actor: ActorDep
) -> Response:
    platform.tracking.log_metric(
        actor, run_id, body.key, decode_float(body.value), body.timestamp, body.step
    )
    return _done()


@router.get("/runs/{run_id}/metrics/history", response_model=s.MetricHistoryOut)
def get_metric_history(
    run_id: RunId,
    key: KeyQuery,
    platform: PlatformDep,
    actor: ActorDep,
    start_step: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
    end_step: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
    max_points: Annotated[int | None, Query(ge=5, le=10_000)] = None,
) -> Response:
    """Every point, or at most ``max_points`` of them downsampled (ends, extremes, NaN kept)."""
    history = platform.tracking.get_metric_history(
        actor, run_id, key, start_step, end_step, max_points
    )
    return _json(history.to_dict())


# ---- the UI's run views: keys for completion and columns, counts, chart series ------------------


@router.get("/experiments/{experiment_id}/keys", response_model=s.RunKeysOut)
def experiment_keys(
    experiment_id: ExperimentId,
    platform: PlatformDep,
    actor: ActorDep,
    view_type: s.ViewTypeName = "ACTIVE_ONLY",
) -> Response:
    """The distinct metric, param and tag keys and dataset names of the experiment's runs."""
    keys = platform.tracking.run_keys(actor, [experiment_id], ViewType(view_type))
    return _json(keys.to_dict())


@router.post("/runs/keys", response_model=s.RunKeysOut)
def run_keys(body: s.RunKeysQuery, platform: PlatformDep, actor: ActorDep) -> Response:
    """The same over several experiments (every readable one when ``experiment_ids`` is null)."""
    keys = platform.tracking.run_keys(actor, body.experiment_ids, ViewType(body.view_type))
    return _json(keys.to_dict())


@router.post("/runs/count", response_model=s.RunCountOut)
def count_runs(body: s.CountRuns, platform: PlatformDep, actor: ActorDep) -> Response:
    """How many runs ``runs/search`` with this body pages through (same filter compiler)."""
    count = platform.tracking.count_runs(
        actor, body.experiment_ids, body.filter, ViewType(body.view_type)
    )
    return _json({"count": count})


@router.post("/metrics/history-bulk", response_model=s.MetricSeriesPage)
def metric_history_bulk(
    body: s.MetricSeriesQuery, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Each run's history of each key, downsampled on the server to ``max_points`` a series
    (min and max per bucket: ends, extremes and NaN kept); one series per (run, key)."""
    series = platform.tracking.metric_series(
        actor, body.run_ids, body.keys, body.max_points, body.x
    )
    return _json({"series": [one.to_dict() for one in series]})


@router.post("/runs/{run_id}/params", status_code=204, response_class=Response)
def log_param(run_id: RunId, body: s.ParamIn, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.tracking.log_param(actor, run_id, body.key, body.value)
    return _done()


@router.post("/runs/{run_id}/tags", status_code=204, response_class=Response)
def set_tag(run_id: RunId, body: s.TagIn, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.tracking.set_tag(actor, run_id, body.key, body.value)
    return _done()


@router.delete("/runs/{run_id}/tags", status_code=204, response_class=Response)
def delete_tag(run_id: RunId, key: KeyQuery, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.tracking.delete_tag(actor, run_id, key)
    return _done()


@router.post("/runs/{run_id}/inputs", status_code=204, response_class=Response)
def log_inputs(
    run_id: RunId, body: s.LogInputs, platform: PlatformDep, actor: ActorDep
) -> Response:
    datasets = [
        DatasetInput(
            dataset=Dataset(
                name=d.dataset.name,
                digest=d.dataset.digest,
                source_type=d.dataset.source_type,
                source=d.dataset.source,
                schema=d.dataset.schema_,
                profile=d.dataset.profile,
            ),
            tags=dict(d.tags),
        )
        for d in body.datasets
    ]
    platform.tracking.log_inputs(actor, run_id, datasets)
    return _done()
