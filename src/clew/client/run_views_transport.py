"""The UI's run views on both transports (mixins of the local and HTTP transports): keys,
counts and downsampled metric series."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from clew.tracking.model import ViewType
from clew.tracking.view_model import MetricSeries, RunKeys, XAxis

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform


class LocalRunViews:
    platform: Platform
    actor: Actor

    def run_keys(
        self,
        experiment_ids: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> RunKeys:
        return self.platform.tracking.run_keys(self.actor, experiment_ids, view_type)

    def count_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        return self.platform.tracking.count_runs(
            self.actor, experiment_ids, filter_string, view_type
        )

    def metric_series(
        self, run_ids: Sequence[str], keys: Sequence[str], max_points: int, x: XAxis
    ) -> list[MetricSeries]:
        return self.platform.tracking.metric_series(self.actor, run_ids, keys, max_points, x)


class HttpRunViews:
    _json: Callable[..., Any]

    def run_keys(
        self,
        experiment_ids: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> RunKeys:
        body = {
            "experiment_ids": None if experiment_ids is None else [str(e) for e in experiment_ids],
            "view_type": ViewType(view_type).value,
        }
        return RunKeys.from_dict(self._json("POST", "/runs/keys", body=body, idempotent=True))

    def count_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        body = {
            "experiment_ids": None if experiment_ids is None else [str(e) for e in experiment_ids],
            "filter": filter_string,
            "view_type": ViewType(view_type).value,
        }
        return int(self._json("POST", "/runs/count", body=body, idempotent=True)["count"])

    def metric_series(
        self, run_ids: Sequence[str], keys: Sequence[str], max_points: int, x: XAxis
    ) -> list[MetricSeries]:
        body = {"run_ids": list(run_ids), "keys": list(keys), "max_points": max_points, "x": x}
        data = self._json("POST", "/metrics/history-bulk", body=body, idempotent=True)
        return [MetricSeries.from_dict(s) for s in data["series"]]
