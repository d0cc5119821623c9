"""Clew's per-step pipeline overhead: trivial steps, so what is measured is the engine and the
tracking around each step, not the work. Issue 5's figures: ≤ 5 ms a step for a 200-step
pipeline on the in-thread executor, a cache hit ≤ 2 ms a step, a 1,000-step fan-out in bounded
memory.

Each pipeline runs in a fresh local store (SQLite, ``CLEW_HOME`` in a temp dir) in its own
process, ``--repeat`` times; the first run executes every step, the second finds every step in
the cache. Medians only; the machine is shared. Clew only for now: the kfp side (its local
``SubprocessRunner`` on the same 20-step pipeline) is still to be added.

    .venv/bin/python bench/pipeline_overhead.py [--repeat 3] [--executor ray]

``--executor ray`` measures the chains on a local Ray instance instead, started before the
clock starts: the first run's figure includes each Ray worker's first step (importing Clew,
opening the store), "warm" is a third run, uncached, on the same workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

CASES = [
    ("chain", 20, True),
    ("chain", 200, True),
    ("fan", 200, True),
    ("fan", 1000, True),
    ("chain", 200, False),
    ("fan", 1000, False),
]
RAY_CASES = [("chain", 20, True), ("chain", 200, True), ("chain", 200, False)]

CHILD = r"""
import json, os, resource, sys, time
from clew.client.client import Client
from clew.pipelines import ParallelFor, collect, pipeline, run, step

kind, n, track, executor = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
if executor != "threads":
    from clew.pipelines.executors import executor as make_executor
    executor = make_executor(executor)
else:
    executor = None

@step
def inc(x: int) -> int:
    return x + 1

@step
def total(xs: list[int]) -> int:
    return sum(xs)

if kind == "chain":
    @pipeline(name=f"chain{n}")
    def flow(start: int = 0) -> int:
        value = inc(start)
        for _ in range(n - 1):
            value = inc(value)
        return value
else:
    @pipeline(name=f"fan{n}")
    def flow() -> int:
        with ParallelFor(list(range(n))) as x:
            y = inc(x)
        return total(collect(y))

client = Client() if track else None
t0 = time.perf_counter()
first = run(flow, client=client, track=track, executor=executor)
first_s = time.perf_counter() - t0
assert first.state.value == "SUCCEEDED", first.reason
out = {"run_ms_per_step": 1000 * first_s / len(first.steps)}
if track:
    t0 = time.perf_counter()
    second = run(flow, client=client, executor=executor)
    out["cached_ms_per_step"] = 1000 * (time.perf_counter() - t0) / len(second.steps)
    out["all_cached"] = all(s.state.value == "CACHED" for s in second.steps.values())
    if executor is not None:
        t0 = time.perf_counter()
        third = run(flow, client=client, executor=executor, cache=False)
        out["warm_ms_per_step"] = 1000 * (time.perf_counter() - t0) / len(third.steps)
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if executor is not None:
    executor.shutdown()
print(json.dumps(out))
"""


def measure(kind: str, n: int, track: bool, executor: str = "threads") -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="clew-bench-pipes-") as home:
        env = {**os.environ, "CLEW_HOME": home}
        env.pop("CLEW_TRACKING_URI", None)
        env.pop("CLEW_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, kind, str(n), "1" if track else "0", executor],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(home),
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executor", choices=["threads", "ray"], default="threads")
    args = parser.parse_args()
    console = Console()
    where = f"{args.executor}, local SQLite"
    table = Table(title=f"Clew pipeline overhead, median of {args.repeat} ({where})")
    columns = ["pipeline", "tracked", "ms / step", "cache hit ms / step", "max RSS MB"]
    if args.executor == "ray":
        columns.append("warm ms / step")
    for column in columns:
        table.add_column(column, justify="right")
    for kind, n, track in RAY_CASES if args.executor == "ray" else CASES:
        samples = [measure(kind, n, track, args.executor) for _ in range(args.repeat)]

        def median(key: str, samples: list[dict[str, float]] = samples) -> str:
            values = [s[key] for s in samples if key in s]
            return f"{statistics.median(values):.2f}" if values else "—"

        row = [f"{kind} of {n}", "yes" if track else "no", median("run_ms_per_step"),
               median("cached_ms_per_step"), median("max_rss_mb")]  # fmt: skip
        if args.executor == "ray":
            row.append(median("warm_ms_per_step"))
        table.add_row(*row)
    console.print(table)
    console.print("targets: ≤ 5 ms a step (200 steps, threads), cache hit ≤ 2 ms a step")


if __name__ == "__main__":
    main()
