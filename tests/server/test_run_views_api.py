"""The UI's run-view routes through HTTP, on each database: keys, counts, bulk series."""

from __future__ import annotations

from typing import Any

from .conftest import TestClient, assert_error

API = "/api/v1"


def _experiment(api: TestClient, name: str) -> str:
    return str(api.post(f"{API}/experiments", json={"name": name}).json()["experiment_id"])


def _run(api: TestClient, exp: str, lr: str, points: list[dict[str, Any]] | None = None) -> str:
    body = {"experiment_id": exp, "params": [{"key": "lr", "value": lr}], "metrics": points or []}
    response = api.post(f"{API}/runs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["info"]["run_id"])


def test_keys_of_one_and_of_several_experiments(api: TestClient) -> None:
    a, b = _experiment(api, "a"), _experiment(api, "b")
    _run(api, a, "0.1", [{"key": "loss", "value": 1.0, "timestamp": 1, "step": 0}])
    _run(api, b, "0.2")
    got = api.get(f"{API}/experiments/{a}/keys")
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) == {"metrics", "params", "tags", "datasets", "truncated"}
    assert (body["metrics"], body["params"], body["truncated"]) == (["loss"], ["lr"], False)
    assert "mlflow.runName" in body["tags"]
    several = api.post(f"{API}/runs/keys", json={"experiment_ids": [a, b]}).json()
    assert several["params"] == ["lr"] and several["metrics"] == ["loss"]
    assert api.post(f"{API}/runs/keys", json={}).json() == several
    assert (
        api.get(f"{API}/experiments/{b}/keys", params={"view_type": "DELETED_ONLY"}).json()[
            "params"
        ]
        == []
    )
    assert_error(api.get(f"{API}/experiments/424242/keys"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_count_takes_the_search_body(api: TestClient) -> None:
    exp = _experiment(api, "count")
    for lr in ("0.1", "0.1", "0.2"):
        _run(api, exp, lr)
    body = {"experiment_ids": [exp], "filter": "params.lr = '0.1'"}
    assert api.post(f"{API}/runs/count", json=body).json() == {"count": 2}
    assert api.post(f"{API}/runs/count", json={"experiment_ids": [exp]}).json() == {"count": 3}
    search = api.post(f"{API}/runs/search", json=body).json()
    assert len(search["runs"]) == 2
    assert_error(api.post(f"{API}/runs/count", json={"filter": "params.lr =="}), 400,
                 "INVALID_FILTER")  # fmt: skip
    bad = api.post(f"{API}/runs/count", json={"filter": "", "order_by": ["x"]})
    assert bad.status_code == 400  # not a search: no paging or ordering fields


def test_history_bulk_downsamples_and_encodes_non_finite(api: TestClient) -> None:
    exp = _experiment(api, "charts")
    points = [{"key": "loss", "value": float(i % 7), "timestamp": 100 + i, "step": i}
              for i in range(2_000)]  # fmt: skip
    points[10] = {"key": "loss", "value": "NaN", "timestamp": 110, "step": 10}
    points[20] = {"key": "loss", "value": "-Infinity", "timestamp": 120, "step": 20}
    a = _run(api, exp, "0.1", points[:1000])
    assert api.post(f"{API}/runs/{a}/batch", json={"metrics": points[1000:]}).status_code == 204
    b = _run(api, exp, "0.2", [{"key": "loss", "value": 3.0, "timestamp": 5, "step": 0}])
    body = {"run_ids": [a, b], "keys": ["loss", "acc"], "max_points": 50}
    got = api.post(f"{API}/metrics/history-bulk", json=body)
    assert got.status_code == 200, got.text
    series = got.json()["series"]
    assert [(s["run_id"], s["key"]) for s in series] == [(a, "loss"), (a, "acc"), (b, "loss"),
                                                         (b, "acc")]  # fmt: skip
    first = series[0]
    assert first["total_points"] == 2_000 and first["downsampled"] is True
    assert len(first["points"]) <= 50
    values = [v for _, v in first["points"]]
    assert "NaN" in values and "-Infinity" in values and 6.0 in values
    assert first["points"][0] == [0, 0.0] and first["points"][-1][0] == 1_999
    assert series[1] == {"run_id": a, "key": "acc", "points": [], "total_points": 0,
                         "downsampled": False}  # fmt: skip
    assert series[2]["points"] == [[0, 3.0]]
    wall = api.post(f"{API}/metrics/history-bulk",
                    json={"run_ids": [b], "keys": ["loss"], "x": "wall"}).json()  # fmt: skip
    assert wall["series"][0]["points"] == [[5, 3.0]]

    too_many = {"run_ids": [a] * 101, "keys": ["loss"]}
    assert api.post(f"{API}/metrics/history-bulk", json=too_many).status_code == 400
    big = {"run_ids": [a], "keys": ["loss"], "max_points": 10_001}
    assert api.post(f"{API}/metrics/history-bulk", json=big).status_code == 400
    missing = {"run_ids": ["0" * 32], "keys": ["loss"]}
    assert_error(api.post(f"{API}/metrics/history-bulk", json=missing), 404,
                 "RESOURCE_DOES_NOT_EXIST")  # fmt: skip


def test_single_history_takes_max_points(api: TestClient) -> None:
    exp = _experiment(api, "one")
    points = [{"key": "loss", "value": float(i), "timestamp": i, "step": i} for i in range(500)]
    run = _run(api, exp, "0.1", points)
    url = f"{API}/runs/{run}/metrics/history"
    full = api.get(url, params={"key": "loss"}).json()
    assert len(full["steps"]) == 500
    small = api.get(url, params={"key": "loss", "max_points": 10}).json()
    assert len(small["steps"]) <= 10 and small["steps"][0] == 0 and small["steps"][-1] == 499
    assert small["values"][-1] == 499.0
    assert api.get(url, params={"key": "loss", "max_points": 4}).status_code == 400
