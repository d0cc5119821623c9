"""MLflow 3's LoggedModel RPCs and ``runs/outputs``: through the 3.x client, and on the wire.

The client test walks a model's whole life with ``MlflowClient`` (create, params, tags,
files, finalize, metrics, search, delete) and reads every value back. The wire tests pin the
JSON shapes (reference/mlflow.md §1.4 "LoggedModel create/finalize") and MLflow's errors, on
whichever server the suite targets; what Clew adds (lineage edges and audit events for
``runs/outputs``, finalize happening once) is behind ``clew_only``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

RPC = "/api/2.0/mlflow"
MODELS = RPC + "/logged-models"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"

LIFECYCLE = """
import json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus
c = MlflowClient()
experiment_id = mlflow.set_experiment(sys.argv[1]).experiment_id
with mlflow.start_run() as run:
    model = c.create_logged_model(
        experiment_id, name="clf", source_run_id=run.info.run_id, model_type="classifier",
        params={"lr": "0.01"}, tags={"k": "v"},
    )
    other = c.create_logged_model(experiment_id, name="other", params={"lr": "0.1"})
    mid = model.model_id
    created = c.get_logged_model(mid)
    c.log_model_params(mid, {"depth": "3"})
    c.set_logged_model_tags(mid, {"stage": "dev", "k": "v2"})
    c.delete_logged_model_tag(mid, "stage")
    work = tempfile.mkdtemp()
    os.makedirs(os.path.join(work, "sub"))
    for rel, text in (("MLmodel", "flavors: {}\\n"), ("sub/w.txt", "0.5\\n")):
        with open(os.path.join(work, rel), "w") as f:
            f.write(text)
    c.log_model_artifacts(mid, work)
    c.log_outputs(run.info.run_id, [LoggedModelOutput(other.model_id, step=3)])
    ready = c.finalize_logged_model(mid, LoggedModelStatus.READY)
    mlflow.log_metric("acc", 0.75, step=2, model_id=mid)
got = c.get_logged_model(mid)
found = c.search_logged_models(
    [experiment_id], filter_string="name = 'clf' AND params.lr = '0.01'",
)
ordered = c.search_logged_models(
    [experiment_id], order_by=[{"field_name": "creation_timestamp", "ascending": False}],
)
by_metric = c.search_logged_models([experiment_id], filter_string="metrics.acc > 0.5")
listed = lambda path=None: sorted(
    [f.path, f.is_dir, f.file_size] for f in c.list_logged_model_artifacts(mid, path))
c.delete_logged_model(other.model_id)
try:
    c.get_logged_model(other.model_id)
    deleted = "still there"
except mlflow.exceptions.MlflowException as e:
    deleted = e.error_code
