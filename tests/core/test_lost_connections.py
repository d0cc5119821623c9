"""A PostgreSQL connection the server dropped (a restart, an idle timeout, a failover).

The pool does not ping a connection before lending it (that was a round trip per request), so
a dropped one fails its first statement. That must not lose or duplicate a write: a use case
that retries conflicts reruns on a fresh connection, and anything else answers a retryable
``TemporarilyUnavailable`` (HTTP 503 with ``Retry-After``), never an internal error.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.errors import TemporarilyUnavailable
from clew.tracking.model import Metric
from clew.tracking.service import TrackingService
from tests.tracking.helpers import count

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _drop_pooled_connections(db: Database, database_url: str) -> int:
    """Terminate every backend of the test database, as a server restart would."""
    other = Database(database_url)
    try:
        with other.write() as conn:
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        other.dispose()
    return int(dropped)


ALICE = Actor("alice")


@pytest.fixture
def tracking(db: Database) -> TrackingService:
    return TrackingService(db)


@pytest.fixture
def run_id(tracking: TrackingService) -> str:
    run_id = tracking.create_run(ALICE).run_id
    tracking.log_metric(ALICE, run_id, "loss", 1.0, timestamp=1, step=0)  # pools a connection
    return run_id


def test_a_write_on_a_dropped_connection_reruns_once_on_a_fresh_one(
    tracking: TrackingService, run_id: str, database_url: str
) -> None:
    assert _drop_pooled_connections(tracking.db, database_url) >= 1

    tracking.log_batch(ALICE, run_id, metrics=[Metric("loss", 0.5, 2, 1)])

    assert tracking.get_metric_history(ALICE, run_id, "loss").values == [1.0, 0.5]
    assert count(tracking.db, "metrics") == 2


def test_a_read_on_a_dropped_connection_is_temporarily_unavailable_then_works(
    tracking: TrackingService, run_id: str, database_url: str
) -> None:
    assert _drop_pooled_connections(tracking.db, database_url) >= 1

    with pytest.raises(TemporarilyUnavailable) as lost, tracking.db.read() as conn:
        conn.execute(text("SELECT 1"))
    assert lost.value.details == {"reason": "disconnected", "retryable": True}
    assert tracking.get_run(ALICE, run_id).info.run_id == run_id  # the pool reconnected
