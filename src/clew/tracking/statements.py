"""Tracking's hot-path statements, built once per dialect instead of once per call.

Building an ``INSERT … ON CONFLICT`` construct costs more than executing it on SQLite; a batch
of one metric spent most of its time here. The statements are immutable and bound by name, so
one set per dialect serves every connection.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from clew.core import schema
from clew.core.prepared import Prepared, PreparedIn, per_dialect

C = schema.contexts
E, EP, ET = schema.executions, schema.execution_params, schema.execution_tags
M, LM = schema.metrics, schema.latest_metrics
A, EV = schema.artifacts, schema.events
_IDS: Any = bindparam("ids", expanding=True)


@dataclass(frozen=True)
class Statements:
    experiment_stage: Any
    insert_run: Any
    run_by_id: Any
    runs_by_ids: Any
    params_of_runs: Any
    tags_of_runs: Any
    latest_of_runs: Any
    inputs_of_runs: Any
    outputs_of_runs: Any
    model_inputs_of_runs: Any
    params_by_keys: Any
    insert_params: Any
    upsert_run_tags: Any
    insert_metrics: Any
    upsert_latest: Any


#: The column order of a point row for the driver-SQL point statements (``Lookups``).
POINT_COLUMNS = ("execution_id", "key", "step", "timestamp", "value", "is_nan")


@functools.cache
def statements(dialect: str) -> Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tags = insert(ET)
    latest = insert(LM)
    ex = latest.excluded
    insert_metrics = insert(M).on_conflict_do_nothing()
    # Move a key's latest point only forward in (step, timestamp, value) order.
    upsert_latest = latest.on_conflict_do_update(
        index_elements=[LM.c.execution_id, LM.c.key],
        set_={"step": ex.step, "timestamp": ex.timestamp, "value": ex.value, "is_nan": ex.is_nan},
        where=tuple_(ex.step, ex.timestamp, ex.value)
        > tuple_(LM.c.step, LM.c.timestamp, LM.c.value),
    )
    return Statements(
        experiment_stage=select(C.c.lifecycle_stage).where(
            C.c.id == bindparam("experiment_id"), C.c.type == "experiment"
        ),
        insert_run=E.insert(),
        run_by_id=select(E).where(E.c.id == bindparam("run_id"), E.c.type == "run"),
        runs_by_ids=select(E).where(E.c.id.in_(_IDS), E.c.type == "run"),
        params_of_runs=select(EP.c.execution_id, EP.c.key, EP.c.value).where(
            EP.c.execution_id.in_(_IDS)
        ),
        tags_of_runs=select(ET.c.execution_id, ET.c.key, ET.c.value).where(
            ET.c.execution_id.in_(_IDS)
        ),
        latest_of_runs=select(
            LM.c.execution_id, LM.c.key, LM.c.step, LM.c.timestamp, LM.c.value, LM.c.is_nan
        ).where(LM.c.execution_id.in_(_IDS)),
        inputs_of_runs=select(
            EV.c.execution_id,
            EV.c.properties.label("event_props"),
            A.c.name,
            A.c.digest,
            A.c.properties,
        )
        .join(A, A.c.id == EV.c.artifact_id)
        .where(EV.c.execution_id.in_(_IDS), EV.c.type == "INPUT", A.c.type == "dataset")
        .order_by(EV.c.id),
        # Logged models a run read: INPUT edges to a model node (datasets are "dataset" nodes).
        model_inputs_of_runs=select(EV.c.execution_id, EV.c.properties)
        .join(A, A.c.id == EV.c.artifact_id)
        .where(EV.c.execution_id.in_(_IDS), EV.c.type == "INPUT", A.c.type == "model")
        .order_by(EV.c.id),
        # Declared outputs carry a step; the edge a model's creation draws from its source run
        # does not (registry/logged_store.py).
        outputs_of_runs=select(EV.c.execution_id, EV.c.properties)
        .where(
            EV.c.execution_id.in_(_IDS),
            EV.c.type == "OUTPUT",
            EV.c.properties.like('%"step":%'),
        )
        .order_by(EV.c.id),
        params_by_keys=select(EP.c.key, EP.c.value).where(
            EP.c.execution_id == bindparam("run_id"),
            EP.c.key.in_(bindparam("keys", expanding=True)),
        ),
        insert_params=insert(EP).on_conflict_do_nothing(),
        upsert_run_tags=tags.on_conflict_do_update(
            index_elements=[ET.c.execution_id, ET.c.key], set_={"value": tags.excluded.value}
        ),
        insert_metrics=insert_metrics,
        upsert_latest=upsert_latest,
    )


#: PostgreSQL: a batch's points and its keys' latest values in one statement, one round trip
#: where two ``executemany`` calls took two. Arrays instead of a ``VALUES`` list keep one SQL
#: text for every batch size, so psycopg prepares it once. The rows arrive in the order given
#: (``unnest`` keeps it), which is the writers' global lock order.
PG_WRITE_POINTS = """
WITH appended AS (
    INSERT INTO metrics (execution_id, key, step, timestamp, value, is_nan)
    SELECT %(run_id)s, * FROM unnest(
        %(keys)s::varchar[], %(steps)s::bigint[], %(timestamps)s::bigint[],
        %(values)s::float8[], %(nans)s::boolean[])
    ON CONFLICT DO NOTHING
)
INSERT INTO latest_metrics AS lm (execution_id, key, step, timestamp, value, is_nan)
SELECT %(run_id)s, * FROM unnest(
    %(latest_keys)s::varchar[], %(latest_steps)s::bigint[], %(latest_timestamps)s::bigint[],
    %(latest_values)s::float8[], %(latest_nans)s::boolean[])
