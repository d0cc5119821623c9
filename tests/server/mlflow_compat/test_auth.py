"""An unmodified ``mlflow`` client against a Clew server with authentication on: it
authenticates with ``MLFLOW_TRACKING_TOKEN`` or ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``, as
it would against MLflow's basic-auth app, and gets 401 without."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.models.mlflow_env import MLFLOW2, MLFLOW3, MlflowVenv
from tests.server.mlflow_compat.conftest import _ready
from tests.server.test_real_server import Server

pytestmark = pytest.mark.server

ADMIN, PASSWORD = "root", "correct horse battery"

SCRIPT = """
import json, sys
import mlflow
from mlflow import MlflowClient
out = {}
try:
    mlflow.set_experiment("auth-" + sys.argv[1])
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 0.5)
        mlflow.log_param("lr", "0.1")
    got = MlflowClient().get_run(run.info.run_id)
    out = {"loss": got.data.metrics["loss"], "lr": got.data.params["lr"]}
except Exception as exc:
    out = {"error": type(exc).__name__, "message": str(exc)[:300]}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("auth") / "home"
    env = {"CLEW_AUTH": "true", "CLEW_ADMIN_USERNAME": ADMIN, "CLEW_ADMIN_PASSWORD": PASSWORD,
           "CLEW_AUTH_CACHE_S": "0"}  # fmt: skip
    server = Server(home, extra_env=env)
    yield server
    server.stop()


def _token(server: Server, name: str) -> str:
    made = httpx.post(f"{server.url}/api/v1/users/{ADMIN}/tokens", json={"name": name},
                      auth=(ADMIN, PASSWORD), timeout=30)  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


@pytest.mark.parametrize("venv", [MLFLOW3, MLFLOW2], ids=lambda v: v.name)
def test_the_mlflow_client_authenticates_with_a_token_or_a_password(
    auth_server: Server, venv: MlflowVenv, tmp_path: Path
) -> None:
    client = _ready(venv)
    token = _token(auth_server, f"mlflow-{venv.name}")
    by_token = client.run(SCRIPT, f"token-{venv.name}", tracking_uri=auth_server.url,
                          env={"MLFLOW_TRACKING_TOKEN": token})  # fmt: skip
    assert by_token == {"loss": 0.5, "lr": "0.1"}
    by_password = client.run(
        SCRIPT, f"password-{venv.name}", tracking_uri=auth_server.url,
        env={"MLFLOW_TRACKING_USERNAME": ADMIN, "MLFLOW_TRACKING_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert by_password == {"loss": 0.5, "lr": "0.1"}
    anonymous = client.run(SCRIPT, f"none-{venv.name}", tracking_uri=auth_server.url)
    assert anonymous["error"] in ("RestException", "MlflowException"), anonymous
    assert "UNAUTHENTICATED" in anonymous["message"] or "401" in anonymous["message"]
    wrong = client.run(SCRIPT, f"wrong-{venv.name}", tracking_uri=auth_server.url,
                       env={"MLFLOW_TRACKING_TOKEN": token[:-1] + "x"})  # fmt: skip
    assert "error" in wrong


def test_every_surface_refuses_the_anonymous(auth_server: Server) -> None:
    url = auth_server.url
    for method, path in [
        ("GET", "/api/v1/experiments/search"),
        ("POST", "/api/v1/experiments"),
        ("GET", "/api/2.0/mlflow/experiments/search?max_results=1"),
        ("POST", "/api/2.0/mlflow/runs/log-metric"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts"),
        ("GET", "/ajax-api/2.0/mlflow/experiments/search?max_results=1"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/pipeline-jobs"),
    ]:
        response = httpx.request(method, url + path, json={} if method == "POST" else None,
                                 timeout=30)  # fmt: skip
        assert response.status_code == 401, (method, path, response.text)
        assert "Bearer" in response.headers.get("www-authenticate", "")
    assert httpx.get(url + "/health", timeout=30).status_code == 200
