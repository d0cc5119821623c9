"""Identifier shapes (MLflow's, so the compatibility adapter stays thin) and the clock."""

from __future__ import annotations

import re
import time
import uuid

from clew.core.errors import InvalidInput

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_EXPERIMENT_ID = re.compile(r"^[0-9]{1,18}$")
_LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


def new_run_id() -> str:
    return uuid.uuid4().hex


def new_logged_model_id() -> str:
    """``m-<32 hex>``: MLflow 3's LoggedModel id, never the shape of a run id."""
    return "m-" + uuid.uuid4().hex


def now_ms() -> int:
    """Time in UTC milliseconds since the epoch (MLflow's convention)."""
    return time.time_ns() // 1_000_000


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidInput(f"Invalid run id {run_id!r}: expected 32 lowercase hex characters")
    return run_id


def check_experiment_id(experiment_id: str | int) -> int:
    text = str(experiment_id)
    if not _EXPERIMENT_ID.fullmatch(text):
        raise InvalidInput(f"Invalid experiment id {text!r}: expected a non-negative integer")
    return int(text)


def check_logged_model_id(model_id: str) -> str:
    if not is_logged_model_id(model_id):
        raise InvalidInput("Invalid logged model id: expected 'm-' and 32 lowercase hex characters")
    return model_id


def is_logged_model_id(value: object) -> bool:
    """Whether ``value`` has a logged model's shape (artifact owners are runs or logged models)."""
    return isinstance(value, str) and _LOGGED_MODEL_ID.fullmatch(value) is not None
