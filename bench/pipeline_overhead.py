"""Clew's per-step pipeline overhead, and kfp's local runner beside it on the same pipeline.

The steps are trivial, so what is measured is the engine and the tracking around each step,
not the work. Issue 5's figures: ≤ 5 ms a step for a 200-step pipeline on the in-thread
executor, a cache hit ≤ 2 ms a step, a 1,000-step fan-out in bounded memory, and Clew against
kfp 2.x's local ``SubprocessRunner`` (``use_venv=False``) on the same 20-step chain.

    .venv/bin/python bench/pipeline_overhead.py [--repeat 3] [--no-kfp] [--kfp-steps 20] [--executor ray]

**Clew.** Each pipeline runs in a fresh local store (SQLite, ``CLEW_HOME`` in a temp dir) in
its own interpreter, ``--repeat`` times; the first run executes every step, the second finds
every step in the cache.

**kfp.** kfp is never installed in Clew's venv (its pins fight Clew's): it lives in
``.venv-compat/kfp``, built once the way the mlflow compat venvs are
(``tests/models/mlflow_env.py``: a stamp file records the requirement). This file is also the
script that runs there (``python pipeline_overhead.py kfp-side N``, importing only kfp and the
stdlib): the same chain of ``N`` steps that add one, in ``kfp.local`` with a fresh pipeline
root, timed from the pipeline call to its return. kfp's local mode has no cache, so it is
compared with Clew's first run.

Medians only, and ratios; the machine is shared, and nothing here asserts a time.

**Ray.** ``--executor ray`` measures Clew's chains on a local Ray instance instead, started
before the clock starts: the first run's figure includes each Ray worker's first step
(importing Clew, opening the store); "warm" is a third run, uncached, on the same workers.
"""

# No ``from __future__ import annotations``: kfp reads its components' annotations as types.
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

#: (shape, steps, tracked) of Clew's cases.
CASES = [
    ("chain", 20, True),
    ("chain", 200, True),
    ("fan", 200, True),
    ("fan", 1000, True),
    ("fan", 3000, True),
    ("chain", 200, False),
    ("fan", 1000, False),
]
RAY_CASES = [("chain", 20, True), ("chain", 200, True), ("fan", 200, True), ("chain", 200, False)]


# ---- kfp side: runs in .venv-compat/kfp, imports only kfp and the stdlib ----------------------


def kfp_side(n: int) -> dict[str, Any]:
    """A chain of ``n`` trivial kfp components in local mode, timed from call to return."""
    import logging

    from kfp import dsl, local

    logging.disable(logging.INFO)  # kfp.local logs every task's inputs and outputs
    with tempfile.TemporaryDirectory(prefix="kfp-bench-") as root:
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)

        @dsl.component
        def inc(x: int) -> int:
            return x + 1

        @dsl.pipeline(name=f"chain{n}")
        def chain(start: int = 0) -> int:
            task = inc(x=start)
            for _ in range(n - 1):
                task = inc(x=task.output)
            return task.output

        t0 = time.perf_counter()
        done = chain()
        seconds = time.perf_counter() - t0
    assert done.output == n, done.output
    return {"run_ms_per_step": 1000 * seconds / n}


# ---- Clew side: a fresh interpreter of Clew's venv per case ------------------------------------

CLEW_CHILD = r"""
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


def measure_clew(kind: str, n: int, track: bool, executor: str = "threads") -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="clew-bench-pipes-") as home:
        env = {**os.environ, "CLEW_HOME": home}
        env.pop("CLEW_TRACKING_URI", None)
        env.pop("CLEW_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-c", CLEW_CHILD, kind, str(n), "1" if track else "0", executor],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(home),
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---- kfp's venv and its runs ------------------------------------------------------------------


def kfp_venv() -> Any:
    """``.venv-compat/kfp`` with kfp 2.x, built on first use by the compat suites' builder."""
    sys.path.insert(0, str(REPO / "tests" / "models"))
    from mlflow_env import MlflowVenv  # a venv per peer package; only its name says mlflow

    return MlflowVenv("kfp", "kfp>=2,<3", ())


