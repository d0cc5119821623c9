"""Shared by both sides' workload scripts. Standard library only: it runs in both virtualenvs.

A side script is called as ``python <side>.py WORKLOAD '<json params>'`` with the tracking URI in
``BENCH_TRACKING_URI``; it prints exactly one JSON object on its last stdout line. Every workload
returns ``{"samples": [...], ...}``: one dict per repetition, whose numbers the orchestrator
reduces to medians.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

Workload = Callable[[str, dict[str, Any]], dict[str, Any]]

#: The same synthetic run on both sides: 10 params (``lr`` among them, for search) and 100
#: metric points (10 keys x 10 steps, ``acc`` among them).
PARAM_KEYS = ["lr", *[f"p{i}" for i in range(1, 10)]]
METRIC_KEYS = ["acc", "loss", *[f"m{i}" for i in range(2, 10)]]
STEPS_PER_KEY = 10
LRS = ["0.01", "0.1", "0.001"]

SEARCH_FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
SEARCH_ORDER = ["metrics.acc DESC"]
SEARCH_MAX_RESULTS = 100


def now() -> float:
    return time.perf_counter()


def cpu() -> float:
    """This process's CPU seconds (user + system). Over a timed span of synchronous calls it is
    the client's own share of the wall time: what the span would take against a server that
    answered instantly, so ``work / cpu`` bounds the rate any server can give this client."""
    return time.process_time()


def now_ms() -> int:
    return int(time.time() * 1000)


def run_params(index: int) -> dict[str, str]:
    params = {k: f"value-{index % 97}-{k}" for k in PARAM_KEYS}
    params["lr"] = LRS[index % len(LRS)]
    return params


def run_metrics(index: int, ts: int) -> list[tuple[str, float, int, int]]:
    """``(key, value, timestamp, step)`` x 100; ``acc`` is uniform in [0, 1) per run."""
    rnd = random.Random(index)
    out = []
    for key in METRIC_KEYS:
        for step in range(STEPS_PER_KEY):
            out.append((key, rnd.random(), ts, step))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[pos]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mib() -> float:
    """This process's high-water resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_file(path: str, size: int, chunk: int = 4 * 1024 * 1024) -> None:
    """Incompressible content, written in chunks so this process stays small."""
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            n = min(chunk, left)
            fh.write(os.urandom(n))
            left -= n


def main(workloads: dict[str, Workload]) -> None:
    name = sys.argv[1]
    params = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    uri = os.environ["BENCH_TRACKING_URI"]
    result = workloads[name](uri, params)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
