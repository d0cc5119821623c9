"""``@step`` keyword options into ``graph.StepOptions``, checked when the step is defined."""

from __future__ import annotations

import math
import re
from typing import Any, Final

from clew.pipelines.graph import Caching, Resources, Retry, StepOptions

_MEMORY = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGTP]i?)?B?", re.IGNORECASE)
_UNITS: Final = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "KI": 2**10,
    "MI": 2**20,
    "GI": 2**30,
    "TI": 2**40,
    "PI": 2**50,
}

#: The keywords ``@step(...)`` and ``Step.options(...)`` take, besides ``name``.
OPTION_NAMES: Final = frozenset(
    {
        "retries",
        "backoff_s",
        "backoff_factor",
        "max_backoff_s",
        "timeout_s",
        "cpu",
        "memory",
        "gpu",
        "cache",
        "cache_expiry_s",
    }
)


def memory_bytes(value: int | str | None) -> int | None:
    """``4Gi`` → 4294967296, ``512M`` → 512000000, ``1024`` → 1024 (Kubernetes' units)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("memory must be a byte count or a size like '4Gi'")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("memory must be positive")
        return value
    match = _MEMORY.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"memory {value!r} is not a size like '4Gi' or '512M'")
    unit = match.group("unit")
    amount = float(match.group("number")) * _UNITS[unit.upper() if unit else None]
    if amount <= 0:
        raise ValueError("memory must be positive")
    return int(amount)


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}")
    return float(value)


def step_options(base: StepOptions, **given: Any) -> StepOptions:
    """``base`` with the given keywords applied (``None`` leaves a setting as it is)."""
    unknown = set(given) - OPTION_NAMES
    if unknown:
        raise ValueError(f"unknown step options {sorted(unknown)}; known: {sorted(OPTION_NAMES)}")
    retry, resources, caching = base.retry, base.resources, base.caching
    if given.get("retries") is not None:
        retries = given["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("retries must be a non-negative integer")
        retry = Retry(retries, retry.backoff_s, retry.backoff_factor, retry.max_backoff_s)
    for key in ("backoff_s", "backoff_factor", "max_backoff_s"):
        if given.get(key) is not None:
            number = _positive(key, given[key], allow_zero=key == "backoff_s")
            retry = Retry(**{**retry.__dict__, key: number})
    if retry.backoff_factor < 1:
        raise ValueError("backoff_factor must be at least 1")
    timeout = base.timeout_s
    if given.get("timeout_s") is not None:
        timeout = _positive("timeout_s", given["timeout_s"])
    cpu = _positive("cpu", given.get("cpu")) if given.get("cpu") is not None else resources.cpu
    memory = memory_bytes(given["memory"]) if given.get("memory") is not None else resources.memory
    gpu = resources.gpu
    if given.get("gpu") is not None:
        if isinstance(given["gpu"], bool) or not isinstance(given["gpu"], int) or given["gpu"] < 0:
            raise ValueError("gpu must be a non-negative integer")
        gpu = given["gpu"]
    if given.get("cache") is not None:
        if not isinstance(given["cache"], bool):
            raise ValueError("cache must be true or false")
        caching = Caching(given["cache"], caching.expiry_s)
    if given.get("cache_expiry_s") is not None:
        caching = Caching(caching.enabled, _positive("cache_expiry_s", given["cache_expiry_s"]))
    return StepOptions(retry, timeout, Resources(cpu, memory, gpu), caching)
