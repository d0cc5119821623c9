"""Input rules for tracking, in one place: names, keys, values and batch sizes.

Limits follow MLflow's where it has them (keys 250, param values 6,000, tag values 8,000), so a
batch MLflow accepts, Clew accepts; they are documented in docs/limits.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from clew.core.errors import InvalidInput, LimitExceeded
from clew.tracking.model import Metric

MAX_NAME = 500
MAX_KEY = 250
MAX_PARAM_VALUE = 6_000
MAX_TAG_VALUE = 8_000
MAX_EXPERIMENT_TAG_VALUE = 20_000
MAX_DATASET_SOURCE = 65_536
MAX_DATASET_SCHEMA = 1_048_576
MAX_DATASET_PROFILE = 16 * 1_048_576
_INT64 = 2**63

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(kind: str, name: object, *, allow_empty: bool = False) -> str:
    if not isinstance(name, str):
        raise InvalidInput(f"{kind} name must be a string")
    if not name.strip() and not allow_empty:
        raise InvalidInput(f"{kind} name must not be empty")
    if len(name) > MAX_NAME:
        raise LimitExceeded(f"{kind} name is longer than {MAX_NAME} characters")
    if _CONTROL.search(name):
        raise InvalidInput(f"{kind} name must not contain control characters")
    return name


def check_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"{kind} key must be a non-empty string")
    if len(key) > MAX_KEY:
        raise LimitExceeded(f"{kind} key {key[:40]!r}… is longer than {MAX_KEY} characters")
    if _CONTROL.search(key):
        raise InvalidInput(f"{kind} key {key!r} must not contain control characters")
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidInput(f"{kind} key {key!r} must not be an absolute or parent path")
    return key


def check_value(kind: str, key: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{kind} {key!r} value must be a string")
    if len(value) > limit:
        raise LimitExceeded(f"{kind} {key!r} value is longer than {limit} characters")
    if "\x00" in value:
        raise InvalidInput(f"{kind} {key!r} value must not contain NUL")
    return value


def check_int64(kind: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{kind} must be an integer")
    if not -_INT64 <= value < _INT64:
        raise InvalidInput(f"{kind} is outside the 64-bit integer range")
    return value


def check_metric(metric: Metric) -> Metric:
    """One point's key, value, timestamp and step. The common case (a valid point) builds no
    message: a 100-point run creation spent a tenth of its time on f-strings it threw away."""
    check_key("Metric", metric.key)
    value, timestamp, step = metric.value, metric.timestamp, metric.step
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidInput(f"Metric {metric.key!r} value must be a number")
    if type(timestamp) is not int or not -_INT64 <= timestamp < _INT64:
        check_int64(f"Metric {metric.key!r} timestamp", timestamp)
    if type(step) is not int or not -_INT64 <= step < _INT64:
        check_int64(f"Metric {metric.key!r} step", step)
    if type(value) is float:
        return metric
    return Metric(metric.key, float(value), timestamp, step)


def check_batch_size(kind: str, items: Sequence[object], limit: int) -> None:
    if len(items) > limit:
        raise LimitExceeded(
            f"A batch may hold at most {limit} {kind}; got {len(items)}", limit=limit
        )


def check_artifact_location(location: str) -> str:
    """An experiment's artifact location is stored, never resolved on the server's disk.

    It still may not smuggle traversal through any URI component (security.md §1b).
    """
    if len(location) > 4096:
        raise LimitExceeded("artifact_location is longer than 4096 characters")
    decoded = location
    for _ in range(10):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    parts = urlsplit(decoded)
    if parts.query or parts.fragment or ";" in parts.path or "#" in decoded or "?" in decoded:
        raise InvalidInput("artifact_location must not contain a query, fragment or params")
    if ".." in decoded.replace("\\", "/").split("/") or "\x00" in decoded:
        raise InvalidInput("artifact_location must not contain '..' segments")
    return location
