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

from clew.core import schema

E, EP, ET = schema.executions, schema.execution_params, schema.execution_tags
M, LM = schema.metrics, schema.latest_metrics


@dataclass(frozen=True)
class Statements:
    run_by_id: Any
    params_by_keys: Any
    insert_params: Any
    upsert_run_tags: Any
    insert_metrics: Any
    upsert_latest: Any


@functools.cache
def statements(dialect: str) -> Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tags = insert(ET)
    latest = insert(LM)
    ex = latest.excluded
    return Statements(
        run_by_id=select(E).where(E.c.id == bindparam("run_id"), E.c.type == "run"),
        params_by_keys=select(EP.c.key, EP.c.value).where(
            EP.c.execution_id == bindparam("run_id"),
            EP.c.key.in_(bindparam("keys", expanding=True)),
        ),
        insert_params=insert(EP).on_conflict_do_nothing(),
        upsert_run_tags=tags.on_conflict_do_update(
            index_elements=[ET.c.execution_id, ET.c.key], set_={"value": tags.excluded.value}
        ),
        insert_metrics=insert(M).on_conflict_do_nothing(),
        # Move a key's latest point only forward in (step, timestamp, value) order.
        upsert_latest=latest.on_conflict_do_update(
            index_elements=[LM.c.execution_id, LM.c.key],
            set_={
                "step": ex.step,
                "timestamp": ex.timestamp,
                "value": ex.value,
                "is_nan": ex.is_nan,
            },
            where=tuple_(ex.step, ex.timestamp, ex.value)
            > tuple_(LM.c.step, LM.c.timestamp, LM.c.value),
        ),
    )
