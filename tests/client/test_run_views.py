"""The run-view client methods on both transports (and both databases)."""

from __future__ import annotations

import math

from clew.client.client import Client
from clew.tracking.model import Metric, ViewType


def test_keys_count_and_series(client: Client) -> None:
    exp = client.create_experiment("views")
    runs = []
    for i in range(3):
        run_id = client.create_run(exp).run_id
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1.0 / (s + 1), 1_000 + s, s) for s in range(300)],
            params={"lr": str(i)},
            tags={"group": "a" if i else "b"},
        )
        runs.append(run_id)
    client.log_metric(runs[0], "loss", math.nan, 2_000, 300)

    keys = client.run_keys([exp])
    assert (keys.metrics, keys.params, keys.truncated) == (("loss",), ("lr",), False)
    assert "group" in keys.tags
    assert client.run_keys(None).params == ("lr",)
    assert client.run_keys([exp], ViewType.DELETED_ONLY).params == ()

    assert client.count_runs([exp]) == 3
    assert client.count_runs([exp], "tags.group = 'a'") == 2
    assert client.count_runs(None, "params.lr = '9'") == 0

    series = client.get_metric_series(runs[:2], ["loss"], max_points=20)
    assert [s.run_id for s in series] == runs[:2]
    first = series[0]
    assert first.total_points == 301 and first.downsampled and len(first.points) <= 20
    assert first.points[0] == (0, 1.0) and math.isnan(first.points[-1][1])
    wall = client.get_metric_series([runs[1]], ["loss"], max_points=10_000, x="wall")[0]
    assert wall.points[0] == (1_000, 1.0) and len(wall.points) == 300

    history = client.get_metric_history(runs[1], "loss", max_points=10)
    assert len(history.steps) <= 10 and history.steps[0] == 0 and history.steps[-1] == 299
