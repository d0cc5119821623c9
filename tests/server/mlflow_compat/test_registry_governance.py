"""What Clew adds to registry writes made by the MLflow client: the same audit events, file
digests and lineage as a native registration, read back through Clew's native REST API."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest

from clew.registry.model import VersionFile, tree_digest
from tests.server.mlflow_compat.registry_setup import MODEL_FILES, make_logged_model, make_run

pytestmark = pytest.mark.server

REGISTER = """
import json, sys
from mlflow import MlflowClient
c = MlflowClient()
name, source, run_id, model_id = sys.argv[1:5]
c.create_registered_model(name)
kwargs = {"model_id": model_id} if model_id else {"run_id": run_id}
mv = c.create_model_version(name, source, **kwargs)
c.set_registered_model_alias(name, "champion", mv.version)
c.transition_model_version_stage(name, mv.version, "Staging")
print(json.dumps({"version": mv.version}))
"""


def _events(url: str, action: str, name: str) -> list[dict[str, Any]]:
    page = httpx.get(url + "/api/v1/audit/events", params={"action": action, "limit": 500})
    events: list[dict[str, Any]] = page.raise_for_status().json()["events"]
    return [e for e in events if e["summary"].get("name") == name]


def _expected_files(prefix: str = "") -> list[tuple[str, str, int]]:
    return sorted(
        (prefix + path, hashlib.sha256(data).hexdigest(), len(data))
        for path, data in MODEL_FILES.items()
    )


def _native_version(url: str, name: str, version: str) -> tuple[dict[str, Any], list[Any]]:
    base = f"{url}/api/v1/registered-models/{name}/versions/{version}"
    mv = httpx.get(base).raise_for_status().json()
    files = httpx.get(base + "/files").raise_for_status().json()["files"]
    return mv, sorted((f["path"], f["digest"], f["size"]) for f in files)


def test_mlflow_client_writes_are_audited_with_digests(mlflow_client: Any, clew_only: Any) -> None:
    run = make_run(clew_only, mlflow_client)
    name = f"gov-{uuid.uuid4().hex[:10]}"
    out = mlflow_client(REGISTER, name, run.model_source, run.run_id, "")
    mv, files = _native_version(clew_only.url, name, out["version"])
    assert files == _expected_files()
    assert mv["digest"] == tree_digest([VersionFile(*f) for f in files])
    assert (mv["run_id"], mv["source"]) == (run.run_id, run.model_source)
    (created,) = _events(clew_only.url, "model_version.create", name)
    assert created["actor"] == "anonymous"
    assert (created["summary"]["digest"], created["summary"]["file_count"]) == (mv["digest"], 2)
    (alias,) = _events(clew_only.url, "registered_model.alias.set", name)
    assert (alias["summary"]["alias"], alias["summary"]["version"]) == ("champion", 1)
    (stage,) = _events(clew_only.url, "model_version.stage", name)
    assert stage["summary"]["stage"] == "Staging"
    assert len(_events(clew_only.url, "registered_model.create", name)) == 1


def test_a_logged_model_version_records_its_model_and_run(
    mlflow3_client: Any, clew_only: Any
) -> None:
    model = make_logged_model(clew_only, mlflow3_client)
    name = f"gov-lm-{uuid.uuid4().hex[:10]}"
    source = f"models:/{model.model_id}"
    out = mlflow3_client(REGISTER, name, source, "", model.model_id)
    mv, files = _native_version(clew_only.url, name, out["version"])
    assert (mv["logged_model_id"], mv["run_id"]) == (model.model_id, model.run_id)
    assert files == _expected_files()
    answered = httpx.get(
        clew_only.url + "/api/2.0/mlflow/model-versions/get",
        params={"name": name, "version": out["version"]},
    ).json()["model_version"]
    assert (answered["model_id"], answered["source"]) == (model.model_id, source)
