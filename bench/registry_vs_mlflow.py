"""Clew vs MLflow 3.x, side by side: registry operations and loading a model by alias.

Starts an MLflow server (``--workers 1``, its best setting here) and a Clew server on the same
backend kind on loopback, one after the other, and runs the same workloads through each one's
own client (``bench/workloads/registry_mlflow.py`` in ``bench/.venv-mlflow``,
``bench/workloads/registry_clew.py`` in Clew's venv). Prints medians and Clew/MLflow ratios.

- registry ops: per repeat, a fresh model, ``--versions`` versions created from an ``s3://``
  source, as many alias moves, ``--searches`` version searches (top 100).
- load: a small scikit-learn model logged, registered and aliased, then ``--loads`` times
  ``load_model("models:/bench-load@champion")`` plus a prediction. MLflow downloads every
  time; Clew's first load fills its verified local cache and later loads use it, so the table
  shows the first load and the median of the rest.

Server and venv handling come from ``tracking_vs_mlflow.py``. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tracking_vs_mlflow as tvm

console = Console()
WORKLOADS = Path(__file__).resolve().parent / "workloads"
SCRIPTS = {"mlflow": WORKLOADS / "registry_mlflow.py", "clew": WORKLOADS / "registry_clew.py"}
TIMES = "\N{MULTIPLICATION SIGN}"
TARGETS = {"versions_per_s": 10.0, "alias_moves_per_s": 10.0, "searches_per_s": 10.0}


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def _rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    ops = {k: results[k].get("registry_ops") for k in ("mlflow", "clew")}
    labels = {
        "versions_per_s": "model versions created /s",
        "alias_moves_per_s": "alias moves /s",
        "searches_per_s": "version searches /s (top 100)",
    }
    for key, label in labels.items():
        m = _median(ops["mlflow"]["samples"], key) if ops["mlflow"] else float("nan")
        k = _median(ops["clew"]["samples"], key) if ops["clew"] else float("nan")
        ratio = k / m
        verdict = "pass" if ratio >= TARGETS[key] else "FAIL"
        rows.append(
            (label, f"{m:,.1f}", f"{k:,.1f}", f"{ratio:.1f}{TIMES}", f"≥ 10{TIMES} {verdict}")
        )
    loads = {k: results[k].get("load") for k in ("mlflow", "clew")}
    if loads["mlflow"] and loads["clew"]:
        m_all = [s["load_s"] for s in loads["mlflow"]["samples"]]
        k_all = [s["load_s"] for s in loads["clew"]["samples"]]
        m_first, k_first = m_all[0], k_all[0]
        m_rest, k_rest = statistics.median(m_all[1:]), statistics.median(k_all[1:])
        rows.append(
            ("load models:/…@alias + predict, first", f"{m_first * 1e3:.1f} ms",
             f"{k_first * 1e3:.1f} ms", f"{m_first / k_first:.1f}{TIMES}", "")
        )  # fmt: skip
        verdict = "pass" if m_rest / k_rest >= 3 else "FAIL"
        rows.append(
            ("load models:/…@alias + predict, median of the rest", f"{m_rest * 1e3:.1f} ms",
             f"{k_rest * 1e3:.1f} ms", f"{m_rest / k_rest:.1f}{TIMES}", f"≥ 3{TIMES} {verdict}")
        )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--versions", type=int, default=300, help="versions (and alias moves) a repeat")
    ap.add_argument("--searches", type=int, default=100, help="version searches a repeat")
    ap.add_argument("--loads", type=int, default=21, help="model loads (the first is cold)")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--only", default="registry_ops,load")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args(argv)
    only = {w.strip() for w in args.only.split(",") if w.strip()}

    mlflow_python = tvm.ensure_mlflow_venv(args.backend)
    databases: list[str] = []
    sides = [
        dataclasses.replace(side, script=SCRIPTS[side.key])
        for side in tvm.make_sides(mlflow_python, args.backend, databases)
        if side.key in SCRIPTS
    ]
    results: dict[str, dict[str, Any]] = {}
    tmp_root = Path(tempfile.mkdtemp(prefix="clew-registry-bench-"))
    try:
        for side in sides:
            console.rule(side.label)
            results[side.key] = {}
            with tvm.running(side, tmp_root):
                if "registry_ops" in only:
                    params = {"repeat": args.repeat, "n": args.versions, "searches": args.searches}
                    console.print(f"  {side.label}: registry ops …")
                    results[side.key]["registry_ops"] = side.run(
                        "registry_ops", params, args.timeout
                    )
                if "load" in only:
                    console.print(f"  {side.label}: load by alias …")
                    results[side.key]["load"] = side.run("load", {"n": args.loads}, args.timeout)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
        for name in databases:
            tvm.drop_database(name)

    version = (results.get("mlflow", {}).get("registry_ops") or {}).get("version", "3.x")
    table = Table(
        title=f"Clew vs MLflow {version} registry — medians of {args.repeat}, {args.backend}"
    )
    for col in ("workload", f"MLflow {version} --workers 1", "Clew", "Clew speedup", "target"):
        table.add_column(col, justify="left" if col == "workload" else "right")
    rows = _rows(results)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    print(
        "\n| workload | MLflow --workers 1 | Clew | speedup | target |\n|---|---:|---:|---:|---:|"
    )
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nCommand: `python bench/registry_vs_mlflow.py {' '.join(argv or sys.argv[1:])}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
