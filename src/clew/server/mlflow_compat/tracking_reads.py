"""MLflow's tracking reads that can be large: ``runs/search``, ``metrics/get-history`` and the
charts' ``metrics/get-history-bulk-interval``. They run in the thread pool, answer included, so
a 1,000-run page or a 100,000-point history does not hold the event loop.

- ``runs/search`` passes MLflow's filter and ``order_by`` to Clew's search, whose grammar is
  MLflow's plus ``OR`` and parentheses, and hands Clew's keyset token out as the opaque
  ``next_page_token``. ``attributes.artifact_uri`` compares with Clew's own URI of the run.
- ``metrics/get-history`` pages one history (the client asks 25,000 points at a time) with an
  offset token bound to the run and key; the history is Clew's, in (step, timestamp) order.
- ``metrics/get-history-bulk-interval`` samples each run's history as MLflow's SQL store does:
  the points in (step, timestamp, value) order cut into ``max_results`` even buckets (SQL's
  ``NTILE``), the first point of each kept, and the last point always (in place of the last
  sample when the page is full). Its limits are MLflow's handler's: 1..100 runs,
  ``max_results`` 1..2,500, ``start_step`` and ``end_step`` together or not at all; an
  unknown run id contributes no points.
- ``experiments/search-datasets`` (the UI's, under ``/ajax-api`` only, as MLflow serves it):
  one summary per (experiment, dataset name, digest, context) the experiments' runs read, at
  most 1,000; no experiment id is MLflow's 400.
"""

from __future__ import annotations

import math
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from clew.core import paging
from clew.core.actor import Actor
from clew.core.errors import InvalidInput, InvalidPageToken, NotFound
from clew.platform import Platform
from clew.server.deps import ActorDep, PlatformDep
from clew.server.mlflow_compat import tracking_shapes as shapes
from clew.server.mlflow_compat.protocol import Fields, ok
from clew.server.routing import FeatureRouter
from clew.tracking.model import MetricHistory

#: MLflow's default page of a run search (``max_results`` of ``SearchRuns``).
RUNS_PAGE: Final = 1000
#: MLflow's handler limits for the bulk-interval history.
MAX_BULK_RUNS: Final = 100
MAX_BULK_POINTS: Final = 2500


#: MLflow's cap on ``experiments/search-datasets`` (``MAX_DATASET_SUMMARIES_RESULTS``).
MAX_DATASET_SUMMARIES: Final = 1000


