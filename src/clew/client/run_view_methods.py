"""The run-view half of :class:`~clew.client.client.Client` (a mixin, for file size): what a
run table and a compare chart need besides runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from clew.tracking.model import ViewType
from clew.tracking.view_model import MetricSeries, RunKeys, XAxis

if TYPE_CHECKING:
    from clew.client.transport import Transport


class RunViewMethods:
    transport: Transport

    def run_keys(
        self,
        experiment_ids: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> RunKeys:
        """The distinct metric, param and tag keys and dataset names of the experiments' runs
        (every readable experiment if None), each sorted, at most 2,000 of each.

        Example:
            >>> exp = client.create_experiment("doc-run-keys")
            >>> client.log_param(client.create_run(exp).run_id, "lr", 0.1)
            >>> client.run_keys([exp]).params
            ('lr',)
        """
        ids = None if experiment_ids is None else [str(e) for e in experiment_ids]
        return self.transport.run_keys(ids, ViewType(view_type))

    def count_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs :meth:`search_runs` with the same arguments pages through."""
        ids = None if experiment_ids is None else [str(e) for e in experiment_ids]
        return self.transport.count_runs(ids, filter_string, ViewType(view_type))

    def get_metric_series(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str],
        max_points: int = 1000,
        x: XAxis = "step",
    ) -> list[MetricSeries]:
        """Each run's history of each key as ``(x, value)`` points, at most ``max_points`` a
        series, downsampled on the server (min and max per bucket: the ends, the extremes and
        NaN are kept). ``x``: ``"step"``, ``"time"`` (ms since the series' first point) or
        ``"wall"`` (the timestamp). One series per (run, key), in the order asked."""
        return self.transport.metric_series(list(run_ids), list(keys), max_points, x)
