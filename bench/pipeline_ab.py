"""Two Clew source trees side by side on ``pipeline_overhead.py``'s pipelines, interleaved.

A change to the per-step cost is judged against the code before it, on the same machine in
the same minutes: each repeat runs every case on the old tree and on the new one, alternating
which goes first, so a busy minute on a shared machine falls on both alike. Each run is
``pipeline_overhead.py``'s own child (a fresh interpreter and a fresh local store, the first
run executing every step and the second finding every step in the cache), with ``PYTHONPATH``
pointing at the tree's ``src``.

    git worktree add --detach /tmp/base <old commit>
    .venv/bin/python bench/pipeline_ab.py --old /tmp/base --new . [--repeat 5] [--case chain:200]

It prints, per case, the median of each side's runs and the ratio new / old; nothing here
asserts a time.
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

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from pipeline_overhead import CLEW_CHILD  # noqa: E402 (a sibling script, not a package)

DEFAULT_CASES = ["chain:20", "chain:200", "fan:200", "fan:1000"]
KEYS = {"run_ms_per_step": "first run ms / step", "cached_ms_per_step": "cache hit ms / step"}


def measure(tree: Path, kind: str, n: int) -> dict[str, float]:
    """One tracked run and its cached rerun of ``kind`` with ``n`` steps, on ``tree``'s code."""
    with tempfile.TemporaryDirectory(prefix="clew-bench-ab-") as home:
        env = {**os.environ, "CLEW_HOME": home, "PYTHONPATH": str(tree / "src")}
        env.pop("CLEW_TRACKING_URI", None)
        env.pop("CLEW_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-c", CLEW_CHILD, kind, str(n), "1", "threads"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=home,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="the tree before the change")
    parser.add_argument("--new", type=Path, required=True, help="the tree with the change")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--case", action="append", help="kind:steps, kind chain or fan (repeatable)"
    )
    args = parser.parse_args()
    cases = [(c.split(":")[0], int(c.split(":")[1])) for c in args.case or DEFAULT_CASES]
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    samples: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    for repeat in range(args.repeat):
        order = ["old", "new"] if repeat % 2 == 0 else ["new", "old"]
        for kind, n in cases:
            for side in order:
                samples.setdefault((kind, n, side), []).append(measure(trees[side], kind, n))
    console = Console()
    table = Table(title=f"old {trees['old']} against new {trees['new']}, median of {args.repeat}")
    for column in ["pipeline", *(f"{label}, old → new" for label in KEYS.values()), "max RSS MB"]:
        table.add_column(column, justify="right")
    for kind, n in cases:
        cells = []
        for key in KEYS:
            old = statistics.median(s[key] for s in samples[(kind, n, "old")])
            new = statistics.median(s[key] for s in samples[(kind, n, "new")])
            cells.append(f"{old:.2f} → {new:.2f} ({new / old:.2f}x)")
        old_rss, new_rss = (
            statistics.median(s["max_rss_mb"] for s in samples[(kind, n, side)])
            for side in ("old", "new")
        )
        table.add_row(f"{kind} of {n}", *cells, f"{old_rss:.0f} → {new_rss:.0f}")
    console.print(table)
    console.print("targets: ≤ 5 ms a step (200 steps, threads), cache hit ≤ 2 ms a step")


if __name__ == "__main__":
    main()
