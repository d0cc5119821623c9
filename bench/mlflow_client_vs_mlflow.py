"""One client, two servers: the real ``mlflow`` 3.x client against MLflow 3.x and against Clew.

The issue's "Figures to reach" (issue 4): the SAME client-side workload, through MLflow's own
``MlflowClient``, against an ``mlflow server`` and a ``clew server`` on the same backend kind,
SQLite and then PostgreSQL, with Clew/MLflow ratios::

    .venv/bin/python bench/mlflow_client_vs_mlflow.py [--quick] [--backend sqlite|postgres|both]
        [--workers 1|default|both] [--repeat 3] [--only log_metric,...] [--markdown]

Workloads (``--only`` names): ``log_metric`` (synchronous calls/s), ``log_batch`` (runs created
with one ``log_batch`` each, per s), ``history`` (a 10,000-point metric history read),
``search`` (filtered ``search_runs`` over 10,000 runs), ``registry`` (create version, set alias,
get by alias, search versions: calls/s), ``concurrent`` (four logging processes, total calls/s,
errors counted).

Every timed span also records the client process's CPU time. The mlflow client is synchronous,
so that CPU time is what the span would take against a server that answered instantly; the
"client-bound ceiling" column is MLflow's figure against it: the best ratio any server could
reach with this client on this machine. A ratio close to its ceiling is spent in the client.

The client runs in ``.venv-compat/mlflow3`` (the compat suite's venv; this file is also the
workload script there, ``python mlflow_client_vs_mlflow.py WORKLOAD '<json>'``, reusing
``workloads/mlflow_side.py``). Servers start and stop as in ``tracking_vs_mlflow.py``.
``--workers 1`` is MLflow at its best (its multi-worker default adds a delayed-ACK stall per
call); Clew gets the same count; ``--workers default`` runs both at their own defaults.
MLflow needs psycopg2 for PostgreSQL (its URL names the driver): it is installed once into
``bench/.venv-mlflow-pg/`` (``pip --target``) and put on the MLflow server's ``PYTHONPATH``,
leaving the compat venv as the suite built it. A workload that fails (e.g. an MLflow route Clew does not serve yet) is an
error row; the others still run. Nothing here asserts a time; only the ratios travel.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH / "workloads"))

SOURCE = "s3://bench-bucket/models/model"


# ---- workload mode: runs in the mlflow 3.x venv, imports only mlflow and the stdlib ----------


def _client(uri: str) -> Any:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


def registry(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Per repeat, a fresh model: ``n`` versions created, ``n`` alias sets, ``n`` gets by
    alias, ``searches`` version searches (top 100). Rates per op and over all calls."""
    import _common as c

    client = _client(uri)
    samples = []
    for rep in range(p["repeat"]):
        name = f"bench-mlc-{rep}-{os.getpid()}"
        client.create_registered_model(name)
        timings: dict[str, float] = {}
        cpu0 = c.cpu()
        t0 = c.now()
        for _ in range(p["n"]):
            client.create_model_version(name, SOURCE)
        timings["create_version"] = c.now() - t0
        t0 = c.now()
        for i in range(p["n"]):
            client.set_registered_model_alias(name, "champion", str(i % p["n"] + 1))
        timings["set_alias"] = c.now() - t0
        t0 = c.now()
        for _ in range(p["n"]):
            got = client.get_model_version_by_alias(name, "champion")
        timings["get_by_alias"] = c.now() - t0
        assert got.version == str(p["n"]), got.version
        t0 = c.now()
        for _ in range(p["searches"]):
            found = client.search_model_versions(f"name = '{name}'", max_results=100)
        timings["search"] = c.now() - t0
        cpu = c.cpu() - cpu0
        assert len(found) == min(100, p["n"]), len(found)
        calls = 3 * p["n"] + p["searches"]
        sample = {"calls_per_s": calls / sum(timings.values()), "client_calls_per_s": calls / cpu}
        for op, seconds in timings.items():
            sample[f"{op}_per_s"] = (p["searches"] if op == "search" else p["n"]) / seconds
        samples.append(sample)
    return {"samples": samples}


