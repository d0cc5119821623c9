"""The tracking RPCs on the wire (raw HTTP, as MLflow's REST store sends them): answer shapes,
error codes and statuses, ``log-model``'s history tag, metric-history paging and the charts'
sampled bulk history. Then what Clew adds for MLflow-client writes (``clew_only``): audit
events, datasets as run inputs in Clew's own API, and a metric logged for a LoggedModel landing
on the model in the run's transaction.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.server.mlflow_compat.scripts import PRELUDE, unique

pytestmark = pytest.mark.server

RPC = "/api/2.0/mlflow"


@pytest.fixture
def http(compat_server: Any) -> Any:
    with httpx.Client(base_url=compat_server.url + RPC, timeout=30) as client:
        yield client


def _experiment(http: httpx.Client) -> str:
    response = http.post("/experiments/create", json={"name": unique("wire")})
    assert response.status_code == 200, response.text
    return str(response.json()["experiment_id"])


def _run(http: httpx.Client, experiment_id: str, **fields: Any) -> dict[str, Any]:
    response = http.post("/runs/create", json={"experiment_id": experiment_id, **fields})
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()["run"]
    return run


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error_code"]


def test_shapes_of_experiments_and_runs(http: httpx.Client) -> None:
    eid = _experiment(http)
    exp = http.get("/experiments/get", params={"experiment_id": eid}).json()["experiment"]
    assert exp["experiment_id"] == eid and exp["lifecycle_stage"] == "active"
    assert exp["artifact_location"] == f"mlflow-artifacts:/{eid}"
    assert exp["creation_time"] > 0 and exp["last_update_time"] >= exp["creation_time"]
    assert "tags" not in exp  # empty fields are left out

    tags = [
        {"key": "mlflow.user", "value": "alice"},
        {"key": "mlflow.source.name", "value": "t.py"},
    ]
    run = _run(http, eid, run_name="r1", start_time=1_700_000_000_000, user_id="alice", tags=tags)
    info = run["info"]
    run_id = info["run_id"]
    assert info["run_uuid"] == run_id and len(run_id) == 32
    assert info["experiment_id"] == eid and info["run_name"] == "r1"
    assert info["status"] == "RUNNING" and info["start_time"] == 1_700_000_000_000
    assert info["artifact_uri"] == f"mlflow-artifacts:/{eid}/{run_id}/artifacts"
    assert info["lifecycle_stage"] == "active" and "end_time" not in info
    assert {t["key"]: t["value"] for t in run["data"]["tags"]} == {
        "mlflow.user": "alice",
        "mlflow.source.name": "t.py",
        "mlflow.runName": "r1",
    }
    assert "metrics" not in run["data"] and "params" not in run["data"]

    ended = http.post(
        "/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_009_000}
    ).json()["run_info"]
    assert ended["status"] == "FINISHED" and ended["end_time"] == 1_700_000_009_000
    # 2.x clients name the run ``run_uuid`` too; either is accepted.
    got = http.get("/runs/get", params={"run_uuid": run_id}).json()["run"]
    assert got["info"]["status"] == "FINISHED"


def test_errors_have_mlflow_codes_and_statuses(http: httpx.Client) -> None:
    eid = _experiment(http)
    missing = http.get("/experiments/get-by-name", params={"experiment_name": unique("none")})
    assert _error(missing) == (404, "RESOURCE_DOES_NOT_EXIST")
    name = http.get("/experiments/get", params={"experiment_id": eid}).json()["experiment"]["name"]
    assert _error(http.post("/experiments/create", json={"name": name})) == (
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    assert _error(http.get("/runs/get", params={"run_id": uuid.uuid4().hex})) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert _error(http.post("/experiments/create", json={})) == (400, "INVALID_PARAMETER_VALUE")
    run_id = _run(http, eid)["info"]["run_id"]
    no_value = http.post("/runs/log-metric", json={"run_id": run_id, "key": "m", "timestamp": 1})
    assert _error(no_value) == (400, "INVALID_PARAMETER_VALUE")
    assert _error(http.post("/runs/log-parameter", json={"key": "k", "value": "v"})) == (
        400,
        "INVALID_PARAMETER_VALUE",
    )
    param = {"run_id": run_id, "key": "depth", "value": "6"}
    assert http.post("/runs/log-parameter", json=param).status_code == 200
    changed = http.post("/runs/log-parameter", json={**param, "value": "7"})
    assert _error(changed) == (400, "INVALID_PARAMETER_VALUE")
    bad_filter = http.post("/runs/search", json={"experiment_ids": [eid], "filter": "metrics.m >"})
    assert _error(bad_filter) == (400, "INVALID_PARAMETER_VALUE")
    too_many = http.post("/runs/search", json={"experiment_ids": [eid], "max_results": 50_001})
    assert _error(too_many) == (400, "INVALID_PARAMETER_VALUE")


def test_log_batch_is_idempotent_and_history_pages(http: httpx.Client) -> None:
    run_id = _run(http, _experiment(http))["info"]["run_id"]
    values: list[Any] = [0.5, "NaN", 0.25, 1.5, 2.5]
    batch = {
        "run_id": run_id,
        "metrics": [
            {"key": "loss", "value": v, "timestamp": 1_000 + i, "step": i}
            for i, v in enumerate(values)
        ],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "stage", "value": "dev"}],
    }
    for _ in range(2):  # a client retry sends the same batch again
        assert http.post("/runs/log-batch", json=batch).json() == {}
    whole = http.get("/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
    points = whole.json()["metrics"]
    assert [(p["step"], p["value"], p["timestamp"], p["key"]) for p in points] == [
        (i, v, 1_000 + i, "loss") for i, v in enumerate(values)
    ]
    assert "next_page_token" not in whole.json()
    paged, token = [], None
    while True:
        query = {"run_id": run_id, "metric_key": "loss", "max_results": 2}
        page = http.get(
            "/metrics/get-history", params=query | ({"page_token": token} if token else {})
        )
        assert page.status_code == 200, page.text
        paged += [p["step"] for p in page.json()["metrics"]]
        token = page.json().get("next_page_token")
        if not token:
            break
    assert paged == [0, 1, 2, 3, 4]
    run = http.get("/runs/get", params={"run_id": run_id}).json()["run"]
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    latest = run["data"]["metrics"]
    assert [(m["key"], m["value"], m["step"]) for m in latest] == [("loss", 2.5, 4)]


def test_bulk_interval_samples_like_mlflow(http: httpx.Client) -> None:
    eid = _experiment(http)
    runs = [_run(http, eid)["info"]["run_id"] for _ in range(2)]
    for count, run_id in zip((10, 3), runs, strict=True):
        metrics = [
            {"key": "m", "value": float(s), "timestamp": 5_000 + s, "step": s} for s in range(count)
        ]
        assert (
            http.post("/runs/log-batch", json={"run_id": run_id, "metrics": metrics}).json() == {}
        )
    query: dict[str, Any] = {"run_ids": runs, "metric_key": "m", "max_results": 4}
    answer = http.get("/metrics/get-history-bulk-interval", params=query)
    assert answer.status_code == 200, answer.text
    got = [(p["run_id"], p["step"], p["value"]) for p in answer.json()["metrics"]]
    assert got == [(runs[0], s, float(s)) for s in (0, 3, 6, 9)] + [
        (runs[1], s, float(s)) for s in (0, 1, 2)
    ]
    ranged = http.get(
        "/metrics/get-history-bulk-interval",
        params={"run_ids": runs[0], "metric_key": "m", "start_step": 2, "end_step": 5},
    )
    assert [p["step"] for p in ranged.json()["metrics"]] == [2, 3, 4, 5]
    one_side = http.get(
        "/metrics/get-history-bulk-interval",
        params={"run_ids": runs[0], "metric_key": "m", "start_step": 2},
    )
    assert _error(one_side) == (400, "INVALID_PARAMETER_VALUE")
    unknown = http.get(
        "/metrics/get-history-bulk-interval",
        params={"run_ids": [runs[0], uuid.uuid4().hex], "metric_key": "m"},
    )
    # MLflow answers the runs it has; an unknown one adds nothing.
    assert unknown.status_code == 200, unknown.text
    assert [(p["run_id"], p["step"]) for p in unknown.json()["metrics"]] == [
        (runs[0], s) for s in range(10)
    ]


def test_log_model_appends_to_the_history_tag(http: httpx.Client) -> None:
    run_id = _run(http, _experiment(http))["info"]["run_id"]
    for path in ("model", "other"):
        model = {
            "artifact_path": path,
            "run_id": run_id,
            "utc_time_created": "2024-01-01 00:00:00.000000",
            "flavors": {"python_function": {"loader_module": "m", "config": {"x": 1}}},
            "signature": {"inputs": json.dumps([{"type": "double", "name": "x"}])},
        }
        sent = http.post(
            "/runs/log-model", json={"run_id": run_id, "model_json": json.dumps(model)}
        )
        assert sent.json() == {}, sent.text
    tags = http.get("/runs/get", params={"run_id": run_id}).json()["run"]["data"]["tags"]
    history = json.loads(next(t["value"] for t in tags if t["key"] == "mlflow.log-model.history"))
    assert [h["artifact_path"] for h in history] == ["model", "other"]
    assert history[0]["flavors"] == {"python_function": {"loader_module": "m"}}
    assert "signature" not in history[0] and history[0]["run_id"] == run_id
    incomplete = http.post(
        "/runs/log-model", json={"run_id": run_id, "model_json": json.dumps({"run_id": run_id})}
    )
    assert _error(incomplete) == (400, "INVALID_PARAMETER_VALUE")


GOVERNED = (
    PRELUDE
    + """
