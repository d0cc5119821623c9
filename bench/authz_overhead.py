"""What authorization costs (issue 6, "Figures to reach"), in process, side by side.

- **Per call**: the same tracking and registry calls through the services of one store, once
  with ``AllowAll`` (authentication off) and once with the ``RoleAuthorizer`` for an editor
  whose role is on the one experiment and model it writes (so every check reads grants and,
  for a run, its experiment): interleaved rounds, medians, the ratio (target: within 15%).
- **A filtered search over 10,000 runs for a user who may see half of them**: the runs split
  evenly over two experiments, the user a viewer of one; the issue's query (a param filter,
  ordered by a metric, top 100) across all experiments, so the role filter is in the query
  (target: under 100 ms). The unrestricted search over all 10,000 is shown beside it.

    .venv/bin/python bench/authz_overhead.py [--runs 10000] [--calls 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_at_scale import seed

from clew.core.actor import Actor
from clew.core.authz import AllowAll
from clew.core.db import Database
from clew.core.settings import Settings
from clew.governance.authorizer import RoleAuthorizer
from clew.platform import Platform
from clew.tracking.model import Metric

PASSWORD = "benchmark password"
QUERY = ("params.lr = '0.01' AND metrics.acc > 0.5", ["metrics.acc DESC"])


def _platforms(home: Path) -> tuple[Platform, Platform]:
    settings = Settings(home=home, auth=True, password_hash_memory_kib=1024,
                        password_hash_time_cost=1, auth_cache_s=5.0)  # fmt: skip
    open_ = Platform.open(settings, authz=AllowAll())
    governed = Platform.open(settings, authz=RoleAuthorizer(open_.db, settings.auth_cache_s))
    return open_, governed


def _timed(calls: int, call: Callable[[int], object]) -> float:
    t0 = time.perf_counter()
    for i in range(calls):
        call(i)
    return (time.perf_counter() - t0) * 1000 / calls


def per_call(home: Path, calls: int, rounds: int) -> dict[str, tuple[float, float]]:
    open_, governed = _platforms(home)
    root, editor = Actor("root"), Actor("editor")
    open_.users.bootstrap_admin("root", PASSWORD)
    open_.users.create_user(root, "editor", password=PASSWORD)
    eid = open_.tracking.create_experiment(root, "bench")
    open_.access.grant(root, "editor", "editor", "experiment", eid)
    open_.access.grant(root, "editor", "editor", "registered_model", "bench-model")
    open_.registry.create_registered_model(root, "bench-model")
    run_id = open_.tracking.create_run(root, eid).info.run_id

    def log(platform: Platform, actor: Actor) -> Callable[[int], object]:
        return lambda i: platform.tracking.log_batch(actor, run_id, metrics=[Metric("m", i, i, i)])

    def version(platform: Platform, actor: Actor) -> Callable[[int], object]:
        return lambda _i: platform.registry.create_model_version(actor, "bench-model", "s3://b/m")

    def get(platform: Platform, actor: Actor) -> Callable[[int], object]:
        return lambda _i: platform.tracking.get_run(actor, run_id)

    cases = {"log_metric (log_batch of 1)": log, "get_run": get, "create model version": version}
    from clew.core.authz import Permission, Resource

    check = governed.tracking.authz.check
    run = Resource("run", run_id)
    check(editor, Permission.EDIT, run)
    t0 = time.perf_counter()
    for _ in range(20_000):
        check(editor, Permission.EDIT, run)
    check_us = (time.perf_counter() - t0) * 1e6 / 20_000
    out: dict[str, tuple[float, float]] = {}
    for name, make in cases.items():
        off, on = [], []
        for i in range(rounds):  # interleaved, alternating who goes first
            sides = [(off, open_, root), (on, governed, editor)]
            for samples, platform, actor in sides if i % 2 == 0 else sides[::-1]:
                samples.append(_timed(calls, make(platform, actor)))
        out[name] = (statistics.median(off), statistics.median(on))
    out["one role check (run, edit), µs"] = (0.0, check_us)
    governed.close()
    open_.close()
    return out


def half_visible_search(home: Path, runs: int, rounds: int) -> tuple[float, float, int, int]:
    settings = Settings(home=home, password_hash_memory_kib=1024, password_hash_time_cost=1)
    db = Database(settings.resolved_database_url(), settings)
    from clew.core import migrate

    migrate.upgrade(db)
    seed(db, runs)
    with db.write() as conn:  # half the runs in each experiment
        conn.execute(text("UPDATE executions SET context_id = 1 + (start_time / 1000) % 2"))
    db.dispose()
    open_, governed = _platforms(home)
    root, viewer = Actor("root"), Actor("half")
    open_.users.bootstrap_admin("root", PASSWORD)
    open_.users.create_user(root, "half", password=PASSWORD)
    open_.access.grant(root, "half", "viewer", "experiment", "1")
    filter_string, order_by = QUERY

    def search(platform: Platform, actor: Actor) -> tuple[float, int]:
        t0 = time.perf_counter()
        page = platform.tracking.search_runs(actor, None, filter_string, max_results=100,
                                             order_by=order_by)  # fmt: skip
        return (time.perf_counter() - t0) * 1000, len(page.items)

    search(governed, viewer)  # warm the caches both sides keep
    search(open_, root)
    mine, everyone = [], []
    for _ in range(rounds):
        mine.append(search(governed, viewer))
        everyone.append(search(open_, root))
    visible = governed.tracking.search_runs(viewer, None, "", max_results=50_000)
    allruns = open_.tracking.search_runs(root, None, "", max_results=50_000)
    governed.close()
    open_.close()
    return (statistics.median(t for t, _ in mine), statistics.median(t for t, _ in everyone),
            len(visible.items), len(allruns.items))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="clew-bench-authz-") as tmp:
        calls = per_call(Path(tmp) / "calls", args.calls, args.rounds)
        mine, everyone, visible, total = half_visible_search(Path(tmp) / "search", args.runs,
                                                             args.rounds)  # fmt: skip
    table = Table(title=f"Authorization overhead, in process, SQLite, median of {args.rounds}")
    for column in ("call", "auth off, ms", "roles on, ms", "on / off", "target"):
        table.add_column(column, justify="right")
    for name, (off, on) in calls.items():
        if not off:  # the check alone
            table.add_row(name, "", f"{on:.1f}", "", "")
            continue
        table.add_row(name, f"{off:.3f}", f"{on:.3f}", f"{on / off:.2f}", "≤ 1.15")
    console.print(table)
    search = Table(title=f"Filtered, ordered search, top 100, {total:,} runs")
    for column in ("caller", "sees", "ms", "target"):
        search.add_column(column, justify="right")
    search.add_row("viewer of one of two experiments", f"{visible:,}", f"{mine:.1f}", "< 100")
    search.add_row("admin (sees all)", f"{total:,}", f"{everyone:.1f}", "")
    console.print(search)


if __name__ == "__main__":
    main()
