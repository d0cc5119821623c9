"""Every tracking route's happy path, through HTTP, on each database."""

from __future__ import annotations

from clew.core import schema
from clew.core.actor import Actor
from clew.tracking.model import Metric

from .conftest import TestClient, count_rows

API = "/api/v1"


def _experiment(api: TestClient, name: str = "exp", **extra: object) -> str:
    response = api.post(f"{API}/experiments", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["experiment_id"])


def test_experiment_lifecycle(api: TestClient) -> None:
    eid = _experiment(api, "exp", tags={"team": "vision"})
    got = api.get(f"{API}/experiments/{eid}").json()
    assert (got["name"], got["tags"], got["lifecycle_stage"]) == (
        "exp",
        {"team": "vision"},
        "active",
    )
    assert api.get(f"{API}/experiments/by-name", params={"name": "exp"}).json() == got

    assert api.patch(f"{API}/experiments/{eid}", json={"name": "renamed"}).status_code == 204
    assert api.post(f"{API}/experiments/{eid}/tags", json={"tags": {"a": "1"}}).status_code == 204
    response = api.delete(f"{API}/experiments/{eid}/tags", params={"key": "team"})
    assert response.status_code == 204
    got = api.get(f"{API}/experiments/{eid}").json()
    assert (got["name"], got["tags"]) == ("renamed", {"a": "1"})

    assert api.delete(f"{API}/experiments/{eid}").status_code == 204
    assert api.get(f"{API}/experiments/{eid}").json()["lifecycle_stage"] == "deleted"
    assert api.post(f"{API}/experiments/{eid}/restore").status_code == 204
    assert api.get(f"{API}/experiments/{eid}").json()["lifecycle_stage"] == "active"


def test_experiment_name_with_slashes_and_dots_survives(api: TestClient) -> None:
    eid = _experiment(api, "/Users/a/./b/../c")
    got = api.get(f"{API}/experiments/by-name", params={"name": "/Users/a/./b/../c"}).json()
    assert got["experiment_id"] == eid


def test_search_experiments_pages(api: TestClient) -> None:
    for i in range(3):
        _experiment(api, f"e{i}")
    body = {"filter": "name LIKE 'e%'", "order_by": ["name ASC"], "max_results": 2}
    first = api.post(f"{API}/experiments/search", json=body).json()
    assert [e["name"] for e in first["experiments"]] == ["e0", "e1"]
    assert first["next_page_token"]
    second = api.post(
        f"{API}/experiments/search", json={**body, "page_token": first["next_page_token"]}
    ).json()
    assert [e["name"] for e in second["experiments"]] == ["e2"]
    assert second["next_page_token"] is None


def test_run_lifecycle(api: TestClient) -> None:
    eid = _experiment(api)
    created = api.post(
        f"{API}/runs",
        json={"experiment_id": eid, "run_name": "r1", "start_time": 5, "tags": {"k": "v"}},
    )
    assert created.status_code == 201
    run = created.json()
    run_id = run["info"]["run_id"]
    assert (run["info"]["run_name"], run["info"]["start_time"], run["data"]["tags"]["k"]) == (
        "r1",
        5,
        "v",
    )
    child = api.post(f"{API}/runs", json={"experiment_id": eid, "parent_run_id": run_id}).json()
    assert child["info"]["parent_run_id"] == run_id

    info = api.patch(f"{API}/runs/{run_id}", json={"status": "FINISHED", "end_time": 9}).json()
    assert (info["status"], info["end_time"]) == ("FINISHED", 9)
    assert api.get(f"{API}/runs/{run_id}").json()["info"]["status"] == "FINISHED"

    assert api.delete(f"{API}/runs/{run_id}").status_code == 204
    assert api.delete(f"{API}/runs/{run_id}").status_code == 204  # idempotent
    assert api.get(f"{API}/runs/{run_id}").json()["info"]["lifecycle_stage"] == "deleted"
    assert api.post(f"{API}/runs/{run_id}/restore").status_code == 204
    assert api.get(f"{API}/runs/{run_id}").json()["info"]["lifecycle_stage"] == "active"


