"""Clew vs MLflow 3.x, side by side: the same tracking workloads through each one's own client.

Run from Clew's virtualenv (``make bench``)::

    .venv/bin/python bench/tracking_vs_mlflow.py [--quick] [--repeat 3] [--backend sqlite]

It installs MLflow 3.x into ``bench/.venv-mlflow`` (once; a stamp file marks it done), starts an
``mlflow server`` (``--workers 1``, MLflow's best setting here, then its default workers for
reference) and a ``clew server`` on the same backend kind on loopback, runs each workload in a
subprocess of each side's own virtualenv (``bench/workloads/*_side.py``), and prints medians,
Clew's speedup (MLflow time / Clew time) and the issue's targets. Results go to
``bench/results/<timestamp>.json``; ``--markdown`` prints the table for docs/benchmarks.md.

The machine is shared and small: numbers are medians of ``--repeat`` runs and only the ratios
are meant to travel. Nothing here asserts an absolute time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from report import build_rows, git_rev, machine, markdown, median, print_table
from rich.console import Console

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORKLOADS = BENCH / "workloads"
RESULTS = BENCH / "results"
MLFLOW_VENV = BENCH / ".venv-mlflow"
MLFLOW_SPEC = "mlflow>=3,<4"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")

sys.path.insert(0, str(WORKLOADS))

console = Console(stderr=True, highlight=False)


# ---- sizes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    sync_calls: int = 1_000
    fluent_mlflow: int = 1_000  # MLflow logs ~50 synchronous points/s: rates, not totals, compare
    fluent_clew: int = 200_000
    create_runs: int = 2_000
    history: int = 10_000
    history_large: int = 100_000
    search_runs: int = 10_000
    search_runs_large: int = 100_000
    artifact_mb: int = 100


FULL = Sizes()
QUICK = Sizes(
    sync_calls=200,
    fluent_mlflow=200,
    fluent_clew=20_000,
    create_runs=200,
    history=10_000,
    history_large=100_000,
    search_runs=1_000,
    search_runs_large=10_000,
    artifact_mb=20,
)

#: MLflow's 100,000-point history read is attempted only if its 10,000-point read suggests it
#: finishes within this many seconds.
MLFLOW_LARGE_HISTORY_BUDGET_S = 30.0


# ---- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def group_pids(pgid: int) -> list[int]:
    """Live processes of one process group (the server and any workers it forked)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def proc_status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


class Server:
    """A server in its own process group; ``stop()`` ends the whole group."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.cmd, self.env, self.port, self.log = name, cmd, env, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        #: Where a client in another process can reach the same store without HTTP (Clew only:
        #: used to populate the 100,000-run search quickly).
        self.direct_uri: str | None = None

    def start(self, timeout: float = 180.0) -> None:
        console.print(f"[dim]starting {self.name}: {' '.join(self.cmd)}[/dim]")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        self.settle()
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer /health in {timeout:.0f}s:\n{self.tail()}")

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the server's process group is idle (MLflow starts job runners after
        /health answers); a busy start-up would otherwise land on the first workload."""
        assert self.proc is not None
        hz = os.sysconf("SC_CLK_TCK")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = group_pids(self.proc.pid)
            before = cpu_ticks(pids)
            time.sleep(1.0)
            if (cpu_ticks(pids) - before) / hz < 0.05:
                return

    def peak_rss_kib(self) -> dict[int, int]:
        assert self.proc is not None
        return {pid: proc_status_kib(pid, "VmHWM") for pid in group_pids(self.proc.pid)}

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=0.2)
                if self.proc.poll() is not None and not group_pids(pgid):
                    self.proc = None
                    return
        self.proc = None


# ---- the two sides -------------------------------------------------------------------------------


