"""The importer's source: a real MLflow 3.x server (the compat suite's ``mlflow_server``),
filled once per module by the real ``mlflow`` client, and what that client reads back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.importers.mlflow_scripts import FILL, READBACK
from tests.server.mlflow_compat.conftest import mlflow_server, mlflow_venv
from tests.server.mlflow_compat.servers import MlflowServer

__all__ = ["filled", "mlflow_server", "mlflow_venv"]


@pytest.fixture(scope="module")
def filled(mlflow_server: MlflowServer, mlflow_venv: Any) -> dict[str, Any]:
    """The ids the fill script created, and ``readback``: the MLflow client's view of them."""
    ids = mlflow_venv.run(FILL, f"imp{uuid.uuid4().hex[:6]}", tracking_uri=mlflow_server.url)
    ids["readback"] = mlflow_venv.run(
        READBACK, json.dumps(ids["experiments"]), ids["model"], tracking_uri=mlflow_server.url
    )
    return dict(ids)