def concurrent(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """One of several logging processes: its run is made first, then it waits for the common
    start time and makes ``n`` synchronous ``log_metric`` calls, counting the ones that fail."""
    import _common as c

    client = _client(uri)
    exp = client.get_experiment_by_name("bench-concurrent")
    if exp is None:
        with contextlib.suppress(Exception):  # another process may create it first
            client.create_experiment("bench-concurrent")
        exp = client.get_experiment_by_name("bench-concurrent")
    run_id = client.create_run(exp.experiment_id).info.run_id
    client.log_metric(run_id, "warm", 0.0)
    time.sleep(max(0.0, p["start_at"] - time.time()))
    errors, started, cpu0 = 0, time.time(), c.cpu()
    for i in range(p["n"]):
        try:
            client.log_metric(run_id, "m", float(i), step=i, timestamp=c.now_ms())
        except Exception:
            errors += 1
    ended, cpu = time.time(), c.cpu() - cpu0
    logged = len(client.get_metric_history(run_id, "m"))
    return {"samples": [], "start": started, "end": ended, "calls": p["n"], "errors": errors,
            "logged": logged, "cpu": cpu}  # fmt: skip


def workload_main() -> None:
    import _common as c
    import mlflow_side

    c.main(
        {
            "log_metric": mlflow_side.sync_metric,
            "log_batch": mlflow_side.create_runs,
            "populate": mlflow_side.populate,
            "history": mlflow_side.history,
            "search": mlflow_side.search,
            "registry": registry,
            "concurrent": concurrent,
        }
    )


if __name__ == "__main__" and len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
    workload_main()
    sys.exit(0)


# ---- orchestrator mode: Clew's venv ------------------------------------------------------------

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import tracking_vs_mlflow as tvm  # noqa: E402
from report import Row, fmt, git_rev, machine, median, verdict  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(stderr=True, highlight=False)
MLFLOW_PYTHON = REPO / ".venv-compat" / "mlflow3" / "bin" / "python"
PG_EXTRAS = BENCH / ".venv-mlflow-pg"
WORKLOADS = ("log_metric", "log_batch", "history", "registry", "concurrent", "search")
PROCESSES = 4


@dataclass(frozen=True)
class Sizes:
    log_metric: int = 1_000
    log_batch_runs: int = 500
    history: int = 10_000
    search_runs: int = 10_000
    registry: int = 200
    registry_searches: int = 100
    concurrent: int = 500  # calls per process


FULL = Sizes()
QUICK = Sizes(log_metric=100, log_batch_runs=40, search_runs=300, registry=30,
              registry_searches=30, concurrent=100)  # fmt: skip


def ensure_psycopg2() -> Path:
    """psycopg2 for the MLflow server, outside the compat venv (installed once)."""
    stamp = PG_EXTRAS / ".installed"
    if not stamp.exists():
        console.print(f"[bold]installing psycopg2-binary into {PG_EXTRAS}[/bold] (once)")
        subprocess.run(
            [str(MLFLOW_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--target", str(PG_EXTRAS), "psycopg2-binary"],
            check=True, timeout=900,
        )  # fmt: skip
        stamp.touch()
    return PG_EXTRAS


def make_sides(backend: str, workers: str, databases: list[str]) -> list[tvm.Side]:
    """MLflow and Clew, both driven by the mlflow client through this script."""
    count = 1 if workers == "1" else None
    base = {s.key: s for s in tvm.make_sides(MLFLOW_PYTHON, backend, databases)}
    mlflow_base = base["mlflow" if count == 1 else "mlflow_default"]
    clew_base = base["clew"]

    def mlflow_server(tmp: Path, port: int) -> tvm.Server:
        server = mlflow_base.make_server(tmp, port)
        server.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runner beside it
        if backend == "postgres":
            # MLflow's SQLAlchemy reads a bare postgresql:// as psycopg 3; name the driver.
            server.env["PYTHONPATH"] = str(ensure_psycopg2())
            server.cmd = [
                a.replace("postgresql://", "postgresql+psycopg2://", 1) for a in server.cmd
            ]
        return server

    def clew_server(tmp: Path, port: int) -> tvm.Server:
        server = clew_base.make_server(tmp, port)
        if count is not None:
            server.cmd += ["--workers", str(count)]
        server.name = f"clew (workers={count or 'default'})"
        return server

    label = "--workers 1" if count == 1 else "default workers"
    script = Path(__file__).resolve()
    return [
        tvm.Side("mlflow", f"MLflow {label}", MLFLOW_PYTHON, script, mlflow_server),
        tvm.Side("clew", f"Clew {label}", MLFLOW_PYTHON, script, clew_server),
    ]


def run_side(
    side: tvm.Side, sizes: Sizes, repeat: int, timeout: float, only: set[str], fill_threads: int
) -> None:
    res = side.results

    def attempt(name: str, fn: Callable[[], dict[str, Any]]) -> None:
        if name not in only:
            return
        console.print(f"  [cyan]{side.label}[/cyan] {name} …")
        t0 = time.monotonic()
        try:
            res[name] = fn()
            console.print(f"    done in {time.monotonic() - t0:.1f}s")
        except Exception as exc:  # an error row; the other workloads still run
            res[name] = {"error": str(exc).strip()[-1500:]}
            console.print(f"    [red]failed:[/red] {res[name]['error'][-600:]}")

    attempt("log_metric", lambda: side.run("log_metric", {"n": sizes.log_metric, "repeat": repeat}, timeout))  # fmt: skip
    runs = {"runs": sizes.log_batch_runs, "repeat": repeat, "experiment": "bench-runs"}
    attempt("log_batch", lambda: side.run("log_batch", runs, timeout))
    attempt("history", lambda: side.run("history", {"points": sizes.history, "repeat": repeat}, timeout))  # fmt: skip
    reg = {"n": sizes.registry, "searches": sizes.registry_searches, "repeat": repeat}
    attempt("registry", lambda: side.run("registry", reg, timeout))
    attempt("concurrent", lambda: concurrent_total(side, sizes, timeout))
    attempt("search", lambda: search(side, sizes, repeat, timeout, fill_threads))


def concurrent_total(side: tvm.Side, sizes: Sizes, timeout: float) -> dict[str, Any]:
    """Four processes at once: total calls over the span from the first start to the last end
    (each waits for a common start time after importing mlflow and making its run)."""
    start_at = time.time() + 20.0
    params = [{"n": sizes.concurrent, "start_at": start_at} for _ in range(PROCESSES)]
    parts = side.run_many("concurrent", params, timeout)
    span = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    calls = sum(p["calls"] for p in parts)
    errors = sum(p["errors"] for p in parts) + sum(p["calls"] - p["logged"] for p in parts)
    # The clients alone, on every core of this machine: the bound on any server's total rate.
    client = calls * (os.cpu_count() or 1) / sum(p["cpu"] for p in parts)
    sample = {"calls_per_s": calls / span, "client_calls_per_s": client}
    return {"samples": [sample], "errors": errors, "calls": calls}


def search(
    side: tvm.Side, sizes: Sizes, repeat: int, timeout: float, fill_threads: int
) -> dict[str, Any]:
    """Top the experiment log_batch wrote up to ``search_runs`` runs (from ``fill_threads``
    client threads, untimed), then time the search."""
    done = side.results.get("log_batch", {})
    have = sizes.log_batch_runs * repeat if "error" not in done and done else 0
    if sizes.search_runs > have:
        count = sizes.search_runs - have
        side.run("populate", {"start": have, "count": count, "experiment": "bench-runs",
                              "threads": fill_threads}, timeout)  # fmt: skip
    out = side.run("search", {"experiment": "bench-runs", "repeat": max(5, repeat)}, timeout)
    out["runs"] = sizes.search_runs
    return out


# ---- the table ---------------------------------------------------------------------------------

#: (workload, sample key, label, unit, higher is better, target ratio)
MEASURES = [
    ("log_metric", "calls_per_s", "log_metric", "calls/s", True, 10.0),
    ("log_batch", "runs_per_s", "runs created with log_batch", "runs/s", True, 10.0),
    ("history", "seconds", "metric history read", "s", False, 20.0),
    ("search", "seconds", "filtered search_runs", "s", False, 10.0),
    ("registry", "calls_per_s", "registry calls (all four)", "calls/s", True, 5.0),
    ("registry", "create_version_per_s", "  create version", "calls/s", True, None),
    ("registry", "set_alias_per_s", "  set alias", "calls/s", True, None),
    ("registry", "get_by_alias_per_s", "  get by alias", "calls/s", True, None),
    ("registry", "search_per_s", "  search versions", "calls/s", True, None),
    ("concurrent", "calls_per_s", f"{PROCESSES} concurrent logging processes", "calls/s", True, 10.0),
]  # fmt: skip


def build_rows(results: dict[str, dict[str, Any]], sizes: Sizes) -> list[Row]:
    rows = []
    for workload, key, label, unit, higher, need in MEASURES:
        values: dict[str, float | None] = {}
        notes = []
        for side, res in results.items():
            entry = res.get(workload) or {}
            got = [s[key] for s in entry.get("samples", []) if key in s]
            values[side] = median(got) if got else None
            failure = entry.get("error") or (res.get("server") or {}).get("error")
            if failure and not label.startswith(" "):  # once per workload, on its main row
                last = (failure.strip().splitlines() or ["?"])[-1][:160]
                notes.append(f"{side} error: {last}")
        row = Row(label, unit, higher, values, source=workload, note="; ".join(notes))
        row.ceiling = _ceiling(results, workload, key, values.get("mlflow"), higher)
        if workload == "history":
            row.workload += f" ({sizes.history:,} points)"
        if workload == "search":
            row.workload += f" ({sizes.search_runs:,} runs)"
        if need is not None:
            row.target = f"≥ {need:g}×"  # noqa: RUF001
            row.ok = None if row.speedup is None else row.speedup >= need
        if workload == "concurrent":
            errs = {s: (r.get(workload) or {}).get("errors") for s, r in results.items()}
            row.note = "; ".join(filter(None, [row.note, f"errors: {errs}"]))
            if errs.get("clew"):
                row.ok = False
        rows.append(row)
    return rows


def _ceiling(
    results: dict[str, dict[str, Any]], workload: str, key: str, peer: float | None, higher: bool
) -> float | None:
    """MLflow's figure against the mlflow client's own CPU cost of the same work on Clew's
    side (``client_<key>``): no server, however fast, gives this client a better ratio."""
    got = [s[f"client_{key}"] for s in ((results.get("clew") or {}).get(workload) or {})
           .get("samples", []) if f"client_{key}" in s]  # fmt: skip
    if not got or not peer:
        return None
    client = median(got)
    return client / peer if higher else peer / client


COLUMNS = ["workload", "MLflow", "Clew", "Clew/MLflow", "client-bound ceiling", "target", "result"]


def cells(row: Row) -> list[str]:
    speed = row.speedup
    ratio = "—" if speed is None else f"{speed:,.1f}×"  # noqa: RUF001
    ceiling = "—" if row.ceiling is None else f"{row.ceiling:,.1f}×"  # noqa: RUF001
    result = "ERROR" if speed is None and " error: " in row.note else verdict(row.ok)
    return [row.workload, fmt(row.values.get("mlflow"), row.unit),
            fmt(row.values.get("clew"), row.unit), ratio, ceiling, row.target, result]  # fmt: skip


def print_table(rows: list[Row], title: str) -> None:
    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col, justify="left" if col == "workload" else "right")
    for row in rows:
        table.add_row(*cells(row))
    out = Console(width=max(Console().width, 130))
    out.print(table)
    for row in rows:
        if row.note:
            out.print(f"  [dim]{row.workload.strip()}: {row.note}[/dim]")


def markdown(rows: list[Row], title: str) -> str:
    out = [f"**{title}**", "", "| " + " | ".join(COLUMNS) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]  # fmt: skip
    out += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    out += [f"- {row.workload.strip()}: {row.note}" for row in rows if row.note]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat: a smoke run")
    ap.add_argument("--repeat", type=int, default=None, help="timed repetitions (3; quick: 1)")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--workers", choices=["1", "default", "both"], default="1",
                    help="1: both servers with one worker (MLflow at its best); default: each "
                    "server's own default; both: one table per setting")  # fmt: skip
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--markdown", action="store_true", help="also print markdown tables")
    ap.add_argument("--timeout", type=float, default=3600, help="per workload process, seconds")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (1 if args.quick else 3)
    only = {w.strip() for w in args.only.split(",") if w.strip()}
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    workers = ["1", "default"] if args.workers == "both" else [args.workers]
    if not MLFLOW_PYTHON.exists():
        console.print(f"[red]{MLFLOW_PYTHON} is missing: python tests/models/mlflow_env.py mlflow3")
        return 2
    started = dt.datetime.now(dt.UTC)
    version = subprocess.run([str(MLFLOW_PYTHON), "-c", "import mlflow; print(mlflow.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    meta = {"started": started.isoformat(), "quick": args.quick, "repeat": repeat,
            "sizes": dataclasses.asdict(sizes), "machine": machine(), "git_rev": git_rev(),
            "mlflow_version": version, "clew_version": importlib.metadata.version("clew"),
            "command": "python bench/mlflow_client_vs_mlflow.py " + " ".join(argv or sys.argv[1:])}  # fmt: skip
    tvm.RESULTS.mkdir(exist_ok=True)
    out = tvm.RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}-mlflow-client.json"
    results: dict[str, dict[str, dict[str, Any]]] = {}
    tables: list[tuple[str, list[Row]]] = []
    tmp_root = Path(tempfile.mkdtemp(prefix="clew-mlflow-client-bench-"))
    databases: list[str] = []
    try:
        for backend in backends:
            for setting in workers:
                config = f"{backend}, workers={setting}"
                results[config] = {}
                for side in make_sides(backend, setting, databases):
                    console.rule(f"{side.label} on {backend}")
                    try:
                        with tvm.running(side, tmp_root):
                            # The untimed fill of 10,000 runs took MLflow over 40 minutes
                            # from one thread on PostgreSQL; its server takes several at once.
                            fill = 4 if backend == "postgres" else 1
                            run_side(side, sizes, repeat, args.timeout, only, fill)
                    except Exception as exc:  # a server that does not start: report, go on
                        side.results["server"] = {"error": str(exc)[-1500:]}
                        console.print(f"[red]{side.label}: {exc}[/red]")
                    results[config][side.key] = side.results
                    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
                title = (f"mlflow {version} client: Clew vs MLflow {version}, {config}, "
                         f"median of {repeat}{' (quick)' if args.quick else ''}")  # fmt: skip
                tables.append((title, build_rows(results[config], sizes)))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: reporting what was measured[/yellow]")
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
        for name in databases:
            tvm.drop_database(name)
    for title, rows in tables:
        print_table(rows, title)
    console.print(f"[dim]results: {out.relative_to(REPO)}[/dim]")
    if args.markdown:
        print("\n\n".join(markdown(rows, title) for title, rows in tables))
        print(f"\n{meta['machine']} · Clew {meta['clew_version']} (`{meta['git_rev']}`) · "
              f"Command: `{meta['command']}`")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