import pandas as pd
import mlflow.data
mlflow.set_experiment(sys.argv[1])
ds = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), source="file:///d.csv", name="d")
with mlflow.start_run() as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metrics({"up": float("inf"), "down": float("-inf")})
    mlflow.log_input(ds, context="training")
m = c.get_run(run.info.run_id).data.metrics
print(json.dumps({"run_id": run.info.run_id, "digest": ds.digest,
                  "metrics": [num(m["up"]), num(m["down"])]}))
"""
)


def test_search_datasets_summarises_an_experiments_inputs(compat_server: Any) -> None:
    """The UI's ``experiments/search-datasets`` (ajax only): one summary per (experiment,
    dataset name, digest, context) used by the experiments' runs."""
    ajax = compat_server.url + "/ajax-api/2.0/mlflow"
    with httpx.Client(base_url=ajax, timeout=30) as http:
        eid, other = _experiment(http), _experiment(http)

        def log(experiment_id: str, name: str, digest: str, context: str | None) -> None:
            run_id = _run(http, experiment_id)["info"]["run_id"]
            tags = [] if context is None else [{"key": "mlflow.data.context", "value": context}]
            dataset = {"name": name, "digest": digest, "source_type": "local", "source": "{}"}
            body = {"run_id": run_id, "datasets": [{"tags": tags, "dataset": dataset}]}
            assert http.post("/runs/log-inputs", json=body).status_code == 200

        log(eid, "iris", "d1", "training")
        log(eid, "iris", "d1", "training")  # a second run, same summary
        log(eid, "iris", "d1", "eval")
        log(eid, "wine", "d2", None)
        log(other, "digits", "d3", "training")
        got = http.post("/experiments/search-datasets", json={"experiment_ids": [eid]})
        assert got.status_code == 200, got.text
        summaries = got.json()["dataset_summaries"]
        assert sorted(
            (s["experiment_id"], s["name"], s["digest"], s.get("context", "")) for s in summaries
        ) == [(eid, "iris", "d1", "eval"), (eid, "iris", "d1", "training"), (eid, "wine", "d2", "")]
        both = http.post("/experiments/search-datasets", json={"experiment_ids": [eid, other]})
        assert len(both.json()["dataset_summaries"]) == 4
        none = http.post("/experiments/search-datasets", json={"experiment_ids": []})
        assert none.status_code == 400
        assert none.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # Not an RPC of the public API: MLflow serves it to its UI only.
    with httpx.Client(base_url=compat_server.url + RPC, timeout=30) as http:
        public = http.post("/experiments/search-datasets", json={"experiment_ids": [eid]})
        assert public.status_code == 404


