"""The UI's run views at 100,000 runs: distinct keys, a search's count, and a compare chart's
series, in process through ``TrackingService`` (SQL and downsampling, no HTTP).

Seeds the same store as ``search_at_scale.py`` (10 params, 5 latest metrics and a tag per
run, 5% in a second experiment, 2% deleted), plus a 10-run x 10,000-step history. Each view
runs beside the plain query it replaces, and the table prints both medians and their ratio:

- keys: the loose index scan (``views_store.distinct_keys``) against ``SELECT DISTINCT key``
  over the experiment's runs joined to each child table;
- count: ``count_runs`` against paging through ``search_runs`` (1,000 a page) to count;
- series: ``metric_series`` of 10 runs x 10,000 points down to 1,000 points a series, against
  reading the 10 full histories (``get_metric_history``) a client would otherwise download.

    .venv/bin/python bench/run_views_at_scale.py [--runs 100000] [--repeat 9] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from search_at_scale import seed, throwaway_database
from sqlalchemy import func, insert, select

from clew.core import migrate, schema
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.settings import Settings
from clew.tracking.service import TrackingService

E = schema.executions
STEPS = 10_000
CHART_RUNS = 10


def seed_history(db: Database) -> list[str]:
    """10,000 steps of ``loss`` for the first ten runs of experiment 1."""
    with db.write() as conn:
        ids = list(
            conn.execute(
                select(E.c.id).where(E.c.context_id == 1).order_by(E.c.id).limit(CHART_RUNS)
            ).scalars()
        )
        for n, run_id in enumerate(ids):
            rows = [
                {"execution_id": run_id, "key": "loss", "step": s, "timestamp": 1_000 * s,
                 "value": 1.0 / (s + 1) + n * 1e-3, "is_nan": False}
                for s in range(STEPS)
            ]  # fmt: skip
            for i in range(0, len(rows), 20_000):
                conn.execute(insert(schema.metrics), rows[i : i + 20_000])
    return ids


def distinct_join(db: Database) -> dict[str, list[str]]:
    """The plain query: every child row of the experiment's active runs, deduplicated."""
    out = {}
    with db.read() as conn:
        for kind, table in (
            ("metrics", schema.latest_metrics),
            ("params", schema.execution_params),
            ("tags", schema.execution_tags),
        ):
            query = (
                select(table.c.key)
                .distinct()
                .join(E, E.c.id == table.c.execution_id)
                .where(E.c.context_id == 1, E.c.lifecycle_stage == "active")
                .order_by(table.c.key)
            )
            out[kind] = list(conn.execute(query).scalars())
    return out


def count_by_paging(tracking: TrackingService, actor: Actor, flt: str) -> int:
    total, token = 0, None
    while True:
        page = tracking.search_runs(actor, ["1"], flt, max_results=1000, page_token=token)
        total += len(page.items)
        token = page.next_page_token
        if not token:
            return total


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--postgres", metavar="URL", help="seed a throwaway PostgreSQL database")
    parser.add_argument("--no-paging", action="store_true",
                        help="skip counting by paging search_runs (minutes on a never-analysed "
                             "PostgreSQL: each page's filtered walk)")  # fmt: skip
    args = parser.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="clew-views-"))
    with throwaway_database(args.postgres, home) as url:
        db = Database(url, Settings(home=home))
        try:
            migrate.upgrade(db)
            with console.status(f"Seeding {args.runs:,} runs"):
                seed(db, args.runs)
                chart = seed_history(db)
            run(console, db, args.runs, args.repeat, chart, paging=not args.no_paging)
        finally:
            db.dispose()


def run(
    console: Console, db: Database, runs: int, repeat: int, chart: list[str], *, paging: bool
) -> None:
    tracking, actor = TrackingService(db), Actor("bench")
    keys = tracking.run_keys(actor, ["1"])
    plain = distinct_join(db)
    assert (list(keys.metrics), list(keys.params), list(keys.tags)) == (
        plain["metrics"], plain["params"], plain["tags"],
    ), "the loose scan and the plain query disagree"  # fmt: skip
    flt = "params.lr = '0.01'"
    if paging:
        assert tracking.count_runs(actor, ["1"], flt) == count_by_paging(tracking, actor, flt)
    with db.read() as conn:
        in_scope = conn.execute(select(func.count()).where(E.c.context_id == 1)).scalar_one()

    def series() -> None:
        tracking.metric_series(actor, chart, ["loss"], 1000)

    def histories() -> None:
        for run_id in chart:
            tracking.get_metric_history(actor, run_id, "loss")

    rows = [
        ("keys of one experiment", lambda: tracking.run_keys(actor, ["1"]),
         lambda: distinct_join(db)),
        (f"count, {flt}", lambda: tracking.count_runs(actor, ["1"], flt),
         lambda: count_by_paging(tracking, actor, flt)),
        (f"{CHART_RUNS} x {STEPS:,} points to 1,000 a series", series, histories),
    ]  # fmt: skip
    where = "sqlite" if db.is_sqlite else "postgresql"
    table = Table(title=f"run views, {runs:,} runs ({in_scope:,} in the experiment), {where}, "
                        f"median of {repeat}")  # fmt: skip
    for column in ("view", "Clew", "plain query", "plain / Clew"):
        table.add_column(column)
    for name, ours, theirs in rows if paging else [rows[0], rows[2]]:
        a, b = median_ms(ours, repeat), median_ms(theirs, repeat)
        table.add_row(name, f"{a:.2f} ms", f"{b:.1f} ms", f"{b / a:.1f}x")
    console.print(table)
    if not paging:
        count = median_ms(lambda: tracking.count_runs(actor, ["1"], flt), repeat)
        console.print(f"count_runs, {flt}: {count:.1f} ms (median of {repeat})")


if __name__ == "__main__":
    main()