def measure_kfp(python: Path, n: int) -> dict[str, float]:
    # Nothing of Clew's environment (PYTHONPATH=src, a venv) reaches kfp's interpreter.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    with tempfile.TemporaryDirectory(prefix="kfp-bench-cwd-") as cwd:
        done = subprocess.run(
            [str(python), str(Path(__file__).resolve()), "kfp-side", str(n)],
            env=env,
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=1800,
        )
    if done.returncode != 0:
        raise RuntimeError(f"kfp side failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---- the report -------------------------------------------------------------------------------


def _median(samples: list[dict[str, float]], key: str) -> float | None:
    values = [s[key] for s in samples if key in s]
    return statistics.median(values) if values else None


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executor", choices=["threads", "ray"], default="threads")
    parser.add_argument("--no-kfp", action="store_true", help="Clew's cases only")
    parser.add_argument("--kfp-steps", type=int, default=20, help="the side-by-side chain")
    args = parser.parse_args()
    console = Console()

    ray = args.executor == "ray"
    where = f"{args.executor}, local SQLite"
    table = Table(title=f"Clew pipeline overhead, median of {args.repeat} ({where})")
    columns = ["pipeline", "tracked", "ms / step", "cache hit ms / step", "max RSS MB"]
    for column in [*columns, *(["warm ms / step"] if ray else [])]:
        table.add_column(column, justify="right")
    clew_chain: list[dict[str, float]] = []
    for kind, n, track in RAY_CASES if ray else CASES:
        samples = [measure_clew(kind, n, track, args.executor) for _ in range(args.repeat)]
        if (kind, n, track) == ("chain", args.kfp_steps, True) and not ray:
            clew_chain = samples
        keys = ["run_ms_per_step", "cached_ms_per_step", "max_rss_mb"]
        keys += ["warm_ms_per_step"] if ray else []
        table.add_row(f"{kind} of {n}", "yes" if track else "no",
                      *(_cell(_median(samples, key)) for key in keys))  # fmt: skip
    console.print(table)
    console.print("targets: ≤ 5 ms a step (200 steps, threads), cache hit ≤ 2 ms a step")
    if args.no_kfp or ray:
        return

    venv = kfp_venv()
    ok, log = venv.build()
    if not ok:
        console.print(f"[red]could not build {venv.path}:[/red]\n{log}")
        sys.exit(1)
    n = args.kfp_steps
    if not clew_chain:
        clew_chain = [measure_clew("chain", n, True) for _ in range(args.repeat)]
    # Interleaved, so a busy minute on the shared machine falls on both sides alike.
    kfp: list[dict[str, float]] = []
    for _ in range(args.repeat):
        kfp.append(measure_kfp(venv.python, n))
        clew_chain.append(measure_clew("chain", n, True))
    clew_ms = _median(clew_chain, "run_ms_per_step")
    kfp_ms = _median(kfp, "run_ms_per_step")
    assert clew_ms is not None and kfp_ms is not None
    side = Table(title=f"Chain of {n} trivial steps, first run, median of {len(kfp)} (kfp) "
                       f"and {len(clew_chain)} (Clew)")  # fmt: skip
    for column in ("system", "ms / step", "Clew / kfp"):
        side.add_column(column, justify="right")
    side.add_row("Clew, threads, tracked (local SQLite)", _cell(clew_ms), f"{clew_ms / kfp_ms:.3f}")
    side.add_row("kfp local, SubprocessRunner(use_venv=False)", _cell(kfp_ms), "1")
    console.print(side)
    console.print(f"kfp local takes {kfp_ms / clew_ms:.0f} times Clew's time per step")


if __name__ == "__main__":
    if sys.argv[1:2] == ["kfp-side"]:
        print(json.dumps(kfp_side(int(sys.argv[2]))))
    else:
        main()