def test_clew_governs_mlflow_client_writes(mlflow_client: Any, clew_only: Any) -> None:
    """An MLflow-client write is audited with the run id, its dataset is a run input in Clew's
    own API, and an infinity stays infinite (MLflow's SQL store clamps it)."""
    out = mlflow_client(GOVERNED, unique("governed"))
    run_id = out["run_id"]
    api = clew_only.url + "/api/v1"
    events = httpx.get(f"{api}/audit/events", params={"resource_id": run_id}).json()["events"]
    actions = [e["action"] for e in events]
    assert {"run.create", "run.log", "run.inputs", "run.update"} <= set(actions), actions
    logged = [e for e in events if e["action"] == "run.log" and "params" in str(e)]
    assert logged and "alpha" in json.dumps(logged)
    native = httpx.get(f"{api}/runs/{run_id}").json()
    assert [(i["dataset"]["name"], i["dataset"]["digest"]) for i in native["inputs"]] == [
        ("d", out["digest"])
    ]
    assert native["inputs"][0]["tags"] == {"mlflow.data.context": "training"}
    assert out["metrics"] == ["inf", "-inf"]


def test_metric_for_a_logged_model_reaches_it_in_one_transaction(
    http: httpx.Client, clew_only: Any
) -> None:
    api = clew_only.url + "/api/v1"
    eid = _experiment(http)
    run_id = _run(http, eid)["info"]["run_id"]
    created = httpx.post(
        f"{api}/logged-models", json={"experiment_id": eid, "name": "m", "source_run_id": run_id}
    )
    assert created.status_code == 201, created.text
    model_id = created.json()["model_id"]
    point = {"run_id": run_id, "key": "acc", "value": 0.75, "timestamp": 7, "step": 2}
    sent = http.post(
        "/runs/log-metric",
        json=point | {"model_id": model_id, "dataset_name": "eval", "dataset_digest": "abc"},
    )
    assert sent.json() == {}, sent.text
    model = httpx.get(f"{api}/logged-models/{model_id}").json()
    assert model["metrics"] == [
        {
            "key": "acc",
            "value": 0.75,
            "timestamp": 7,
            "step": 2,
            "run_id": run_id,
            "dataset_name": "eval",
            "dataset_digest": "abc",
        }
    ]
    history = http.get("/metrics/get-history", params={"run_id": run_id, "metric_key": "acc"})
    assert [(p["step"], p["value"]) for p in history.json()["metrics"]] == [(2, 0.75)]
    # A model that is not there fails the call, and the run's point is not written either.
    ghost = "m-" + uuid.uuid4().hex
    refused = http.post(
        "/runs/log-metric", json=point | {"key": "lost", "model_id": ghost, "step": 3}
    )
    assert _error(refused) == (404, "RESOURCE_DOES_NOT_EXIST")
    lost = http.get("/metrics/get-history", params={"run_id": run_id, "metric_key": "lost"})
    assert lost.json() == {}