print(json.dumps({
    "run_id": run.info.run_id, "experiment_id": experiment_id, "model_id": mid,
    "other_id": other.model_id,
    "created": [str(created.status), created.name, created.model_type, created.source_run_id,
                created.artifact_location, created.params, created.tags],
    "ready": str(ready.status),
    "got": [str(got.status), got.params, got.tags,
            [[m.key, m.value, m.step, m.run_id, m.model_id] for m in got.metrics or []]],
    "found": [m.model_id for m in found], "ordered": [m.model_id for m in ordered],
    "by_metric": [m.model_id for m in by_metric],
    "root": listed(), "sub": listed("sub"), "deleted": deleted,
    "left": [m.model_id for m in c.search_logged_models([experiment_id])],
}))
"""


def test_a_logged_model_life_through_the_client(mlflow3_client: Any) -> None:
    out = mlflow3_client(LIFECYCLE, f"logged-{uuid.uuid4().hex[:10]}")
    mid, other, eid, run_id = out["model_id"], out["other_id"], out["experiment_id"], out["run_id"]
    assert mid.startswith("m-")
    assert out["created"] == [
        "PENDING",
        "clf",
        "classifier",
        run_id,
        f"mlflow-artifacts:/{eid}/models/{mid}/artifacts",
        {"lr": "0.01"},
        {"k": "v"},
    ]
    assert out["ready"] == "READY"
    status, params, tags, metrics = out["got"]
    assert (status, params, tags) == ("READY", {"lr": "0.01", "depth": "3"}, {"k": "v2"})
    assert metrics == [["acc", 0.75, 2, run_id, mid]]
    assert out["found"] == [mid] == out["by_metric"]
    assert out["ordered"] == [other, mid]  # newest first
    assert out["root"] == [["MLmodel", False, 12], ["sub", True, None]]
    assert out["sub"] == [["sub/w.txt", False, 4]]
    assert out["deleted"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["left"] == [mid]


# ---- the wire ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    experiment_id: str
    run_id: str


@pytest.fixture
def http(compat_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=compat_server.url, timeout=60) as client:
        yield client


@pytest.fixture
def seed(http: httpx.Client) -> Seed:
    created = http.post(RPC + "/experiments/create", json={"name": f"lm-{uuid.uuid4().hex}"})
    experiment_id = created.json()["experiment_id"]
    run = http.post(RPC + "/runs/create", json={"experiment_id": experiment_id}).json()
    return Seed(experiment_id, run["run"]["info"]["run_id"])


def create(http: httpx.Client, seed: Seed, **extra: Any) -> dict[str, Any]:
    body = {"experiment_id": seed.experiment_id, "source_run_id": seed.run_id, **extra}
    answer = http.post(MODELS, json=body)
    assert answer.status_code == 200, answer.text
    model: dict[str, Any] = answer.json()["model"]
    return model


def test_create_and_finalize_answer_mlflows_shape(http: httpx.Client, seed: Seed) -> None:
    model = create(
        http,
        seed,
        name="my-model",
        model_type="classifier",
        params=[{"key": "lr", "value": "0.01"}],
        tags=[{"key": "k", "value": "v"}],
    )
    info, mid = model["info"], model["info"]["model_id"]
    created, updated = info.pop("creation_timestamp_ms"), info.pop("last_updated_timestamp_ms")
    assert isinstance(created, int) and updated >= created
    assert model == {
        "info": {
            "model_id": mid,
            "experiment_id": seed.experiment_id,
            "name": "my-model",
            "artifact_uri": f"mlflow-artifacts:/{seed.experiment_id}/models/{mid}/artifacts",
            "status": "LOGGED_MODEL_PENDING",
            "model_type": "classifier",
            "source_run_id": seed.run_id,
            "tags": [{"key": "k", "value": "v"}],
        },
        "data": {"params": [{"key": "lr", "value": "0.01"}]},
    }
    done = http.patch(f"{MODELS}/{mid}", json={"model_id": mid, "status": "LOGGED_MODEL_READY"})
    assert done.status_code == 200, done.text
    assert done.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    got = http.get(f"{MODELS}/{mid}").json()["model"]
    assert got["info"]["status"] == "LOGGED_MODEL_READY"
    assert got["data"] == {"params": [{"key": "lr", "value": "0.01"}]}


def test_tags_params_and_delete(http: httpx.Client, seed: Seed) -> None:
    mid = create(http, seed, name="t")["info"]["model_id"]
    tagged = http.patch(
        f"{MODELS}/{mid}/tags",
        json={"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]},
    )
    assert (tagged.status_code, tagged.json()) == (200, {})
    assert http.delete(f"{MODELS}/{mid}/tags/a").json() == {}
    params = {"model_id": mid, "params": [{"key": "depth", "value": "3"}]}
    assert http.post(f"{MODELS}/{mid}/params", json=params).json() == {}
    model = http.get(f"{MODELS}/{mid}").json()["model"]
    assert model["info"]["tags"] == [{"key": "b", "value": "2"}]
    assert model["data"]["params"] == [{"key": "depth", "value": "3"}]

    missing_tag = http.delete(f"{MODELS}/{mid}/tags/nope")
    assert missing_tag.status_code == 404
    assert missing_tag.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    assert http.request("DELETE", f"{MODELS}/{mid}", json={"model_id": mid}).json() == {}
    gone = http.get(f"{MODELS}/{mid}")
    assert gone.status_code == 404
    assert gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_orders_and_pages(http: httpx.Client, seed: Seed) -> None:
    ids = [
        create(http, seed, name=f"s{i}", params=[{"key": "lr", "value": str(i)}])["info"][
            "model_id"
        ]
        for i in range(3)
    ]

    def search(**body: Any) -> dict[str, Any]:
        answer = http.post(
            MODELS + "/search", json={"experiment_ids": [seed.experiment_id], **body}
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    newest_first = [{"field_name": "creation_timestamp", "ascending": False}]
    assert [m["info"]["model_id"] for m in search(order_by=newest_first)["models"]] == ids[::-1]
    assert [m["info"]["model_id"] for m in search(filter="params.lr = '1'")["models"]] == [ids[1]]
    first = search(max_results=2, order_by=[{"field_name": "name", "ascending": True}])
    assert [m["info"]["name"] for m in first["models"]] == ["s0", "s1"]
    rest = search(
        max_results=2,
        order_by=[{"field_name": "name", "ascending": True}],
        page_token=first["next_page_token"],
    )
    assert [m["info"]["name"] for m in rest["models"]] == ["s2"]
    assert "next_page_token" not in rest

    no_scope = http.post(MODELS + "/search", json={})
    assert no_scope.status_code == 400
    assert no_scope.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_model_files_through_the_proxy_and_directories(http: httpx.Client, seed: Seed) -> None:
    info = create(http, seed, name="files")["info"]
    mid, root = info["model_id"], info["artifact_uri"].split(":", 1)[1].strip("/")
    for path, data in (("MLmodel", b"flavors: {}\n"), ("data/w.bin", b"\x00\x01\x02")):
        sent = http.put(f"{PROXY}/{root}/{path}", content=data, headers={"content-type": "x/y"})
        assert sent.status_code == 200, sent.text
    assert http.get(f"{PROXY}/{root}/data/w.bin").content == b"\x00\x01\x02"

    def directory(**query: str) -> dict[str, Any]:
        listed = http.get(f"{MODELS}/{mid}/artifacts/directories", params=query)
        assert listed.status_code == 200, listed.text
        body: dict[str, Any] = listed.json()
        body["files"] = sorted(body.get("files", []), key=lambda f: f["path"])
        return body

    assert directory() == {
        "root_uri": info["artifact_uri"],
        "files": [
            {"path": "MLmodel", "is_dir": False, "file_size": 12},
            {"path": "data", "is_dir": True},
        ],
    }
    assert directory(artifact_directory_path="data")["files"] == [
        {"path": "data/w.bin", "is_dir": False, "file_size": 3}
    ]


def test_runs_outputs_links_a_model(http: httpx.Client, seed: Seed) -> None:
    """Linked models are the run's outputs in ``runs/get``; a model whose source is the run
    is not one until it is linked (checked against MLflow 3.17)."""
    mid = create(http, seed, name="out")["info"]["model_id"]
    body = {"run_id": seed.run_id, "models": [{"model_id": mid, "step": 7}]}
    linked = http.post(RPC + "/runs/outputs", json=body)
    assert (linked.status_code, linked.json()) == (200, {})
    unlinked = create(http, seed, name="source-only")["info"]["model_id"]
    run = http.get(RPC + "/runs/get", params={"run_id": seed.run_id}).json()["run"]
    assert unlinked != mid  # a model whose source is the run is not an output until linked
    assert run["outputs"] == {"model_outputs": [{"model_id": mid, "step": 7}]}
    unknown = http.post(RPC + "/runs/outputs", json={**body, "run_id": uuid.uuid4().hex})
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_run = http.post(RPC + "/runs/outputs", json={"models": body["models"]})
    assert no_run.status_code == 400
    assert no_run.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_runs_log_inputs_models_are_the_runs_model_inputs(
    http: httpx.Client, seed: Seed, compat_server: Any
) -> None:
    """A run that read a LoggedModel (``log-inputs`` ``models``) lists it under
    ``inputs.model_inputs``, once, beside its datasets. An unknown model: MLflow records the
    id as given; Clew refuses the call (404) and writes nothing of it."""
    mid = create(http, seed, name="read")["info"]["model_id"]
    dataset = {"name": "iris", "digest": "d1", "source_type": "local", "source": "{}"}
    body = {
        "run_id": seed.run_id,
        "datasets": [{"dataset": dataset}],
        "models": [{"model_id": mid}],
    }
    logged = http.post(RPC + "/runs/log-inputs", json=body)
    assert (logged.status_code, logged.json()) == (200, {})
    again = http.post(
        RPC + "/runs/log-inputs", json={"run_id": seed.run_id, "models": [{"model_id": mid}]}
    )
    assert again.status_code == 200
    run = http.get(RPC + "/runs/get", params={"run_id": seed.run_id}).json()["run"]
    assert run["inputs"]["model_inputs"] == [{"model_id": mid}]
    assert [d["dataset"]["name"] for d in run["inputs"]["dataset_inputs"]] == ["iris"]
    ghost = {"model_id": "m-" + "0" * 32}
    other = {**dataset, "name": "wine"}
    unknown = http.post(
        RPC + "/runs/log-inputs",
        json={"run_id": seed.run_id, "datasets": [{"dataset": other}], "models": [ghost]},
    )
    after = http.get(RPC + "/runs/get", params={"run_id": seed.run_id}).json()["run"]["inputs"]
    if compat_server.kind == "clew":
        assert unknown.status_code == 404
        assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert after == run["inputs"]  # not the wine dataset either: one transaction
    else:
        assert unknown.status_code == 200


# ---- what Clew adds --------------------------------------------------------------------------


def test_runs_outputs_is_a_lineage_edge_once(
    clew_only: Any, http: httpx.Client, seed: Seed
) -> None:
    """Linking is audited, linking again is a no-op edge, and an unknown model is refused
    (MLflow's store records any id)."""
    other = http.post(RPC + "/runs/create", json={"experiment_id": seed.experiment_id}).json()
    other_run = other["run"]["info"]["run_id"]
    mid = create(http, seed, name="edge")["info"]["model_id"]
    body = {"run_id": other_run, "models": [{"model_id": mid, "step": 4}]}
    for _ in range(2):
        assert http.post(RPC + "/runs/outputs", json=body).status_code == 200
    events = http.get(
        "/api/v1/audit/events",
        params={"action": "logged_model.output", "resource_id": mid},
    ).json()["events"]
    assert [e["summary"] for e in events] == [{"run_id": other_run, "step": 4}] * 2
    ghost = {"run_id": other_run, "models": [{"model_id": "m-" + uuid.uuid4().hex, "step": 0}]}
    refused = http.post(RPC + "/runs/outputs", json=ghost)
    assert refused.status_code == 404
    assert refused.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_finalize_happens_once(clew_only: Any, http: httpx.Client, seed: Seed) -> None:
    """READY freezes the files a registered version will point at: repeating READY is a no-op,
    flipping to FAILED is refused, and a READY model takes no more files."""
    info = create(http, seed, name="once")["info"]
    mid, root = info["model_id"], info["artifact_uri"].split(":", 1)[1].strip("/")
    for status in ("LOGGED_MODEL_READY", 2):  # MLflow's name, then the enum's number
        again = http.patch(f"{MODELS}/{mid}", json={"model_id": mid, "status": status})
        assert again.status_code == 200, again.text
    flipped = http.patch(f"{MODELS}/{mid}", json={"status": "LOGGED_MODEL_UPLOAD_FAILED"})
    assert flipped.status_code == 400
    assert flipped.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    late = http.put(f"{PROXY}/{root}/late.txt", content=b"x", headers={"content-type": "x/y"})
    assert late.status_code == 400, late.text
    assert late.json()["error_code"] == "INVALID_STATE"
    native = http.get(f"/api/v1/logged-models/{mid}").json()
    assert native["status"] == "READY"