def test_logging_routes(api: TestClient, run_id: str) -> None:
    batch = {
        "metrics": [
            {"key": "loss", "value": 0.5, "timestamp": 1, "step": 0},
            {"key": "loss", "value": "NaN", "timestamp": 2, "step": 1},
            {"key": "loss", "value": 3, "timestamp": 3, "step": 2},
        ],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "phase", "value": "train"}],
    }
    assert api.post(f"{API}/runs/{run_id}/batch", json=batch).status_code == 204
    assert api.post(f"{API}/runs/{run_id}/batch", json=batch).status_code == 204  # retry: no-op
    assert count_rows(api, schema.metrics) == 3
    response = api.post(f"{API}/runs/{run_id}/metrics", json={"key": "acc", "value": "Infinity"})
    assert response.status_code == 204
    assert (
        api.post(f"{API}/runs/{run_id}/params", json={"key": "seed", "value": "7"}).status_code
        == 204
    )
    assert api.post(f"{API}/runs/{run_id}/tags", json={"key": "t", "value": "x"}).status_code == 204
    assert api.delete(f"{API}/runs/{run_id}/tags", params={"key": "phase"}).status_code == 204

    run = api.get(f"{API}/runs/{run_id}").json()
    assert run["data"]["params"] == {"lr": "0.1", "seed": "7"}
    assert "phase" not in run["data"]["tags"] and run["data"]["tags"]["t"] == "x"
    latest = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert latest == {"loss": 3.0, "acc": "Infinity"}

    history = api.get(f"{API}/runs/{run_id}/metrics/history", params={"key": "loss"}).json()
    assert history == {
        "key": "loss",
        "steps": [0, 1, 2],
        "timestamps": [1, 2, 3],
        "values": [0.5, "NaN", 3.0],
    }
    window = api.get(
        f"{API}/runs/{run_id}/metrics/history",
        params={"key": "loss", "start_step": 1, "end_step": 1},
    ).json()
    assert window["steps"] == [1]


def test_metric_key_with_slashes_and_dots(api: TestClient, run_id: str) -> None:
    key = "eval/./loss%20x"
    body = {"metrics": [{"key": key, "value": 1.0, "timestamp": 1, "step": 0}]}
    assert api.post(f"{API}/runs/{run_id}/batch", json=body).status_code == 204
    history = api.get(f"{API}/runs/{run_id}/metrics/history", params={"key": key}).json()
    assert history["key"] == key and history["values"] == [1.0]


def test_log_inputs(api: TestClient, run_id: str) -> None:
    body = {
        "datasets": [
            {
                "dataset": {
                    "name": "train",
                    "digest": "abc",
                    "source_type": "local",
                    "source": "/data",
                    "schema": "{}",
                    "profile": "",
                },
                "tags": {"mlflow.data.context": "training"},
            }
        ]
    }
    assert api.post(f"{API}/runs/{run_id}/inputs", json=body).status_code == 204
    inputs = api.get(f"{API}/runs/{run_id}").json()["inputs"]
    assert inputs[0]["dataset"]["name"] == "train" and inputs[0]["dataset"]["schema"] == "{}"
    assert inputs[0]["tags"] == {"mlflow.data.context": "training"}


def test_search_runs(api: TestClient) -> None:
    eid = _experiment(api)
    ids = []
    for i in range(3):
        run = api.post(f"{API}/runs", json={"experiment_id": eid, "run_name": f"r{i}"}).json()
        ids.append(run["info"]["run_id"])
        metric = {"key": "m", "value": i, "timestamp": 1, "step": 0}
        api.post(f"{API}/runs/{ids[-1]}/batch", json={"metrics": [metric]})
    body = {
        "experiment_ids": [eid],
        "filter": "metrics.m >= 1",
        "order_by": ["metrics.m DESC"],
        "max_results": 1,
    }
    page = api.post(f"{API}/runs/search", json=body).json()
    assert [r["info"]["run_id"] for r in page["runs"]] == [ids[2]]
    nxt = api.post(f"{API}/runs/search", json={**body, "page_token": page["next_page_token"]})
    assert [r["info"]["run_id"] for r in nxt.json()["runs"]] == [ids[1]]
    everything = api.post(f"{API}/runs/search", json={"view_type": "ALL"}).json()
    assert len(everything["runs"]) == 3


def test_large_metric_history_round_trips(api: TestClient, run_id: str) -> None:
    # Written through the service; the point is the read path. Its speed is measured by
    # bench/ (a 100,000-point read), never asserted here: the machine is shared.
    platform = api.app.state.platform  # type: ignore[attr-defined]
    for batch in range(10):
        points = [Metric("m", i * 0.5, i, batch * 10_000 + i) for i in range(10_000)]
        platform.tracking.log_batch(Actor("t"), run_id, metrics=points)
    response = api.get(f"{API}/runs/{run_id}/metrics/history", params={"key": "m"})
    history = response.json()
    assert len(history["steps"]) == 100_000 and history["values"][3] == 1.5