def ensure_mlflow_venv(backend: str) -> Path:
    """``bench/.venv-mlflow`` with MLflow 3.x (and psycopg2 for postgres); installed once."""
    python = MLFLOW_VENV / "bin" / "python"
    extras = ["psycopg2-binary"] if backend == "postgres" else []
    digest = hashlib.sha1(" ".join([MLFLOW_SPEC, *extras]).encode()).hexdigest()[:12]
    stamp = MLFLOW_VENV / f".installed-{digest}"
    if stamp.exists() and python.exists():
        return python
    console.print(f"[bold]installing {MLFLOW_SPEC} into {MLFLOW_VENV}[/bold] (once; a few minutes)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    log = MLFLOW_VENV / "install.log"
    with log.open("ab") as out:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", MLFLOW_SPEC, *extras],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    stamp.touch()
    return python


@dataclass
class Side:
    """One system under test: how to start its server and which script runs its workloads."""

    key: str  # "mlflow", "mlflow_default", "clew"
    label: str
    python: Path
    script: Path
    make_server: Callable[[Path, int], Server]
    results: dict[str, Any] = field(default_factory=dict)
    server: Server | None = None

    def run(self, workload: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
        return self.run_many(workload, [params], timeout)[0]

    def run_many(
        self, workload: str, params: list[dict[str, Any]], timeout: float
    ) -> list[dict[str, Any]]:
        """One workload process per entry of ``params``, side by side; all are killed if any
        fails, times out or the bench is interrupted."""
        assert self.server is not None
        env = dict(os.environ)
        env.update(
            BENCH_TRACKING_URI=self.server.url,
            MLFLOW_TRACKING_URI=self.server.url,
            CLEW_TRACKING_URI=self.server.url,
            PYTHONUNBUFFERED="1",
        )
        env.pop("VIRTUAL_ENV", None)
        t0 = time.monotonic()
        procs: list[tuple[subprocess.Popen[str], Any, Any]] = []
        with contextlib.ExitStack() as files:
            try:
                for p in params:
                    out = files.enter_context(tempfile.TemporaryFile("w+"))
                    err = files.enter_context(tempfile.TemporaryFile("w+"))
                    cmd = [str(self.python), str(self.script), workload, json.dumps(p)]
                    proc = subprocess.Popen(
                        cmd, env=env, stdout=out, stderr=err, text=True, cwd=str(WORKLOADS)
                    )
                    procs.append((proc, out, err))
                results = []
                for proc, out, err in procs:
                    code = proc.wait(timeout=max(1.0, timeout - (time.monotonic() - t0)))
                    out.seek(0)
                    err.seek(0)
                    if code != 0:
                        raise RuntimeError(
                            f"{self.label} {workload} failed ({code}):\n{err.read()[-3000:]}"
                        )
                    lines = [ln for ln in out.read().splitlines() if ln.strip()]
                    result: dict[str, Any] = json.loads(lines[-1])
                    result["wall_s"] = time.monotonic() - t0
                    results.append(result)
                return results
            finally:
                for proc, _, _ in procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()


def postgres_database(name: str) -> str:
    """Create a fresh database ``name`` and return its URL (dropped by ``drop_database``)."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL + name


def drop_database(name: str) -> None:
    import psycopg

    with (
        contextlib.suppress(Exception),
        psycopg.connect(POSTGRES_ADMIN_URL + "postgres", autocommit=True) as conn,
    ):
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_sides(mlflow_python: Path, backend: str, databases: list[str]) -> list[Side]:
    def mlflow_server(workers: int | None) -> Callable[[Path, int], Server]:
        def make(tmp: Path, port: int) -> Server:
            if backend == "postgres":
                name = f"bench_mlflow_{os.getpid()}_{workers or 'default'}"
                databases.append(name)
                store = postgres_database(name)
            else:
                store = f"sqlite:///{tmp / 'mlflow.db'}"
            cmd = [
                str(mlflow_python.parent / "mlflow"),
                "server",
                "--backend-store-uri",
                store,
                "--artifacts-destination",
                str(tmp / "mlartifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            if workers is not None:
                cmd += ["--workers", str(workers)]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLEW_"))}
            return Server(f"mlflow (workers={workers or 'default'})", cmd, env, port, tmp / "log")

        return make

    def clew_server(tmp: Path, port: int) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLEW_"))}
        env["CLEW_HOME"] = str(tmp / "clew")
        if backend == "postgres":
            name = f"bench_clew_{os.getpid()}"
            databases.append(name)
            env["CLEW_DATABASE_URL"] = postgres_database(name)
        cmd = [sys.executable, "-m", "clew.server.main", "--host", "127.0.0.1", "--port", str(port)]
        server = Server("clew", cmd, env, port, tmp / "log")
        server.direct_uri = env.get("CLEW_DATABASE_URL") or env["CLEW_HOME"]
        return server

    return [
        Side("mlflow", "MLflow --workers 1", mlflow_python, WORKLOADS / "mlflow_side.py",
             mlflow_server(1)),
        Side("mlflow_default", "MLflow default workers", mlflow_python,
             WORKLOADS / "mlflow_side.py", mlflow_server(None)),
        Side("clew", "Clew", Path(sys.executable), WORKLOADS / "clew_side.py", clew_server),
    ]  # fmt: skip


def _no_server(tmp: Path, port: int) -> Server:
    raise RuntimeError("a rendered results file starts no server")


@contextlib.contextmanager
def running(side: Side, tmp_root: Path) -> Iterator[Server]:
    tmp = Path(tempfile.mkdtemp(prefix=f"{side.key}-", dir=tmp_root))
    server = side.make_server(tmp, free_port())
    side.server = server
    try:
        server.start()
        yield server
    finally:
        server.stop()
        side.server = None
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the plan ------------------------------------------------------------------------------------


def run_side(
    side: Side,
    sizes: Sizes,
    repeat: int,
    timeout: float,
    only: set[str],
    save: Callable[[], None] = lambda: None,
) -> None:
    """Every workload for one side, in an order that keeps measurements clean: artifacts first
    (so the server's peak RSS before it is the start-up baseline), search data last."""
    full = side.key != "mlflow_default"
    res = side.results

    def attempt(name: str, fn: Callable[[], Any], group: str = "") -> None:
        if only and (group or name.split(":")[0]) not in only:
            return
        console.print(f"  [cyan]{side.label}[/cyan] {name} …")
        try:
            res[name] = fn()
            wall = res[name].get("wall_s", 0.0) if isinstance(res[name], dict) else 0.0
            console.print(f"    done in {wall:.1f}s")
        except Exception as exc:
            res[name] = {"error": str(exc).strip()[-2000:]}
            console.print(f"    [red]failed:[/red] {res[name]['error'][-800:]}")
        save()

    def artifacts() -> dict[str, Any]:
        """A transfer of a tenth of the size first (untimed), so that the peak RSS growth
        measured around the real ones is what grows with the file, not first-use overhead."""
        assert side.server is not None
        small = max(1, sizes.artifact_mb // 10)
        side.run("artifacts", {"size_mb": small, "repeat": 1}, timeout)
        before = side.server.peak_rss_kib()
        out = side.run("artifacts", {"size_mb": sizes.artifact_mb, "repeat": repeat}, timeout)
        after = side.server.peak_rss_kib()
        growth = [after[p] - before.get(p, 0) for p in after]
        out["server_peak_growth_mib"] = max(growth, default=0) / 1024
        out["server_peak_mib"] = max(after.values(), default=0) / 1024
        return out

    if full:
        attempt("artifacts", artifacts)
    attempt(
        "sync_metric",
        lambda: side.run("sync_metric", {"n": sizes.sync_calls, "repeat": repeat}, timeout),
    )
    n_fluent = sizes.fluent_clew if side.key == "clew" else sizes.fluent_mlflow
    attempt("fluent", lambda: side.run("fluent", {"n": n_fluent, "repeat": repeat}, timeout))
    # The default-workers MLflow reference runs a tenth of the runs: only its rate is reported.
    n_runs = sizes.create_runs if full else max(50, sizes.create_runs // 10)
    attempt(
        "create_runs",
        lambda: side.run(
            "create_runs", {"runs": n_runs, "repeat": repeat, "experiment": "bench-runs"}, timeout
        ),
    )
    attempt(
        "history", lambda: side.run("history", {"points": sizes.history, "repeat": repeat}, timeout)
    )
    if not full:
        return

    small = res.get("history", {}).get("samples")
    estimate = median([s["seconds"] for s in small]) * 10 if small else float("inf")
    if side.key == "clew" or estimate < MLFLOW_LARGE_HISTORY_BUDGET_S:
        attempt(
            "history:large",
            lambda: side.run(
                "history",
                {
                    "points": sizes.history_large,
                    "repeat": repeat,
                    "max_seconds": MLFLOW_LARGE_HISTORY_BUDGET_S,
                },
                timeout,
            ),
        )
    elif not only or "history" in only:
        res["history:large"] = {
            "skipped": f"10,000 points took {estimate / 10:.1f}s, so "
            f"{sizes.history_large:,} would take ~{estimate:.0f}s "
            f"(> {MLFLOW_LARGE_HISTORY_BUDGET_S:.0f}s budget)"
        }

    # Search reads the runs create_runs wrote (repeat x create_runs), topped up to the target.
    have = n_runs * repeat if "create_runs" in res and "error" not in res["create_runs"] else 0
    searches = max(5, repeat)
    for label, target in (("search", sizes.search_runs), ("search:large", sizes.search_runs_large)):
        if label == "search:large" and side.key != "clew":
            break
        if only and "search" not in only:
            break
        if target > have:
            # The 10,000-run set goes through each side's HTTP client, like create_runs; the
            # Clew-only 100,000-run set is written in-process to the same store (faster).
            direct = label == "search:large"
            attempt(
                f"populate:{target}",
                lambda have=have, target=target, direct=direct: populate(
                    side, have, target - have, timeout, direct
                ),
                group="search",
            )
            if "error" in res.get(f"populate:{target}", {}):
                break
            have = target
        attempt(
            label,
            lambda: side.run("search", {"experiment": "bench-runs", "repeat": searches}, timeout),
        )
        if label in res:
            res[label]["runs"] = have


def populate(
    side: Side, start: int, count: int, timeout: float, direct: bool = False
) -> dict[str, Any]:
    """More synthetic runs for search: each run written as create_runs writes it, through the
    side's HTTP client, at the concurrency that was
    fastest for it here (MLflow on SQLite slows down under concurrent writers: 1 process, 1
    thread; Clew: 2 processes x 4 threads). ``direct`` (Clew's 100,000-run set): 2 processes
    on Clew's in-process local transport over the server's own store, create_run + log_batch.
    """
    assert side.server is not None
    procs, extra = (1, {"threads": 1}) if side.key.startswith("mlflow") else (2, {"threads": 4})
    if direct and side.server.direct_uri:
        extra = {"threads": 1, "direct_uri": side.server.direct_uri, "lean": True}
    per = -(-count // procs)
    chunks = [(start + i * per, min(per, count - i * per)) for i in range(procs)]
    t0 = time.monotonic()
    side.run_many(
        "populate",
        [{"start": s, "count": n, "experiment": "bench-runs", **extra} for s, n in chunks if n],
        timeout,
    )
    seconds = time.monotonic() - t0
    return {"seconds": seconds, "count": count, "runs_per_s": count / seconds, "wall_s": seconds}


# ---- the table -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (default 3)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--markdown", action="store_true", help="also print the markdown table")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated workloads: "
        + "artifacts,sync_metric,fluent,create_runs,history,search",
    )
    ap.add_argument(
        "--sides",
        default="mlflow,mlflow_default,clew",
        help="which of mlflow,mlflow_default,clew to run",
    )
    ap.add_argument(
        "--search-large",
        type=int,
        default=None,
        help="runs for the Clew-only large search (default 100,000; 10,000 with --quick)",
    )
    ap.add_argument("--timeout", type=float, default=3600, help="per workload process, seconds")
    ap.add_argument(
        "--render",
        type=Path,
        nargs="+",
        help="print the tables of saved results JSON files; with several, each side's results "
        "come from the first file that has them (e.g. a run resumed with --sides clew)",
    )
    args = ap.parse_args(argv)

    if args.render:
        files = [json.loads(path.read_text()) for path in args.render]
        saved_meta = files[0]["meta"]
        merged: dict[str, dict[str, Any]] = {}
        for saved in files:
            for key, results in saved["results"].items():
                if key not in merged and any(k != "server" for k in results):
                    merged[key] = results
        if len(files) > 1:
            saved_meta["command"] = " + ".join(f["meta"]["command"] for f in files)
        sizes = Sizes(**saved_meta["sizes"])
        sides = [Side(k, k, Path(), Path(), _no_server, r) for k, r in merged.items()]
        rows = build_rows(sides, sizes)
        print_table(rows, f"Clew vs MLflow {saved_meta['mlflow_version']} (saved)")
        print(markdown(rows, saved_meta))
        return 0

    sizes = QUICK if args.quick else FULL
    if args.search_large:
        sizes = dataclasses.replace(sizes, search_runs_large=args.search_large)
    only = {w.strip() for w in args.only.split(",") if w.strip()}
    wanted = {s.strip() for s in args.sides.split(",") if s.strip()}
    started = dt.datetime.now(dt.UTC)
    mlflow_python = ensure_mlflow_venv(args.backend)
    databases: list[str] = []
    sides = [s for s in make_sides(mlflow_python, args.backend, databases) if s.key in wanted]
    command = "python bench/tracking_vs_mlflow.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    meta: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command.strip(),
        "repeat": args.repeat,
        "quick": args.quick,
        "backend": args.backend,
        "sizes": dataclasses.asdict(sizes),
        "machine": machine(),
        "python": platform.python_version(),
        "mlflow_version": "3.x",
        "clew_version": importlib.metadata.version("clew"),
        "git_rev": git_rev(),
        "complete": False,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"

    def save() -> None:
        """Written after every workload, so a long run that dies still leaves its numbers."""
        for side in sides:
            version = (side.results.get("sync_metric") or {}).get("version")
            if version:
                meta["mlflow_version"] = version
        results = {s.key: s.results for s in sides}
        out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))

    tmp_root = Path(tempfile.mkdtemp(prefix="clew-bench-"))
    try:
        for side in sides:
            console.rule(side.label)
            try:
                with running(side, tmp_root):
                    run_side(side, sizes, args.repeat, args.timeout, only, save)
            except Exception as exc:  # a server that does not start: report, go on
                side.results["server"] = {"error": str(exc)[-2000:]}
                console.print(f"[red]{side.label}: {exc}[/red]")
        meta["complete"] = True
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: reporting what was measured[/yellow]")
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
        for name in databases:
            drop_database(name)
        save()

    rows = build_rows(sides, sizes)
    print_table(
        rows,
        f"Clew vs MLflow {meta['mlflow_version']} — median of {args.repeat}, "
        f"{args.backend}{' (quick)' if args.quick else ''}",
    )
    console.print(f"[dim]results: {out.relative_to(REPO)}[/dim]")
    if args.markdown:
        print()
        print(markdown(rows, meta))
    return 0 if meta["complete"] else 130


if __name__ == "__main__":
    sys.exit(main())
