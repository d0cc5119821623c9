"""A run created with its first params and metrics: one request, one transaction."""

from __future__ import annotations

import pytest

from clew.client.client import Client
from clew.core.errors import InvalidInput, ParamOverwrite
from clew.tracking.model import Metric


def test_run_created_with_params_and_metrics(client: Client) -> None:
    points = [Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(5)]
    run = client.create_run(params={"lr": 0.1, "depth": 3}, metrics=points, tags={"t": "v"})
    assert run.data.params == {"lr": "0.1", "depth": "3"}
    assert run.data.metrics["loss"].step == 4
    stored = client.get_run(run.info.run_id)
    assert stored.data.params == run.data.params
    assert stored.data.tags["t"] == "v"
    assert client.get_metric_history(run.info.run_id, "loss").steps == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"params": [("a", "1"), ("a", "2")]}, id="param-clash"),
        pytest.param({"metrics": [Metric("", 1.0, 0, 0)]}, id="empty-metric-key"),
    ],
)
def test_bad_first_data_creates_no_run(client: Client, kwargs: dict) -> None:
    with pytest.raises((InvalidInput, ParamOverwrite)):
        client.create_run(**kwargs)
    assert len(client.search_runs()) == 0


def test_run_recorded_as_already_finished(client: Client) -> None:
    run = client.create_run(params={"lr": 0.1}, status="FINISHED", start_time=1000, end_time=5000)
    stored = client.get_run(run.info.run_id).info
    assert (stored.status, stored.start_time, stored.end_time) == ("FINISHED", 1000, 5000)
    now_ended = client.create_run(status="KILLED").info
    assert now_ended.end_time is not None


def test_unknown_status_creates_no_run(client: Client) -> None:
    with pytest.raises(InvalidInput):
        client.create_run(status="DONE")
    assert len(client.search_runs()) == 0