ON CONFLICT (execution_id, key) DO UPDATE SET
    step = excluded.step, timestamp = excluded.timestamp,
    value = excluded.value, is_nan = excluded.is_nan
WHERE (excluded.step, excluded.timestamp, excluded.value) > (lm.step, lm.timestamp, lm.value)
"""


@dataclass(frozen=True)
class Lookups:
    """The two reads nearly every write starts with, and on SQLite the two per-point writes, as
    driver SQL (``core.prepared``).

    For a 100-point batch SQLAlchemy's per-row parameter processing cost more than SQLite's
    inserts themselves, so there the point statements take tuples in ``POINT_COLUMNS`` order.
    PostgreSQL keeps the compiled statements (``None`` here): their executemany becomes
    psycopg's multi-row VALUES batches.
    """

    experiment_stage: Prepared
    run_by_id: Prepared
    insert_points: Prepared | None
    upsert_latest_points: Prepared | None


def _points(statement: Any, dialect: Dialect) -> Prepared | None:
    if dialect.name != "sqlite":
        return None
    prepared = Prepared(statement, dialect)
    assert prepared.names == POINT_COLUMNS, prepared.names
    return prepared


@per_dialect
def lookups(dialect: Dialect) -> Lookups:
    sql = statements(dialect.name)
    return Lookups(
        experiment_stage=Prepared(sql.experiment_stage, dialect),
        run_by_id=Prepared(sql.run_by_id, dialect),
        insert_points=_points(sql.insert_metrics, dialect),
        upsert_latest_points=_points(sql.upsert_latest, dialect),
    )


@dataclass(frozen=True)
class RunPageReads:
    """The reads that turn a page of run ids into whole runs (a search's second half), with
    their ``IN`` lists compiled once per length (``core.prepared.PreparedIn``): a page of 100
    runs with 10 params and a few metrics each is ~2,000 rows.

    On PostgreSQL the run, param, tag and metric reads look each run up by itself
    (``per_item``): on tables never analysed, ``execution_id = ANY(<100 ids>)`` read the
    whole of each table (at 10,000 runs, ~38 ms of a 100-run page; ~1 ms per item). The event
    reads keep ``= ANY``: they need their order, and a run has few events.
    """

    runs_by_ids: PreparedIn
    params_of_runs: PreparedIn
    tags_of_runs: PreparedIn
    latest_of_runs: PreparedIn
    inputs_of_runs: PreparedIn
    outputs_of_runs: PreparedIn
    model_inputs_of_runs: PreparedIn


@per_dialect
def run_page_reads(dialect: Dialect) -> RunPageReads:
    sql = statements(dialect.name)
    return RunPageReads(
        runs_by_ids=PreparedIn(sql.runs_by_ids, dialect, per_item=True),
        params_of_runs=PreparedIn(sql.params_of_runs, dialect, per_item=True),
        tags_of_runs=PreparedIn(sql.tags_of_runs, dialect, per_item=True),
        latest_of_runs=PreparedIn(sql.latest_of_runs, dialect, per_item=True),
        inputs_of_runs=PreparedIn(sql.inputs_of_runs, dialect),
        outputs_of_runs=PreparedIn(sql.outputs_of_runs, dialect),
        model_inputs_of_runs=PreparedIn(sql.model_inputs_of_runs, dialect),
    )
