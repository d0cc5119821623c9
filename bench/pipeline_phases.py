"""Where a tracked pipeline step's time goes: a timer around each client call the engine makes.

``pipeline_overhead.py`` says how long a step takes; this says which of the tracking calls
around it the time is in. One process, a fresh local store (SQLite, ``CLEW_HOME`` in a temp
dir), a chain of trivial steps run twice: the first run executes every step, the second finds
every step in the cache. Each ``Client`` method the engine calls (and the storing of a step's
outputs, ``pipelines.stored.store_output``) is wrapped in a timer; the table gives each one's
milliseconds per step and its number of calls (``store_output`` includes the upload it
makes, ``log_artifacts``). The steps of a chain run one after the other,
so what is not in a call is the engine, the cache key and the thread hand-offs.

    PYTHONPATH=<tree>/src .venv/bin/python bench/pipeline_phases.py [--steps 200]

Timings on a shared machine move with its load: compare trees with ``pipeline_ab.py``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

#: The client calls a step run makes, on either path of the engine (old or new).
CALLS = [
    "create_run",
    "find_cached_step",
    "log_artifacts",
    "log_params",
    "record_pipeline_step",
    "record_cached_pipeline_step",
    "set_tags",
    "set_terminated",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    os.environ["CLEW_HOME"] = tempfile.mkdtemp(prefix="clew-bench-phases-")
    os.environ.pop("CLEW_TRACKING_URI", None)
    os.environ.pop("CLEW_DATABASE_URL", None)

    from clew.client.client import Client
    from clew.pipelines import pipeline, run, step
    from clew.pipelines import tracking as tracking_hooks

    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                seconds[name] += time.perf_counter() - start
                calls[name] += 1

        return wrapper

    for name in CALLS:
        if hasattr(Client, name):  # an older tree may lack a call
            setattr(Client, name, timed(name, getattr(Client, name)))
    tracking_hooks.store_output = timed("store_output", tracking_hooks.store_output)  # type: ignore[assignment]

    @step
    def inc(x: int) -> int:
        return x + 1

    n = args.steps

    @pipeline(name=f"chain{n}")
    def chain(start: int = 0) -> int:
        value = inc(start)
        for _ in range(n - 1):
            value = inc(value)
        return value

    client = Client()
    for label in ("first run", "cache hit"):
        seconds.clear()
        calls.clear()
        start = time.perf_counter()
        result = run(chain, client=client)
        wall = time.perf_counter() - start
        print(f"{label}: {1000 * wall / n:.2f} ms a step ({result.state.value})")
        for name, spent in seconds.most_common():
            print(f"    {name:28s} {1000 * spent / n:7.3f} ms a step  ({calls[name]} calls)")
        # ``log_artifacts`` is made inside ``store_output``: counted once.
        rest = wall - sum(spent for name, spent in seconds.items() if name != "log_artifacts")
        print(f"    {'(not in a call)':28s} {1000 * rest / n:7.3f} ms a step")


if __name__ == "__main__":
    main()
