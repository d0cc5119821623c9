"""Models end to end with the real client: log, autolog, register, alias, load, serve.

On 3.x ``log_model`` goes through the LoggedModel RPCs and uploads under
``<exp>/models/<model_id>/artifacts``; on 2.x it uploads under the run and registers
``runs:/…``. Either way the model is loaded back by ``models:/name@alias`` and must predict
exactly what the original predicted. ``mlflow models serve`` scores a model it fetched from the
server. What Clew adds (the LoggedModel and its version in Clew's own API, with digests that
match the bytes) is behind ``clew_only``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.server.mlflow_compat.servers import free_port

pytestmark = pytest.mark.server

#: What every script starts with: data, a model and MLflow's name for the model's path.
PRELUDE = """
import hashlib, json, os, sys, tempfile
import numpy as np
import mlflow
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
MAJOR = int(mlflow.__version__.split(".")[0])
WHERE = {"name": "model"} if MAJOR >= 3 else {"artifact_path": "model"}

def digests(local):
    out = {}
    for where, _, names in os.walk(local):
        for n in names:
            with open(os.path.join(where, n), "rb") as f:
                out[os.path.relpath(os.path.join(where, n), local)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out
"""

SKLEARN = (
    PRELUDE
    + """
name = sys.argv[1]
mlflow.set_experiment(name)
model = LogisticRegression(max_iter=500).fit(X, y)
signature = infer_signature(X, model.predict(X))
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(
        model, signature=signature, input_example=X[:3], registered_model_name=name, **WHERE
    )
c = MlflowClient()
outputs = getattr(c.get_run(run.info.run_id), "outputs", None)
c.set_registered_model_alias(name, "champion", "1")
by_alias = c.get_model_version_by_alias(name, "champion")
uri = f"models:/{name}@champion"
loaded = mlflow.pyfunc.load_model(uri)
local = mlflow.artifacts.download_artifacts(uri, dst_path=tempfile.mkdtemp())
with open(os.path.join(local, "input_example.json")) as f:
    example = json.load(f)
print(json.dumps({
    "run_id": run.info.run_id, "model_uri": info.model_uri,
    "model_id": getattr(info, "model_id", None),
    "version": by_alias.version, "aliases": list(by_alias.aliases),
    "source": by_alias.source, "version_run_id": by_alias.run_id,
    "predicted": loaded.predict(X).tolist(), "expected": model.predict(X).tolist(),
    "proba_close": bool(np.allclose(
        loaded.get_raw_model().predict_proba(X), model.predict_proba(X))),
    "signature": loaded.metadata.signature.to_dict(),
    "expected_signature": signature.to_dict(),
    "example": example, "flavors": sorted(loaded.metadata.flavors),
    "files": digests(local),
    "outputs": None if outputs is None else [
        [o.model_id, o.step] for o in outputs.model_outputs],
}))
"""
)


def test_sklearn_log_model_register_alias_and_load(mlflow_client: Any) -> None:
    name = f"sk-{uuid.uuid4().hex[:10]}"
    out = mlflow_client(SKLEARN, name)
    assert out["predicted"] == out["expected"]
    assert out["proba_close"]
    assert (out["version"], out["aliases"]) == ("1", ["champion"])
    assert out["signature"] == out["expected_signature"]
    assert out["flavors"] == ["python_function", "sklearn"]
    # The first three rows of iris, as the client stored them (a bare list of rows).
    assert out["example"] == [[5.1, 3.5, 1.4, 0.2], [4.9, 3.0, 1.4, 0.2], [4.7, 3.2, 1.3, 0.2]]
    assert {"MLmodel", "input_example.json"} <= set(out["files"])
    assert out["version_run_id"] == out["run_id"]
    if mlflow_client.major >= 3:
        assert out["model_uri"] == f"models:/{out['model_id']}"
        assert out["source"] == out["model_uri"]  # the version points at the LoggedModel
        assert out["outputs"] == [[out["model_id"], 0]]  # log_model declares the run's output
    else:
        assert out["model_uri"] == f"runs:/{out['run_id']}/model"


PYFUNC = (
    PRELUDE
    + """
import pandas as pd

class Scaled(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        frame = pd.DataFrame(model_input)
        return (frame["a"] * 2 + frame["b"]).to_numpy()

name = sys.argv[1]
frame = pd.DataFrame({"a": [1.0, 2.0, 3.5], "b": [0.5, -1.0, 4.0]})
expected = Scaled().predict(None, frame)
signature = infer_signature(frame, expected)
with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(
        python_model=Scaled(), signature=signature, input_example=frame.head(2), **WHERE
    )
version = mlflow.register_model(info.model_uri, name)
MlflowClient().set_registered_model_alias(name, "prod", version.version)
loaded = mlflow.pyfunc.load_model(f"models:/{name}@prod")
print(json.dumps({
    "version": version.version,
    "predicted": [float(v) for v in loaded.predict(frame)],
    "expected": [float(v) for v in expected],
    "inputs": [c["name"] for c in json.loads(loaded.metadata.signature.to_dict()["inputs"])],
    "example": loaded.input_example.to_dict("list"),
}))
"""
)


def test_pyfunc_python_model_register_and_load(mlflow_client: Any) -> None:
    out = mlflow_client(PYFUNC, f"pyfunc-{uuid.uuid4().hex[:10]}")
    assert out["version"] == "1"
    assert out["predicted"] == out["expected"] == [2.5, 3.0, 11.0]
    assert out["inputs"] == ["a", "b"]
    assert out["example"] == {"a": [1.0, 2.0], "b": [0.5, -1.0]}


AUTOLOG = (
    PRELUDE
    + """
mlflow.set_experiment(sys.argv[1])
mlflow.sklearn.autolog(log_input_examples=True)
with mlflow.start_run() as run:
    model = LogisticRegression(C=0.5, max_iter=321).fit(X, y)
mlflow.sklearn.autolog(disable=True)
got = MlflowClient().get_run(run.info.run_id)
loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
print(json.dumps({
    "params": got.data.params, "metrics": got.data.metrics, "tags": got.data.tags,
    "predicted": loaded.predict(X).tolist(), "expected": model.predict(X).tolist(),
    "score": float(model.score(X, y)),
}))
"""
)


def test_sklearn_autolog_logs_params_metrics_and_the_model(mlflow_client: Any) -> None:
    out = mlflow_client(AUTOLOG, f"autolog-{uuid.uuid4().hex[:10]}")
    assert out["params"]["C"] == "0.5"
    assert out["params"]["max_iter"] == "321"
    assert out["metrics"]["training_accuracy_score"] == pytest.approx(out["score"])
    assert out["tags"]["estimator_name"] == "LogisticRegression"
    assert out["predicted"] == out["expected"]


SERVE_SETUP = (
    PRELUDE
    + """
name = sys.argv[1]
model = LogisticRegression(max_iter=500).fit(X, y)
rows = X[::15]
with mlflow.start_run():
    mlflow.sklearn.log_model(
        model, signature=infer_signature(X, model.predict(X)), registered_model_name=name,
        **WHERE,
    )
MlflowClient().set_registered_model_alias(name, "live", "1")
print(json.dumps({"rows": rows.tolist(), "expected": model.predict(rows).tolist()}))
"""
)


def test_mlflow_models_serve_scores_a_model_from_the_server(
    mlflow_client: Any, compat_server: Any, tmp_path: Any
) -> None:
    """``mlflow models serve -m models:/name@alias`` fetches the model from the server and
    answers ``/invocations`` with the original model's predictions."""
    name = f"served-{uuid.uuid4().hex[:10]}"
    setup = mlflow_client(SERVE_SETUP, name)
    venv, port = mlflow_client.venv, free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        MLFLOW_TRACKING_URI=compat_server.url,
        PATH=f"{venv.bin}{os.pathsep}{env.get('PATH', '')}",  # it execs ``uvicorn`` by name
        PYTHONWARNINGS="ignore",
    )
    log = (tmp_path / "serve.log").open("wb")
    command = [str(venv.bin / "mlflow"), "models", "serve", "-m", f"models:/{name}@live"]
    proc = subprocess.Popen(
        [*command, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "serve.log").read_text()[-4000:])
            time.sleep(0.25)
        body = {"dataframe_split": {"columns": [0, 1, 2, 3], "data": setup["rows"]}}
        scored = httpx.post(url + "/invocations", json=body, timeout=60)
        assert scored.status_code == 200, scored.text
        assert scored.json() == {"predictions": setup["expected"]}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def test_a_logged_model_and_its_version_in_clews_api(clew_only: Any, mlflow3_client: Any) -> None:
    """The model the 3.x client logged is a READY LoggedModel in Clew's native API, its files'
    digests are the sha256 of the bytes the client downloads, and the version registered from
    it points at it and carries the same files."""
    name = f"native-{uuid.uuid4().hex[:10]}"
    out = mlflow3_client(SKLEARN, name)
    base, model_id = clew_only.url + "/api/v1", out["model_id"]
    model = httpx.get(f"{base}/logged-models/{model_id}").json()
    assert (model["status"], model["source_run_id"]) == ("READY", out["run_id"])
    listed = httpx.get(f"{base}/logged-models/{model_id}/artifacts").json()["files"]
    stored = {f["path"]: f["digest"] for f in listed if not f["is_dir"]}
    downloaded = {p: d for p, d in out["files"].items() if p != "registered_model_meta"}
    assert stored == downloaded
    version = httpx.get(f"{base}/registered-models/{name}/versions/1").json()
    assert version["logged_model_id"] == model_id
    files = httpx.get(f"{base}/registered-models/{name}/versions/1/files").json()["files"]
    assert {f["path"]: f["digest"] for f in files} == stored
    mlmodel = httpx.get(f"{base}/logged-models/{model_id}/artifacts/MLmodel").content
    assert hashlib.sha256(mlmodel).hexdigest() == stored["MLmodel"]
