"""Concurrent writers on one model, as separate processes (separate engines and sessions), on a
SQLite file and on PostgreSQL (security.md §5 item 49, and §3.3's concurrency test type).

* Several processes move one alias at once: the alias ends where the last audit event says,
  every move has exactly one audit event, each event's ``previous`` is the version the event
  before it set (no lost update), and the hash chain verifies.
* Several processes create versions of one model at once: numbers 1..N exactly once.
"""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Any

import pytest

from clew.core import audit
from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.platform import Platform
from clew.registry.history import ALIAS_SET

WORKERS = 6
MOVES = 15
VERSIONS = 5
OWNER = Actor("owner")


def _worker(args: dict[str, Any], barrier: Any, errors: Any) -> None:
    settings = Settings(home=Path(args["home"]), database_url=args["url"])
    platform = Platform.open(settings, migrate=False)
    actor = Actor(f"w{args['seed']}")
    rng = random.Random(args["seed"])
    try:
        barrier.wait(timeout=60)
        for _ in range(args["moves"]):
            platform.registry.set_registered_model_alias(
                actor, "m", "champion", rng.randint(1, args["versions"])
            )
        for _ in range(args["creates"]):
            platform.registry.create_model_version(actor, "m", f"s3://bucket/{args['seed']}")
    except Exception as exc:  # reported to the parent, which fails the test with it
        errors.put(f"{type(exc).__name__}: {exc}")
    finally:
        platform.close()


def _run(url: str, home: Path, *, moves: int, creates: int, versions: int) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                {
                    "home": str(home),
                    "url": url,
                    "seed": seed,
                    "moves": moves,
                    "creates": creates,
                    "versions": versions,
                },
                barrier,
                errors,
            ),
        )
        for seed in range(WORKERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    stuck = [p for p in procs if p.is_alive()]
    for p in stuck:
        p.kill()
    assert not stuck, "a worker did not finish in 120 s"
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return found


@pytest.fixture
def shared(settings: Settings) -> Platform:
    platform = Platform.open(settings, migrate=False)
    platform.registry.create_registered_model(OWNER, "m")
    for i in range(4):
        platform.registry.create_model_version(OWNER, "m", f"s3://bucket/seed/{i}")
    yield platform  # type: ignore[misc]
    platform.close()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_concurrent_alias_moves_stay_consistent(
    shared: Platform, settings: Settings, database_url: str
) -> None:
    errors = _run(database_url, settings.home, moves=MOVES, creates=0, versions=4)
    assert errors == []
    with shared.db.read() as conn:
        events = [e for e in audit.iter_all(conn) if e.action == ALIAS_SET]
        chain = audit.verify(conn)
    assert chain.ok, chain.reason
    assert len(events) == WORKERS * MOVES
    previous = None
    for event in events:  # chain order: each move saw the one before it
        assert event.summary["previous"] == previous, event
        previous = event.summary["version"]
    held = shared.registry.get_model_version_by_alias(OWNER, "m", "champion").version
    assert held == events[-1].summary["version"]
    history = shared.registry.alias_history(OWNER, "m", "champion")
    assert [m.version for m in history.moves] == [e.summary["version"] for e in events]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_concurrent_version_creation_allocates_each_number_once(
    shared: Platform, settings: Settings, database_url: str
) -> None:
    errors = _run(database_url, settings.home, moves=0, creates=VERSIONS, versions=4)
    assert errors == []
    page = shared.registry.search_model_versions(OWNER, "name = 'm'", max_results=1000)
    numbers = sorted(v.version for v in page)
    assert numbers == list(range(1, 4 + WORKERS * VERSIONS + 1))
    with shared.db.read() as conn:
        assert audit.verify(conn).ok
