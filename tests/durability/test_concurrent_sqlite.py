"""Concurrent writers: eight processes on one SQLite file, writers on one run on every backend,
and two processes migrating an empty database at the same moment.

Security reference §5 items 48 (no deadlock with differently ordered keys), 53 (migrations
run once) and 54 (no "database is locked" with eight SQLite writers), and §3.3's concurrency
test type: exact counts afterwards, and exactly one audit event per acknowledged call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from clew.core import migrate, schema
from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.settings import Settings
from clew.platform import Platform
from tests.conftest import PostgresDatabases, require
from tests.durability import checks
from tests.durability.harness import Barrier, Worker, run_together
from tests.durability.workers import BASE_TS

WORKERS = 8
OWNER = Actor("test")


def _no_errors(results: list[dict[str, Any]]) -> None:
    errors = [(r.get("run_id"), e) for r in results for e in r["errors"]]
    assert not errors, "\n\n".join(
        f"run {run}: {e['call']} raised {e['type']}: {e['message']}\n{e['traceback']}"
        for run, e in errors[:3]
    )


def _acked(results: list[dict[str, Any]], call: str) -> int:
    return sum(r["acked"].get(call, 0) for r in results)


def _worker_args(home: Path, url: str, **extra: Any) -> dict[str, Any]:
    return {"home": str(home), "database_url": url, **extra}


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_eight_processes_own_runs_sqlite(
    sqlite_url: str, clew_home: Path, workdir: Path, open_platform: Callable[..., Platform]
) -> None:
    """Each process creates its run and logs 100 batches x 25 points + params, tags, singles."""
    platform = open_platform(sqlite_url)
    experiment_id = platform.tracking.create_experiment(OWNER, "eight-writers")
    events_before = len(checks.audit_events(platform.db))
    batches, points, singles_every = 100, 25, 4
    results = run_together(
        "log",
        [
            _worker_args(
                clew_home,
                sqlite_url,
                experiment_id=experiment_id,
                batches=batches,
                points=points,
                singles_every=singles_every,
                seed=w,
                order="shuffle",
            )
            for w in range(WORKERS)
        ],
        workdir,
    )
    _no_errors(results)
    db = platform.db
    singles = len(range(0, batches, singles_every))
    last = batches - 1
    for r in results:
        run_id = r["run_id"]
        assert r["acked"] == {"create_run": 1, "log_batch": batches, "log_metric": singles}
        history = checks.metric_points(db, run_id)
        assert {k: len(v) for k, v in history.items()} == {
            **{f"m{j:03d}": batches for j in range(points)},
            "single": singles,
        }
        latest = checks.assert_latest_matches_history(db, run_id)
        for j in range(points):
            assert latest[f"m{j:03d}"] == (last, BASE_TS + last, last + j / 1000)
        assert checks.params(db, run_id) == {f"p{s}": str(s) for s in range(batches)}
        run_tags = checks.tags(db, run_id)
        assert {k: v for k, v in run_tags.items() if not k.startswith("mlflow.")} == {
            f"t{s}": str(s) for s in range(batches)
        }
    assert checks.count_rows(db, "metrics") == WORKERS * (batches * points + singles)

    events = checks.audit_events(db)
    assert checks.assert_audit_ok(db).checked == len(events)
    new = events[events_before:]
    assert len(new) == WORKERS * (1 + batches + singles)
    counts = checks.audit_counts(new)
    for r in results:
        assert counts[("run.create", r["run_id"])] == 1
        assert counts[("run.log", r["run_id"])] == batches + singles
    checks.assert_sqlite_intact(sqlite_url)


def _log_to_shared_runs(
    url: str,
    home: Path,
    workdir: Path,
    platform: Platform,
    *,
    writers: int,
    runs: int,
    batches: int,
    points: int,
    shared: int,
    singles_every: int,
    orders: tuple[str, ...],
) -> None:
    """``writers`` processes on ``runs`` runs: same metric/param/tag keys, in different orders.

    Writer w logs steps ``w*batches ..`` (so no point is a duplicate), per-batch param and tag
    keys of its own, and ``shared`` param keys (same value: idempotent) and tag keys (its name:
    last writer wins) that every writer on the run touches, in the order ``orders[w % n]``.
    """
    experiment_id = platform.tracking.create_experiment(OWNER, f"shared-{uuid.uuid4().hex[:6]}")
    run_ids = [platform.tracking.create_run(OWNER, experiment_id).info.run_id for _ in range(runs)]
    events_before = len(checks.audit_events(platform.db))
    results = run_together(
        "log",
        [
            _worker_args(
                home,
                url,
                run_id=run_ids[w % runs],
                batches=batches,
                points=points,
                offset=w * batches,
                prefix=f"w{w}_",
                shared_params=shared,
                shared_tags=shared,
                singles_every=singles_every,
                order=orders[w % len(orders)],
                seed=w,
            )
            for w in range(writers)
        ],
        workdir,
    )
    _no_errors(results)
    db = platform.db
    singles = len(range(0, batches, singles_every)) if singles_every else 0
    for r, run_id in enumerate(run_ids):
        mine = [w for w in range(writers) if w % runs == r]
        history = checks.metric_points(db, run_id)
        expected_counts = {f"m{j:03d}": batches * len(mine) for j in range(points)}
        if singles:
            expected_counts["single"] = singles * len(mine)
        assert {k: len(v) for k, v in history.items()} == expected_counts
        latest = checks.assert_latest_matches_history(db, run_id)
        top = max(mine) * batches + batches - 1
        for j in range(points):
            assert latest[f"m{j:03d}"] == (top, BASE_TS + top, top + j / 1000)
        expected_params = {f"shared_p{j:03d}": "same" for j in range(shared)}
        expected_tags: dict[str, str] = {}
        for w in mine:
            expected_params |= {
                f"w{w}_p{w * batches + b}": str(w * batches + b) for b in range(batches)
            }
            expected_tags |= {
                f"w{w}_t{w * batches + b}": str(w * batches + b) for b in range(batches)
            }
        assert checks.params(db, run_id) == expected_params
        run_tags = checks.tags(db, run_id)
        for j in range(shared):
            assert run_tags.pop(f"shared_t{j:03d}") in {f"w{w}" for w in mine}
        assert {k: v for k, v in run_tags.items() if not k.startswith("mlflow.")} == expected_tags

    events = checks.audit_events(db)
    assert checks.assert_audit_ok(db).checked == len(events)
    new = events[events_before:]
    assert len(new) == writers * (batches + singles)
    counts = checks.audit_counts(new)
    for r, run_id in enumerate(run_ids):
        mine = [w for w in range(writers) if w % runs == r]
        assert counts[("run.log", run_id)] == len(mine) * (batches + singles)
    assert {e.actor for e in new} == {f"w{w}" for w in range(writers)}


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_eight_processes_share_two_runs_sqlite(
    sqlite_url: str, clew_home: Path, workdir: Path, open_platform: Callable[..., Platform]
) -> None:
    platform = open_platform(sqlite_url)
    _log_to_shared_runs(
        sqlite_url,
        clew_home,
        workdir,
        platform,
        writers=WORKERS,
        runs=2,
        batches=50,
        points=25,
        shared=10,
        singles_every=4,
        orders=("forward", "reverse", "shuffle"),
    )
    checks.assert_sqlite_intact(sqlite_url)


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("writers", "batches", "points", "shared"),
    [
        # §5 item 48 as written: 2 writers x 5 batches x 500 metric keys, orders reversed.
        pytest.param(2, 5, 500, 0, id="item48-metrics"),
        # The same with 500 param and 500 tag keys per batch, also reversed (MLflow's log_batch).
        pytest.param(2, 5, 500, 500, id="item48-params-tags"),
        # Params and tags only: no shared metric key whose latest_metrics row lock would
        # serialize the two transactions before they reach the tags (set_tags-style batches).
        pytest.param(2, 10, 0, 200, id="params-tags-only"),
        # Eight writers, every key order, on a single run.
        pytest.param(WORKERS, 15, 25, 25, id="eight-writers"),
    ],
)
def test_writers_on_one_run_with_reversed_key_orders(
    database_url: str,
    clew_home: Path,
    workdir: Path,
    open_platform: Callable[..., Platform],
    writers: int,
    batches: int,
    points: int,
    shared: int,
) -> None:
    """No deadlock escapes as an error (retries, if any, are internal) and counts are exact."""
    platform = open_platform(database_url)
    _log_to_shared_runs(
        database_url,
        clew_home,
        workdir,
        platform,
        writers=writers,
        runs=1,
        batches=batches,
        points=points,
        shared=shared,
        singles_every=0,
        orders=("forward", "reverse", "shuffle"),
    )
    if platform.db.is_sqlite:
        checks.assert_sqlite_intact(database_url)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_renaming_a_run_two_ways_at_once(
    database_url: str, clew_home: Path, workdir: Path, open_platform: Callable[..., Platform]
) -> None:
    """``update_run(run_name=)`` and ``log_batch(tags={"mlflow.runName": …})`` on one run.

    Both write the run row and its ``mlflow.runName`` tag, so they must take those locks in
    the same order (or retry internally): a deadlock must not escape as an error, and the
    name and the tag must agree afterwards.
    """
    platform = open_platform(database_url)
    eid = platform.tracking.create_experiment(OWNER, "renames")
    run_id = platform.tracking.create_run(OWNER, eid).info.run_id
    events_before = len(checks.audit_events(platform.db))
    iterations = 100
    results = run_together(
        "rename",
        [
            _worker_args(clew_home, database_url, run_id=run_id, via=via, iterations=iterations)
            for via in ("update_run", "log_batch")
        ],
        workdir,
    )
    _no_errors(results)
    run = platform.tracking.get_run(OWNER, run_id)
    assert run.info.run_name == run.data.tags["mlflow.runName"]
    events = checks.audit_events(platform.db)
    assert checks.assert_audit_ok(platform.db).checked == len(events)
    assert len(events) - events_before == 2 * iterations


# ---- two processes migrating an empty database at the same moment (item 53) --------------------

ROUNDS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_urls(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> Any:
    """``ROUNDS`` databases with no tables at all (the shared fixture's are already migrated)."""
    if request.param == "sqlite":
        yield [f"sqlite:///{tmp_path / f'empty{r}.db'}" for r in range(ROUNDS)]
        return
    require(postgres_databases is not None, "PostgreSQL: set CLEW_TEST_POSTGRES_URL")
    assert postgres_databases is not None
    urls = []
    for _ in range(ROUNDS):
        name = f"clew_e_{uuid.uuid4().hex[:12]}"
        with postgres_databases.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        urls.append(postgres_databases.admin.url.set(database=name).render_as_string(False))
    yield urls
    for url in urls:
        postgres_databases.drop(url)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_processes_migrate_an_empty_database_once(
    empty_database_urls: list[str], clew_home: Path, workdir: Path
) -> None:
    """Per round: both succeed, exactly one applies the migration, both then write."""
    barrier = Barrier(workdir / "barrier")
    args = {"home": str(clew_home), "database_urls": empty_database_urls, **barrier.args}
    workers = [Worker("migrate", args, workdir, f"m{i}") for i in range(2)]
    try:
        for r in range(ROUNDS):
            rb = Barrier(barrier.directory, tag=f"r{r}")
            rb.wait_ready([w.name for w in workers], workers)
            rb.go()
        for w in workers:
            assert w.wait(90) == 0, w.output()
        outcomes = [w.result()["rounds"] for w in workers]
    finally:
        for w in workers:
            w.kill()
    head = migrate.head_revision()
    for r, url in enumerate(empty_database_urls):
        got = [o[r] for o in outcomes]
        errors = [o["error"] for o in got if "error" in o]
        assert not errors, f"round {r}:\n" + "\n".join(errors)
        assert sorted(o["applied"] for o in got) == [False, True], f"round {r}: {got}"
        db = Database(url, Settings(home=clew_home, database_url=url))
        try:
            with db.read() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
                    (head,)
                ]
                names = conn.execute(
                    select(schema.contexts.c.name).order_by(schema.contexts.c.name)
                ).scalars()
                assert list(names) == ["Default", "healthy-m0", "healthy-m1"]
            checks.assert_audit_ok(db)
        finally:
            db.dispose()
        if url.startswith("sqlite"):
            checks.assert_sqlite_intact(url)
