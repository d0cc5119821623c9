"""The SQL of the UI's run views: distinct keys over experiments, counting a search's runs,
and reading many metric series in one ordered pass. Nothing else.

Distinct keys are a *loose index scan*: a recursive query hops from one key to the next
through the child table's ``(key, …)`` index (``min(key) WHERE key > previous``), one index
seek per distinct key, and keeps a key only if some run in scope has it (an ``EXISTS`` that
stops at the first such run). At 100,000 runs with ten params each that reads a few dozen
index entries where ``SELECT DISTINCT key`` over a join reads a million rows. The cost grows
with the number of distinct keys in the whole database, not with the number of runs; the
``limit`` bounds it for a caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.engine import Dialect

from clew.core import schema
from clew.core.prepared import Prepared, per_dialect, plain
from clew.tracking.search.hints import hashed

E, EP, ET, LM = (
    schema.executions,
    schema.execution_params,
    schema.execution_tags,
    schema.latest_metrics,
)
M, A, EV = schema.metrics, schema.artifacts, schema.events

KeyKind = Literal["metrics", "params", "tags", "datasets"]
_CHILD: dict[str, Table] = {"metrics": LM, "params": EP, "tags": ET}


def _in_scope(
    run_id: ColumnElement[Any], experiment_ids: Sequence[int] | None, stages: Sequence[str]
) -> list[ColumnElement[bool]]:
    conditions = [E.c.id == run_id, E.c.type == "run", E.c.lifecycle_stage.in_(list(stages))]
    if experiment_ids is not None:
        conditions.append(E.c.context_id.in_(list(experiment_ids)))
    return conditions


class RunViewStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def distinct_keys(
        self,
        kind: KeyKind,
        experiment_ids: Sequence[int] | None,
        stages: Sequence[str],
        limit: int,
    ) -> list[str]:
        """Up to ``limit`` distinct names, sorted, that runs in scope have for ``kind``."""
        if kind == "datasets":
            names = A.alias("names")
            step: Any = select(func.min(names.c.name)).where(names.c.type == "dataset")
            first = select(func.min(A.c.name).label("key")).where(A.c.type == "dataset")
        else:
            child = _CHILD[kind]
            names = child.alias("names")
            step = select(func.min(names.c.key))
            first = select(func.min(child.c.key).label("key"))
        walk = first.cte("walk", recursive=True)
        step = step.where(names.c[_name_column(kind)] > walk.c.key).scalar_subquery()
        walk = walk.union_all(select(step).where(walk.c.key.is_not(None)))
        query = (
            select(walk.c.key)
            .where(walk.c.key.is_not(None), _used(kind, walk.c.key, experiment_ids, stages))
            .order_by(walk.c.key)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def count(self, candidates: Select[Any]) -> int:
        """How many rows a search's candidate query (``compile.run_candidates``) yields."""
        statement = select(func.count()).select_from(candidates.subquery())
        with hashed(self.conn):
            return int(self.conn.execute(statement).scalar_one())

    def metric_points(
        self, run_ids: Sequence[str], keys: Sequence[str], *, by_time: bool
    ) -> Iterator[tuple[str, str, list[tuple[int, float | None]]]]:
        """Per run and key (in that order), ``(x, value)`` of every point of the series in x
        order: x is the step, or with ``by_time`` the timestamp; a NaN value comes as None.
        Series without points are left out.

        One query per series, two columns: its primary key ``(execution_id, key, step, …)``
        hands the rows over already sorted, and only one series is in memory at a time.
        Building Python objects is the cost of this read (the scan itself takes a tenth of it),
        so it asks for nothing the chart does not draw: the five columns of a run's points cost
        twice these two. The rows come as the driver's tuples (``core.prepared``)."""
        query = _series_statements(self.conn.dialect)[by_time]
        for run_id in run_ids:
            for key in keys:
                rows = list(plain(query(self.conn, {"run": run_id, "key": key})))
                if rows:
                    yield run_id, key, rows


@per_dialect
def _series_statements(dialect: Dialect) -> dict[bool, Prepared]:
    """One series' ``(x, value or NULL for NaN)`` in x order: by step (``False``) or by
    timestamp (``True``)."""
    value = case((M.c.is_nan == true(), null()), else_=M.c.value)
    one = (M.c.execution_id == bindparam("run"), M.c.key == bindparam("key"))
    by = {False: (M.c.step, M.c.timestamp), True: (M.c.timestamp, M.c.step)}
    return {
        by_time: Prepared(select(x, value).where(*one).order_by(x, then), dialect)
        for by_time, (x, then) in by.items()
    }


def _name_column(kind: KeyKind) -> str:
    return "name" if kind == "datasets" else "key"


def _used(
    kind: KeyKind,
    key: ColumnElement[Any],
    experiment_ids: Sequence[int] | None,
    stages: Sequence[str],
) -> ColumnElement[bool]:
    """Some run in scope has ``key`` (for datasets: read a dataset of that name)."""
    if kind == "datasets":
        used = (
            select(literal(1))
            .select_from(
                A.join(EV, EV.c.artifact_id == A.c.id).join(E, E.c.id == EV.c.execution_id)
            )
            .where(A.c.type == "dataset", A.c.name == key, EV.c.type == "INPUT")
            .where(*_in_scope(EV.c.execution_id, experiment_ids, stages))
        )
        return exists(used)
    child = _CHILD[kind].alias("used")
    used = (
        select(literal(1))
        .select_from(child.join(E, E.c.id == child.c.execution_id))
        .where(child.c.key == key, *_in_scope(child.c.execution_id, experiment_ids, stages))
    )
    return exists(used)
