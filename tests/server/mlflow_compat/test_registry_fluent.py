"""``mlflow.register_model`` and downloading a registered version, as MLflow users do it.

These go through more than the registry: ``register_model("runs:/…")`` reads the run
(``runs/get``) and, on 3.x, lists its artifacts through the proxy; a download fetches the files
through the proxy from the URI ``get-download-uri`` answered.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.server.mlflow_compat.registry_setup import MODEL_FILES, make_run

pytestmark = pytest.mark.server

REGISTER_AND_DOWNLOAD = """
import json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
name, run_id = sys.argv[1:3]
mv = mlflow.register_model(f"runs:/{run_id}/model", name, tags={"via": "fluent"})
again = mlflow.register_model(f"runs:/{run_id}/model", name)  # the model exists: a new version
c = MlflowClient()
got = c.get_model_version(name, mv.version)
c.set_registered_model_alias(name, "champion", again.version)
files = {}
with tempfile.TemporaryDirectory() as tmp:
    local = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=tmp)
    for root, _, names in os.walk(local):
        for n in names:
            with open(os.path.join(root, n)) as f:
                files[os.path.relpath(os.path.join(root, n), local)] = f.read()
print(json.dumps({
    "mlflow": mlflow.__version__,
    "versions": [mv.version, again.version], "status": got.status, "source": got.source,
    "run_id": got.run_id, "tags": dict(got.tags), "files": files,
    "download_uri": c.get_model_version_download_uri(name, again.version),
    "artifact_uri": c.get_run(run_id).info.artifact_uri,
}))
"""


def test_register_model_from_a_run_and_download_it(mlflow_client: Any, compat_server: Any) -> None:
    run = make_run(compat_server, mlflow_client)
    name = f"fluent-{uuid.uuid4().hex[:10]}"
    out = mlflow_client(REGISTER_AND_DOWNLOAD, name, run.run_id)
    assert out["versions"] == ["1", "2"]
    assert out["status"] == "READY"  # register_model waits for READY; Clew answers it at once
    assert out["artifact_uri"] == run.artifact_uri
    assert out["source"] == out["download_uri"] == run.artifact_uri + "/model"
    assert (out["run_id"], out["tags"]) == (run.run_id, {"via": "fluent"})
    files = out["files"]
    # Clients up to mlflow 3.17 write this beside a model they download by a models:/ URI;
    # 3.18 stopped (``ModelsArtifactRepository._add_registered_model_meta_file`` is gone).
    meta = files.pop("registered_model_meta", None)
    major_minor = tuple(int(part) for part in out["mlflow"].split(".")[:2])
    if major_minor < (3, 18):
        assert meta == f"model_name: {name}\nmodel_version: '2'\n"
    else:
        assert meta is None
    assert files == {path: data.decode() for path, data in MODEL_FILES.items()}
