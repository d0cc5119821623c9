"""The servers the compatibility suite drives: a real ``clew server``, or a real MLflow server
started from the 3.x compat venv (``--against-mlflow``, and the importer's source)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.models.mlflow_env import MlflowVenv
from tests.server.test_real_server import free_port, wait_healthy


class MlflowServer:
    """``mlflow server`` on SQLite with proxied artifacts, one worker (MLflow at its best)."""

    kind = "mlflow"

    def __init__(self, venv: MlflowVenv, home: Path, backend_uri: str = "") -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend_uri = backend_uri or f"sqlite:///{home / 'mlflow.db'}"
        self.artifact_root = home / "artifacts"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
            MLFLOW_SERVER_ALLOWED_HOSTS="*",
            PYTHONWARNINGS="ignore",
        )
        self.log_path = home / f"mlflow-server-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                str(venv.bin / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                self.backend_uri,
                "--artifacts-destination",
                str(self.artifact_root),
                "--serve-artifacts",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_healthy(self.url, self.proc, 120):
            self.stop()
            raise RuntimeError(self.log_path.read_text()[-4000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()
