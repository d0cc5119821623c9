"""What the registry tests need before they can register anything: a run (or a LoggedModel)
with files, made on whichever server the suite targets.

On a real MLflow server the ``mlflow`` client itself logs them. On Clew they are made through
Clew's native REST API, because the registry tests should not depend on the tracking and
artifact adapters (written alongside); ``test_registry_fluent`` covers the all-MLflow-client
path (``register_model("runs:/…")``) once those exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

#: What a model directory holds in these tests; the bytes the version's digests must cover.
MODEL_FILES = {"MLmodel": b"flavors: {}\n", "weights.txt": b"0.5 0.25\n"}

_MLFLOW_RUN = """
import json, os, sys, tempfile
import mlflow
with mlflow.start_run() as run:
    for name, text in json.loads(sys.argv[1]).items():
        mlflow.log_text(text, "model/" + name)
print(json.dumps({"run_id": run.info.run_id, "artifact_uri": run.info.artifact_uri,
                  "experiment_id": run.info.experiment_id}))
"""

_MLFLOW_LOGGED_MODEL = """
import json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
c = MlflowClient()
with mlflow.start_run() as run:
    pass
model = c.create_logged_model("0", name="clf", source_run_id=run.info.run_id)
with tempfile.TemporaryDirectory() as tmp:
    for name, text in json.loads(sys.argv[1]).items():
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    c.log_model_artifacts(model.model_id, tmp)
c.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
print(json.dumps({"run_id": run.info.run_id, "model_id": model.model_id,
                  "artifact_uri": model.artifact_location, "experiment_id": "0"}))
"""


@dataclass(frozen=True)
class Owner:
    """A run or a LoggedModel holding ``MODEL_FILES`` (a run: under ``model/``)."""

    run_id: str
    artifact_uri: str  # the run's or the model's mlflow-artifacts: root
    experiment_id: str
    model_id: str = ""

    @property
    def model_source(self) -> str:
        """What an MLflow 2.x client registers: the run's artifact URI plus the path."""
        return self.artifact_uri + "/model"


def _texts() -> str:
    import json

    return json.dumps({name: data.decode() for name, data in MODEL_FILES.items()})


def _native_run(url: str) -> str:
    run = httpx.post(url + "/api/v1/runs", json={"experiment_id": "0"}).raise_for_status().json()
    run_id: str = run["info"]["run_id"]
    return run_id


def _native_upload(url: str, prefix: str) -> None:
    for name, data in MODEL_FILES.items():
        httpx.put(
            f"{url}{prefix}/{name}",
            content=data,
            headers={"content-type": "application/octet-stream"},
        ).raise_for_status()


def make_run(server: Any, client: Any) -> Owner:
    """A finished-or-running run with ``model/MLmodel`` and ``model/weights.txt``."""
    if server.kind == "mlflow":
        return Owner(**client(_MLFLOW_RUN, _texts()))
    run_id = _native_run(server.url)
    _native_upload(server.url, f"/api/v1/runs/{run_id}/artifacts/model")
    return Owner(run_id, f"mlflow-artifacts:/0/{run_id}/artifacts", "0")


def make_logged_model(server: Any, client: Any) -> Owner:
    """A READY LoggedModel of a run, holding ``MODEL_FILES`` at its root (MLflow 3)."""
    if server.kind == "mlflow":
        return Owner(**client(_MLFLOW_LOGGED_MODEL, _texts()))
    run_id = _native_run(server.url)
    body = {"experiment_id": "0", "name": "clf", "source_run_id": run_id}
    model = httpx.post(server.url + "/api/v1/logged-models", json=body).raise_for_status().json()
    model_id = model["model_id"]
    _native_upload(server.url, f"/api/v1/logged-models/{model_id}/artifacts")
    httpx.patch(
        f"{server.url}/api/v1/logged-models/{model_id}", json={"status": "READY"}
    ).raise_for_status()
    return Owner(run_id, f"mlflow-artifacts:/0/models/{model_id}/artifacts", "0", model_id)