def add_ajax_routes(router: FeatureRouter) -> None:
    """Routes MLflow serves to its UI under ``/ajax-api`` only."""

    @router.post("/experiments/search-datasets")
    async def search_datasets(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        ids = [str(e) for e in f.items("experiment_ids")]
        summaries = platform.tracking.dataset_summaries(actor, ids, MAX_DATASET_SUMMARIES)
        return ok({"dataset_summaries": [shapes.dataset_summary(s) for s in summaries]})


def add_routes(router: FeatureRouter) -> None:
    @router.post("/runs/search")
    async def search_runs(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        f = await Fields.of(request)
        return await run_in_threadpool(_search_runs, platform, actor, f)

    @router.get("/metrics/get-history")
    async def get_metric_history(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        return await run_in_threadpool(_history_page, platform, actor, f)

    @router.get("/metrics/get-history-bulk-interval")
    async def get_metric_history_bulk_interval(
        request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        f = await Fields.of(request)
        return await run_in_threadpool(_bulk_interval, platform, actor, f)


def _search_runs(platform: Platform, actor: Actor, f: Fields) -> Response:
    page = platform.tracking.search_runs(
        actor,
        experiment_ids=[str(e) for e in f.items("experiment_ids")],
        filter_string=f.text("filter", default=""),
        view_type=shapes.view_type(f.data.get("run_view_type")),
        max_results=f.integer("max_results", default=RUNS_PAGE),
        order_by=[str(clause) for clause in f.items("order_by")],
        page_token=f.text("page_token"),
    )
    return ok(
        {"runs": [shapes.run(r) for r in page.items], "next_page_token": page.next_page_token}
    )


def _history_page(platform: Platform, actor: Actor, f: Fields) -> Response:
    run_id, key = f.run_id(), f.text("metric_key", required=True)
    max_results = f.integer("max_results")
    if max_results is not None and max_results <= 0:
        raise InvalidInput(
            f"Invalid value {max_results} for parameter 'max_results' supplied. "
            "It must be a positive integer."
        )
    history = platform.tracking.get_metric_history(actor, run_id, key)
    scope = paging.fingerprint("mlflow-metric-history", run_id, key)
    token = f.text("page_token")
    start = 0 if token is None else _offset(paging.decode(token, scope))
    stop = len(history) if max_results is None else min(len(history), start + max_results)
    more = stop < len(history)
    return ok(
        {
            "metrics": shapes.history_points(history, start, stop),
            "next_page_token": paging.encode({"offset": stop}, fingerprint=scope) if more else None,
        }
    )


def _offset(payload: dict[str, Any]) -> int:
    offset = payload.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidPageToken("Invalid page token")
    return offset


def _bulk_interval(platform: Platform, actor: Actor, f: Fields) -> Response:
    run_ids = [str(r) for r in f.items("run_ids")]
    if not run_ids:
        raise InvalidInput("Missing value for required parameter 'run_ids'")
    if len(run_ids) > MAX_BULK_RUNS:
        raise InvalidInput(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUNS} "
            f"run_ids. Received {len(run_ids)} run_ids."
        )
    key = f.text("metric_key", required=True)
    max_results = f.integer("max_results", default=MAX_BULK_POINTS)
    if not 1 <= max_results <= MAX_BULK_POINTS:
        raise InvalidInput(f"max_results must be between 1 and {MAX_BULK_POINTS}.")
    start_step, end_step = f.integer("start_step"), f.integer("end_step")
    if (start_step is None) != (end_step is None):
        raise InvalidInput(
            "If either start step or end step are specified, both must be specified."
        )
    if start_step is not None and start_step > end_step:
        raise InvalidInput(
            "end_step must be greater than start_step. "
            f"Found start_step={start_step} and end_step={end_step}."
        )
    metrics = []
    for run_id in run_ids:
        history = _history_or_none(platform, actor, run_id, key, start_step, end_step)
        if history is None:
            continue
        for point in _sampled(history, max_results):
            point["run_id"] = run_id
            metrics.append(point)
    return ok({"metrics": metrics})


def _history_or_none(
    platform: Platform,
    actor: Actor,
    run_id: str,
    key: str,
    start_step: int | None,
    end_step: int | None,
) -> MetricHistory | None:
    """A run's history, or ``None`` for a run that does not exist: MLflow's chart endpoint
    answers the runs it has and none for the others (a chart of several runs, one of them
    purged, still draws). The one try/except of the adapter, for that reason."""
    try:
        return platform.tracking.get_metric_history(actor, run_id, key, start_step, end_step)
    except NotFound:
        return None


def sample_indices(count: int, buckets: int) -> list[int]:
    """The rows MLflow keeps of ``count`` ordered rows: the first of each of ``buckets``
    ``NTILE`` buckets (the first ``count % buckets`` buckets one row larger), then the last
    row, replacing the last sample if there are already ``buckets``.

    >>> sample_indices(10, 4)
    [0, 3, 6, 9]
    >>> sample_indices(3, 5)
    [0, 1, 2]
    """
    if count <= buckets:
        return list(range(count))
    size, larger = divmod(count, buckets)
    picked = [i * size + min(i, larger) for i in range(buckets)]
    if picked[-1] != count - 1:
        picked[-1] = count - 1
    return picked


def _sampled(history: MetricHistory, max_results: int) -> list[dict[str, Any]]:
    """MLflow's sample of one history, in its (step, timestamp, value, is_nan) order, where a
    NaN is stored as 0."""

    def rank(i: int) -> tuple[int, int, float, bool]:
        nan = math.isnan(history.values[i])
        return history.steps[i], history.timestamps[i], 0.0 if nan else history.values[i], nan

    order = sorted(range(len(history)), key=rank)
    points = shapes.history_points(history, 0, len(history))
    return [points[order[i]] for i in sample_indices(len(order), max_results)]
