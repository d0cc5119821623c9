"""The rows every search test runs against, and small helpers to run a compiled search.

Rows go straight into the schema tables (no service), so these tests exercise the compiler
alone. Each test gets them on a fresh SQLite and PostgreSQL database (the ``db`` fixture).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select

from clew.core import schema
from clew.core.db import Database
from clew.tracking.model import ViewType
from clew.tracking.search import compile_experiment_search, compile_run_search
from clew.tracking.store import TrackingStore

NAN, INF = math.nan, math.inf


@dataclass
class R:
    """One seeded run; ``ds`` lists (dataset name, context) inputs."""

    id: str
    exp: int
    name: str
    start: int
    end: int | None = None
    status: str = "FINISHED"
    user: str = "ann"
    stage: str = "active"
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    ds: list[tuple[str, str]] = field(default_factory=list)


RUNS = [
    R("r01", 1, "Alpha", 1000, 2000, params={"lr": "0.1", "opt": "adam"},
      metrics={"acc": 0.9, "loss": 0.2}, tags={"stage": "dev"}, ds=[("iris", "training")]),
    R("r02", 1, "beta", 2000, 3000, status="FAILED", user="bob", params={"lr": "0.01"},
      metrics={"acc": 0.5, "loss": 0.4}, tags={"stage": "Prod"},
      ds=[("iris", "training"), ("wine", "evaluation")]),
    R("r03", 1, "gamma", 3000, None, status="RUNNING", params={"lr": "0.001", "pct": "50%"},
      metrics={"acc": NAN, "loss": 0.1}, tags={"stage": "dev"}, ds=[("wine", "training")]),
    R("r04", 1, "delta", 3000, 4000, user="cat", params={"pct": "500", "us": "a_b"},
      metrics={"loss": 0.3}),
    R("r05", 1, "epsilon", 5000, 6000, stage="deleted", params={"lr": "0.1"},
      metrics={"acc": 0.99}),
    R("r06", 2, "zeta", 6000, 7000, params={"lr": "0.1", "us": "axb", "q": "it's"},
      metrics={"acc": 0.7, "loss": -1.0}, tags={"stage": "prod"}, ds=[("iris", "evaluation")]),
    R("r07", 2, "eta", 7000, 8000, user="dan", params={"lr": "0.01"},
      metrics={"acc": 0.7, "loss": INF}, tags={"stage": "dev", "note": "O'Reilly"}),
    R("r08", 1, "theta", 500, 900, status="KILLED", user="eve", params={"lr": "0.1"},
      metrics={"acc": -INF, "loss": 0.0}),
    R("r09", 1, "iota", 8000, 9000, params={"lr": "0.0001", "opt": "sgd"},
      metrics={"acc": 0.0, "loss": NAN}, tags={"stage": "test"}),
    R("r10", 1, "kappa", 8000, None, status="RUNNING", params={"lr": "0.1"},
      metrics={"acc": 1.0}, tags={"stage": "dev"}),
    R("r11", 3, "lambda", 9000, 9500, params={"lr": "0.1"}, metrics={"acc": 0.3}),
    R("r12", 1, "Mu", 9500, 9900, params={"opt": "Adam"}, metrics={"acc": NAN}),
]  # fmt: skip
DATASETS = {"iris": (1, "d-iris"), "wine": (2, "d-wine")}
ACTIVE = [r for r in RUNS if r.stage == "active"]


def seed(db: Database) -> None:
    with db.write() as conn:
        conn.execute(
            insert(schema.contexts),
            [
                dict(id=i, type="experiment", name=name, lifecycle_stage=stage,
                     created_at=created, updated_at=updated)
                for i, name, stage, created, updated in [
                    (1, "alpha-exp", "active", 100, 900),
                    (2, "Beta-exp", "active", 200, 800),
                    (3, "gamma", "active", 300, 700),
                    (4, "old-exp", "deleted", 50, 950),
                    (5, "delta-exp", "active", 300, 600),
                ]
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.context_tags),
            [
                dict(context_id=1, key="team", value="ml"),
                dict(context_id=2, key="team", value="data"),
                dict(context_id=3, key="team", value="ML"),
                dict(context_id=4, key="team", value="ml"),
            ],
        )
        conn.execute(
            insert(schema.executions),
            [
                dict(id=r.id, type="run", context_id=r.exp, name=r.name, status=r.status,
                     user_id=r.user, start_time=r.start, end_time=r.end, lifecycle_stage=r.stage,
                     artifact_uri=f"file:///a/{r.id}")
                for r in RUNS
            ],
        )  # fmt: skip
        rows = [dict(execution_id=r.id, key=k, value=v) for r in RUNS for k, v in r.params.items()]
        conn.execute(insert(schema.execution_params), rows)
        rows = [dict(execution_id=r.id, key=k, value=v) for r in RUNS for k, v in r.tags.items()]
        conn.execute(insert(schema.execution_tags), rows)
        conn.execute(
            insert(schema.latest_metrics),
            [
                dict(execution_id=r.id, key=k, step=0, timestamp=r.start,
                     value=0.0 if math.isnan(v) else v, is_nan=math.isnan(v))
                for r in RUNS
                for k, v in r.metrics.items()
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.artifacts),
            [
                dict(id=i, type="dataset", name=name, uri="", digest=digest, properties="{}",
                     created_at=0, dedup_key=f"dataset:{name}:{digest}")
                for name, (i, digest) in DATASETS.items()
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.events),
            [
                dict(execution_id=r.id, artifact_id=DATASETS[name][0], type="INPUT", name=ctx,
                     properties="{}", time=r.start)
                for r in RUNS
                for name, ctx in r.ds
            ],
        )  # fmt: skip


IN_1_2 = {r.id for r in ACTIVE if r.exp in (1, 2)}


def run_ids(
    db: Database,
    filter_string: str = "",
    order_by: Sequence[str] = (),
    *,
    experiment_ids: Sequence[int] | None = (1, 2),
    view: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = 1000,
    page_token: str | None = None,
) -> tuple[list[str], str | None]:
    plan = compile_run_search(
        experiment_ids=None if experiment_ids is None else list(experiment_ids),
        filter_string=filter_string,
        order_by=list(order_by),
        view_type=view,
        max_results=max_results,
        page_token=page_token,
    )
    with db.read() as conn:
        rows = TrackingStore(conn).run_search(plan)
    assert len(rows) <= max_results + 1
    ids, token = plan.page(rows)
    return list(ids), token


def found(db: Database, filter_string: str, **kw: Any) -> set[str]:
    ids, token = run_ids(db, filter_string, **kw)
    assert token is None
    assert len(ids) == len(set(ids))
    return set(ids)


def all_pages(db: Database, size: int, page_token: str | None = None, **kw: Any) -> list[str]:
    """Walk every page from ``page_token``; fails on a loop rather than hanging."""
    seen: list[str] = []
    token = page_token
    for _ in range(len(RUNS) + 2):
        ids, token = run_ids(db, max_results=size, page_token=token, **kw)
        assert len(ids) <= size
        seen += ids
        if token is None:
            return seen
        assert ids, "a page token must not follow an empty page"
    raise AssertionError("paging did not terminate")


def count(db: Database, table: str) -> int:
    with db.read() as conn:
        t = schema.metadata.tables[table]
        return int(conn.execute(select(func.count()).select_from(t)).scalar_one())


def experiment_ids(
    db: Database,
    filter_string: str = "",
    order_by: Sequence[str] = (),
    *,
    view: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = 100,
    page_token: str | None = None,
) -> tuple[list[int], str | None]:
    plan = compile_experiment_search(
        filter_string=filter_string,
        order_by=list(order_by),
        view_type=view,
        max_results=max_results,
        page_token=page_token,
    )
    with db.read() as conn:
        return plan.page(TrackingStore(conn).run_search(plan))
