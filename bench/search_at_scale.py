"""Clew's run search at 100,000 runs, the issue's query, through ``TrackingService.search_runs``.

Populating 100,000 runs through any client takes long, so this seeds a fresh SQLite store
directly (rows shaped as the tracking store writes them: 10 params, 5 latest metrics, a few
tags per run, 5% in a second experiment, 2% deleted), then times searches in process: SQL plus
loading the page's runs, no HTTP. Clew only: MLflow's side of the search comparison is in
``tracking_vs_mlflow.py`` at 10,000 runs.

``--postgres URL`` seeds a throwaway database on that server instead (created from the URL's
server, dropped afterwards). Its tables are left unanalysed, as a fresh database is until
autovacuum gets to them (and always where autovacuum is off); ``--analyze`` runs ANALYZE after
the seeding.

    .venv/bin/python bench/search_at_scale.py [--runs 100000] [--repeat 9]
    .venv/bin/python bench/search_at_scale.py --runs 10000 --postgres postgresql://postgres@127.0.0.1:5432/postgres [--analyze]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, insert

from clew.core import migrate, schema
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.settings import Settings
from clew.tracking.service import TrackingService

QUERIES = {
    "filter + order by metric (the issue's)": (
        "params.lr = '0.01' AND metrics.acc > 0.5",
        ["metrics.acc DESC"],
    ),
    "order by a metric only": ("", ["metrics.f1 DESC"]),
    "metric + param filter, default order": ("metrics.acc > 0.9 AND params.lr = '0.01'", []),
    "tag OR metric": ("tags.team = 'nlp' OR metrics.loss < 0.1", []),
    "a rare param, default order": ("params.p9 = '7'", []),
    "no filter": ("", []),
}


def seed(db: Database, runs: int) -> None:
    rng = random.Random(7)
    with db.write() as conn:
        conn.execute(
            insert(schema.contexts),
            [
                {
                    "id": 1,
                    "type": "experiment",
                    "name": "bench",
                    "lifecycle_stage": "active",
                    "created_at": 0,
                    "updated_at": 0,
                },
                {
                    "id": 2,
                    "type": "experiment",
                    "name": "other",
                    "lifecycle_stage": "active",
                    "created_at": 0,
                    "updated_at": 0,
                },
            ],
        )
        rows, params, tags, latest = [], [], [], []
        for i in range(runs):
            rid = uuid.UUID(int=rng.getrandbits(128)).hex
            start = 1_700_000_000_000 + i * 1000
            rows.append(
                {
                    "id": rid,
                    "type": "run",
                    "context_id": 1 if i % 20 else 2,
                    "name": f"run-{i}",
                    "status": "FINISHED",
                    "user_id": "bench",
                    "start_time": start,
                    "end_time": start + 5000,
                    "lifecycle_stage": "deleted" if i % 50 == 0 else "active",
                    "deleted_at": None,
                    "parent_id": None,
                    "artifact_uri": "",
                }
            )
            params.append(
                {
                    "execution_id": rid,
                    "key": "lr",
                    "value": rng.choice(["0.1", "0.01", "0.001", "0.0001"]),
                }
            )
            params += [
                {"execution_id": rid, "key": f"p{k}", "value": str(rng.randint(0, 3**k))}
                for k in range(1, 10)
            ]
            tags.append(
                {
                    "execution_id": rid,
                    "key": "team",
                    "value": rng.choice(["vision", "nlp", "tabular"]),
                }
            )
            latest += [
                {
                    "execution_id": rid,
                    "key": k,
                    "step": 10,
                    "timestamp": start,
                    "value": rng.random(),
                    "is_nan": False,
                }
                for k in ("acc", "loss", "f1", "precision", "recall")
            ]
        for table, data in (
            (schema.executions, rows),
            (schema.execution_params, params),
            (schema.execution_tags, tags),
            (schema.latest_metrics, latest),
        ):
            for i in range(0, len(data), 20_000):
                conn.execute(insert(table), data[i : i + 20_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--postgres", metavar="URL", help="seed a throwaway PostgreSQL database")
    parser.add_argument("--analyze", action="store_true", help="PostgreSQL: ANALYZE after seeding")
    args = parser.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="clew-search-"))
    with throwaway_database(args.postgres, home) as url:
        db = Database(url, Settings(home=home))
        migrate.upgrade(db)
        with console.status(f"Seeding {args.runs:,} runs"):
            seed(db, args.runs)
        if args.analyze and not db.is_sqlite:
            with db.write() as conn:
                conn.exec_driver_sql("ANALYZE")
        try:
            run_queries(console, db, args.runs, args.repeat, analysed=args.analyze)
        finally:
            db.dispose()


@contextmanager
def throwaway_database(postgres: str | None, home: Path) -> Iterator[str]:
    """The database URL to seed: a SQLite file in ``home``, or a new PostgreSQL database."""
    if postgres is None:
        yield f"sqlite:///{home / 'clew.db'}"
        return
    admin = create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    name = f"clew_search_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run_queries(console: Console, db: Database, runs: int, repeat: int, *, analysed: bool) -> None:
    tracking, actor = TrackingService(db), Actor("bench")
    where = "sqlite" if db.is_sqlite else f"postgresql, {'' if analysed else 'never '}analysed"
    table = Table(title=f"search_runs over {runs:,} runs, {where}, top 100 (median of {repeat})")
    for column in ("query", "page 1", "page 2"):
        table.add_column(column)
    for name, (flt, order) in QUERIES.items():
        times, page2 = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            page = tracking.search_runs(actor, ["1"], flt, max_results=100, order_by=order)
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            tracking.search_runs(
                actor, ["1"], flt, max_results=100, order_by=order, page_token=page.next_page_token
            )
            page2.append(time.perf_counter() - t)
        table.add_row(
            name,
            f"{statistics.median(times) * 1000:.1f} ms",
            f"{statistics.median(page2) * 1000:.1f} ms",
        )
    console.print(table)


if __name__ == "__main__":
    main()
