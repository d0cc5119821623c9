"""What every client script of the suite starts with: a client, and ``code(call, …)``, the
MLflow error code of a call expected to fail (``None`` if it succeeded)."""

from __future__ import annotations

import uuid

PRELUDE = """
import json, math, sys
import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
c = MlflowClient()
def code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except MlflowException as e:
        return e.error_code
    return None
def num(v):
    return repr(v) if isinstance(v, float) and not math.isfinite(v) else v
"""


def unique(prefix: str) -> str:
    """A name no other test (or client line) on the shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
