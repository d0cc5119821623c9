"""What ``--auth`` costs an unmodified MLflow client (issue 6, "Figures to reach": within 15%).

Two ``clew server`` processes on one backend kind, the same build, side by side: one without
authentication, one with ``--auth`` where the client is a non-admin user holding the maintainer
role on everything (so every call is authenticated by its token and passes a role check, not an
admin's short cut). The real ``mlflow`` 3.x client (``.venv-compat/mlflow3``) sends the token
with ``MLFLOW_TRACKING_TOKEN``, unchanged. Each round runs each workload on both servers back to
back, alternating which goes first; the table shows medians over the rounds, their on/off ratio, the
median of each round's own on/off ratio (the two ran back to back, on the same machine state),
and from that the cost of authentication as extra time per unit of work::

    PYTHONPATH=src .venv/bin/python bench/auth_mlflow_client.py [--rounds 5]
        [--backend sqlite|postgres] [--quick]

Workloads (``bench/mlflow_client_vs_mlflow.py``'s, run by that file in the mlflow venv):
``log_metric`` (synchronous calls/s), ``log_batch`` (runs created with one ``log_batch`` each,
per s), ``registry`` (create version, set alias, get by alias, search versions: calls/s), and
``search`` (the filtered ``search_runs`` over the runs ``log_batch`` made so far: the same count
on both sides in every round). Nothing here asserts a time; only the ratios travel.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "workloads"))

import mlflow_client_vs_mlflow as mcm  # noqa: E402
import tracking_vs_mlflow as tvm  # noqa: E402
from report import git_rev, machine  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(stderr=True, highlight=False)
ADMIN, PASSWORD, CALLER = "bench-admin", "bench admin password", "bench-user"

#: (workload, sample key, label, higher is better)
MEASURES = [
    ("log_metric", "calls_per_s", "log_metric, calls/s", True),
    ("log_batch", "runs_per_s", "runs created with log_batch, runs/s", True),
    ("registry", "calls_per_s", "registry calls (all four), calls/s", True),
    ("registry", "create_version_per_s", "  create version, calls/s", True),
    ("registry", "set_alias_per_s", "  set alias, calls/s", True),
    ("registry", "get_by_alias_per_s", "  get by alias, calls/s", True),
    ("registry", "search_per_s", "  search versions, calls/s", True),
    ("search", "seconds", "filtered search_runs, s", False),
]


def _request(url: str, method: str, body: Any, auth: str) -> Any:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json",
                                          "authorization": auth})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def provision(server: tvm.Server) -> str:
    """The caller on the ``--auth`` server: a user with maintainer on everything, and a token."""
    basic = "Basic " + base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
    api = server.url + "/api/v1"
    _request(f"{api}/users", "POST", {"name": CALLER, "password": PASSWORD}, basic)
    _request(f"{api}/role-bindings", "PUT", {"principal": CALLER, "role": "maintainer"}, basic)
    made = _request(f"{api}/users/{CALLER}/tokens", "POST", {"name": "bench"}, basic)
    return str(made["secret"])


def make_side(key: str, backend: str, databases: list[str], auth: bool) -> tvm.Side:
    base = {s.key: s for s in tvm.make_sides(mcm.MLFLOW_PYTHON, backend, databases)}["clew"]

    def server(tmp: Path, port: int) -> tvm.Server:
        made = base.make_server(tmp, port)
        made.cmd += ["--workers", "1"]
        if backend == "postgres":  # two servers, two databases
            name = f"bench_clew_{os.getpid()}_{key}"
            databases.append(name)
            made.env["CLEW_DATABASE_URL"] = tvm.postgres_database(name)
        if auth:
            made.env.update(CLEW_AUTH="true", CLEW_ADMIN_USERNAME=ADMIN,
                            CLEW_ADMIN_PASSWORD=PASSWORD)  # fmt: skip
        made.name = f"clew {'--auth' if auth else '(no auth)'}"
        return made

    label = "auth on" if auth else "auth off"
    return tvm.Side(key, label, mcm.MLFLOW_PYTHON, Path(mcm.__file__).resolve(), server)


@contextlib.contextmanager
def token_env(token: str | None) -> Iterator[None]:
    """``MLFLOW_TRACKING_TOKEN`` for the workload processes of one side (they copy os.environ)."""
    old = os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        if old is not None:
            os.environ["MLFLOW_TRACKING_TOKEN"] = old


def plan(sizes: dict[str, int], index: int) -> list[tuple[str, dict[str, Any]]]:
    runs = {"runs": sizes["runs"], "repeat": 1, "experiment": "bench-runs",
            "start_index": index * sizes["runs"]}  # fmt: skip
    return [
        ("log_metric", {"n": sizes["metric"], "repeat": 1}),
        ("log_batch", runs),
        ("registry", {"n": sizes["registry"], "searches": sizes["searches"], "repeat": 1}),
        ("search", {"experiment": "bench-runs", "repeat": 5}),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args(argv)
    if not mcm.MLFLOW_PYTHON.exists():
        console.print(f"[red]{mcm.MLFLOW_PYTHON} is missing: python tests/models/mlflow_env.py")
        return 2
    sizes = ({"metric": 100, "runs": 20, "registry": 20, "searches": 20} if args.quick else
             {"metric": 1000, "runs": 300, "registry": 150, "searches": 100})  # fmt: skip
    started = dt.datetime.now(dt.UTC)
    tmp_root = Path(tempfile.mkdtemp(prefix="clew-auth-bench-"))
    databases: list[str] = []
    off = make_side("off", args.backend, databases, auth=False)
    on = make_side("on", args.backend, databases, auth=True)
    try:
        with tvm.running(off, tmp_root), tvm.running(on, tmp_root) as on_server:
            token = provision(on_server)
            for i in range(args.rounds):  # each workload on both, back to back, alternating
                console.print(f"round {i + 1}/{args.rounds}")
                for j, (workload, params) in enumerate(plan(sizes, i)):
                    order = [(off, None), (on, token)]
                    for side, secret in order if (i + j) % 2 == 0 else order[::-1]:
                        with token_env(secret):
                            got = side.run(workload, params, args.timeout)
                        side.results.setdefault(workload, []).extend(got["samples"])
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
        for name in databases:
            tvm.drop_database(name)
    title = (f"mlflow client, clew server without and with --auth, {args.backend}, "
             f"median of {args.rounds} interleaved rounds")  # fmt: skip
    table = Table(title=title)
    columns = ("workload", "auth off", "auth on", "on/off", "paired on/off", "cost of auth",
               "target")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "workload" else "right")
    rows = []
    for workload, key, label, higher in MEASURES:
        offs = [s[key] for s in off.results[workload]]
        ons = [s[key] for s in on.results[workload]]
        a, b = statistics.median(offs), statistics.median(ons)
        # The same round's two samples ran back to back: their ratio sees the same machine.
        paired = statistics.median(y / x for x, y in zip(offs, ons, strict=True))
        cost = (1 / paired - 1) if higher else (paired - 1)  # extra time per unit of work
        table.add_row(label, f"{a:,.4g}", f"{b:,.4g}", f"{b / a:.3f}", f"{paired:.3f}",
                      f"{cost:+.1%}", "" if label.startswith(" ") else "≤ +15%")  # fmt: skip
        rows.append((label, a, b, paired, cost))
    Console(width=120).print(table)
    meta = {"started": started.isoformat(), "git_rev": git_rev(), "machine": machine(),
            "sizes": sizes, "rounds": args.rounds, "backend": args.backend,
            "load": os.getloadavg()}  # fmt: skip
    print(json.dumps({"meta": meta, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
