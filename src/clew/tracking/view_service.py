"""Read use cases of the UI's run views: the keys a search can name, how many runs a search
finds, and metric series downsampled for compare charts. Reads only: authorize → validate →
read, nothing to audit.

What a caller may see is decided as for ``search_runs``: named experiments are each checked
for READ; no experiments means every experiment the caller may read, filtered in the query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from clew.core.actor import Actor
from clew.core.authz import Permission
from clew.core.errors import InvalidInput, LimitExceeded, NotFound
from clew.core.ids import check_run_id
from clew.tracking.downsample import MAX_POINTS, MIN_POINTS, keep
from clew.tracking.model import ViewType
from clew.tracking.search.compile import compile_run_count
from clew.tracking.service_base import (
    UseCases,
    run_resource,
)
from clew.tracking.store import TrackingStore
from clew.tracking.view_model import X_AXES, MetricSeries, RunKeys, XAxis
from clew.tracking.views_store import KeyKind, RunViewStore

#: Names returned per kind of key at most (the UI completes from them, it does not page).
MAX_KEYS = 2_000
MAX_SERIES_RUNS = 100
MAX_SERIES_KEYS = 20
DEFAULT_POINTS = 1_000
#: runs * keys * max_points: what one response may hold at most (100 * 20 * 1,000).
MAX_POINTS_PER_REQUEST = 2_000_000
_KINDS: tuple[KeyKind, ...] = ("metrics", "params", "tags", "datasets")


class RunViewUseCases(UseCases):
    def run_keys(
        self,
        actor: Actor,
        experiment_ids: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        limit: int = MAX_KEYS,
    ) -> RunKeys:
        """The distinct metric, param and tag keys and dataset names of the runs in these
        experiments (all readable ones if None), each sorted, at most ``limit`` of each.

        Raises:
            NotFound: one experiment named, and it does not exist.
        """
        if isinstance(limit, bool) or not 1 <= limit <= MAX_KEYS:
            raise InvalidInput(f"limit must be between 1 and {MAX_KEYS}, not {limit!r}")
        stages = [str(s) for s in ViewType(view_type).stages()]
        scope = self.read_scope(actor, experiment_ids)
        found: dict[str, list[str]] = {kind: [] for kind in _KINDS}
        if scope != []:
            with self.db.read() as conn:
                if experiment_ids is not None and len(scope or ()) == 1:
                    TrackingStore(conn).get_experiment((scope or [0])[0])  # NotFound if none
                store = RunViewStore(conn)
                for kind in _KINDS:
                    found[kind] = store.distinct_keys(kind, scope, stages, limit + 1)
        return RunKeys(
            metrics=tuple(found["metrics"][:limit]),
            params=tuple(found["params"][:limit]),
            tags=tuple(found["tags"][:limit]),
            datasets=tuple(found["datasets"][:limit]),
            truncated=any(len(names) > limit for names in found.values()),
        )

    def count_runs(
        self,
        actor: Actor,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs ``search_runs`` with the same scope, filter and view would page
        through: the same compiled filter, counted instead of ordered."""
        scope = self.read_scope(actor, experiment_ids)
        candidates = compile_run_count(
            experiment_ids=scope, filter_string=filter_string, view_type=view_type
        )
        if scope == []:
            return 0
        with self.db.read() as conn:
            return RunViewStore(conn).count(candidates)

    def metric_series(
        self,
        actor: Actor,
        run_ids: Sequence[str],
        keys: Sequence[str],
        max_points: int = DEFAULT_POINTS,
        x: XAxis = "step",
    ) -> list[MetricSeries]:
        """Each run's history of each key, at most ``max_points`` points a series
        (``tracking.downsample``: ends, extremes and NaN kept), one series per (run, key) in
        the order asked, empty where a run never logged the key. One query per series reads them.

        Raises:
            InvalidInput: no runs or keys, repeats, an unknown ``x``, ``max_points`` out of
                range; ``LimitExceeded``: more than 100 runs, 20 keys or 2,000,000 points.
            NotFound: a run does not exist.
        """
        run_ids = [check_run_id(r) for r in run_ids]
        keys = list(keys)
        _check_series_request(run_ids, keys, max_points, x)
        for run_id in run_ids:
            self.authz.check(actor, Permission.READ, run_resource(run_id))
        with self.db.read() as conn:
            infos = TrackingStore(conn).get_run_infos(run_ids)
            missing = [r for r in run_ids if r not in infos]
            if missing:
                raise NotFound(f"Run {missing[0]} does not exist")
            points = RunViewStore(conn).metric_points(run_ids, keys, by_time=x != "step")
            read = {(s.run_id, s.key): s for s in _series(points, max_points, x)}
        return [
            read.get((run_id, key)) or MetricSeries(run_id, key, (), 0, False)
            for run_id in run_ids
            for key in keys
        ]


def _check_series_request(
    run_ids: Sequence[str], keys: Sequence[str], max_points: int, x: str
) -> None:
    if not run_ids or not keys:
        raise InvalidInput("Name at least one run and one metric key")
    if len(set(run_ids)) != len(run_ids) or len(set(keys)) != len(keys):
        raise InvalidInput("Each run and each key may be named once")
    if len(run_ids) > MAX_SERIES_RUNS or len(keys) > MAX_SERIES_KEYS:
        raise LimitExceeded(
            f"At most {MAX_SERIES_RUNS} runs and {MAX_SERIES_KEYS} keys per request, "
            f"not {len(run_ids)} and {len(keys)}"
        )
    if isinstance(max_points, bool) or not MIN_POINTS <= max_points <= MAX_POINTS:
        raise InvalidInput(
            f"max_points must be between {MIN_POINTS} and {MAX_POINTS}, not {max_points!r}"
        )
    if len(run_ids) * len(keys) * max_points > MAX_POINTS_PER_REQUEST:
        raise LimitExceeded(
            f"runs * keys * max_points may be at most {MAX_POINTS_PER_REQUEST:,}: "
            "ask for fewer points per series"
        )
    if x not in X_AXES:
        raise InvalidInput(f"x must be one of {', '.join(X_AXES)}, not {x!r}")


def _series(
    series: Iterator[tuple[str, str, list[tuple[int, float | None]]]], max_points: int, x: XAxis
) -> Iterator[MetricSeries]:
    """Each series' ``(x, value)`` rows as two columns, downsampled; NaN arrives as None."""
    for run_id, key, rows in series:
        xs = np.fromiter((point[0] for point in rows), dtype=np.int64, count=len(rows))
        ys = np.array([point[1] for point in rows], dtype=np.float64)  # None -> NaN
        yield _finish(run_id, key, xs, ys, max_points, x)


def _finish(
    run_id: str,
    key: str,
    xs: npt.NDArray[np.int64],
    ys: npt.NDArray[np.float64],
    max_points: int,
    x: XAxis,
) -> MetricSeries:
    if x == "time":
        xs = xs - xs[0]  # time order: the first point is the earliest
    kept = keep(ys, max_points)
    points = tuple(zip(xs[kept.indexes].tolist(), ys[kept.indexes].tolist(), strict=True))
    return MetricSeries(run_id, key, points, len(ys), kept.downsampled)
