"""The SQL of logged models, and nothing else: the model row, its graph node and OUTPUT event,
params, tags and metrics.

One instance wraps one connection inside the caller's transaction. Hot statements are built
once per dialect (``_statements``), as tracking's are. Row writes go in sorted key order, one
global lock order for concurrent PostgreSQL writers on the same model.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from clew.core import schema
from clew.registry.logged_model import (
    LoggedModel,
    LoggedModelMetric,
    latest_of_series,
)
from clew.tracking.search.plan import SearchPlan

LM, LP, LT = schema.logged_models, schema.logged_model_params, schema.logged_model_tags
LMM, LLM = schema.logged_model_metrics, schema.logged_model_latest_metrics
A, EV = schema.artifacts, schema.events

MODEL = "model"
ACTIVE = "active"
_IN_CHUNK = 900
_IDS: Any = bindparam("ids", expanding=True)


@dataclass(frozen=True)
class _Statements:
    insert_node: Any
    insert_event: Any
    insert_model: Any
    model_by_id: Any
    model_by_id_locked: Any
    touch: Any
    models_by_ids: Any
    params_of: Any
    tags_of: Any
    latest_of: Any
    params_by_keys: Any
    insert_params: Any
    upsert_tags: Any
    insert_metrics: Any
    upsert_latest: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tags = insert(LT)
    latest = insert(LLM)
    ex = latest.excluded
    by_id = select(LM).where(LM.c.id == bindparam("model_id"))
    return _Statements(
        insert_node=A.insert(),
        insert_event=insert(EV).on_conflict_do_nothing(),
        insert_model=LM.insert(),
        model_by_id=by_id,
        # PostgreSQL: a status change reads the row it decides on under a lock, so two
        # finalizations cannot both see PENDING. SQLite's write lock already serializes them.
        model_by_id_locked=by_id.with_for_update() if dialect == "postgresql" else by_id,
        touch=update(LM)
        .where(LM.c.id == bindparam("b_model_id"))
        .values(updated_at=bindparam("b_now")),
        models_by_ids=select(LM).where(LM.c.id.in_(_IDS)),
        params_of=select(LP.c.model_id, LP.c.key, LP.c.value).where(LP.c.model_id.in_(_IDS)),
        tags_of=select(LT.c.model_id, LT.c.key, LT.c.value).where(LT.c.model_id.in_(_IDS)),
        latest_of=select(LLM)
        .where(LLM.c.model_id.in_(_IDS))
        .order_by(LLM.c.model_id, LLM.c.key, LLM.c.dataset_name, LLM.c.dataset_digest),
        params_by_keys=select(LP.c.key, LP.c.value).where(
            LP.c.model_id == bindparam("model_id"),
            LP.c.key.in_(bindparam("keys", expanding=True)),
        ),
        insert_params=insert(LP).on_conflict_do_nothing(),
        upsert_tags=tags.on_conflict_do_update(
            index_elements=[LT.c.model_id, LT.c.key], set_={"value": tags.excluded.value}
        ),
        insert_metrics=insert(LMM).on_conflict_do_nothing(),
        # A series' latest point only moves forward in (step, timestamp, value) order.
        upsert_latest=latest.on_conflict_do_update(
            index_elements=[LLM.c.model_id, LLM.c.key, LLM.c.dataset_name, LLM.c.dataset_digest],
            set_={
                "step": ex.step,
                "timestamp": ex.timestamp,
                "value": ex.value,
                "is_nan": ex.is_nan,
                "run_id": ex.run_id,
            },
            where=tuple_(ex.step, ex.timestamp, ex.value)
            > tuple_(LLM.c.step, LLM.c.timestamp, LLM.c.value),
        ),
    )


def _metric_row(model_id: str, p: LoggedModelMetric) -> dict[str, Any]:
    nan = math.isnan(p.value)
    return {
        "model_id": model_id,
        "key": p.key,
        "dataset_name": p.dataset_name or "",
        "dataset_digest": p.dataset_digest or "",
        "step": p.step,
        "timestamp": p.timestamp,
        "value": 0.0 if nan else p.value,
        "is_nan": nan,
        "run_id": p.run_id or "",
    }


def _series_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        row["key"],
        row["dataset_name"],
        row["dataset_digest"],
        row["step"],
        row["timestamp"],
        row["value"],
        row["is_nan"],
    )


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


class LoggedModelStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._sql = _statements(conn.dialect.name)

    # ---- the model and its graph node ----------------------------------------------------------

    def insert_node(self, model_id: str, name: str, uri: str, model_type: str, now: int) -> int:
        """The model's ``artifacts`` row (type "model"): what lineage and the registry point at."""
        props = orjson.dumps({"logged_model_id": model_id, "model_type": model_type}).decode()
        result = self.conn.execute(
            self._sql.insert_node,
            {
                "type": MODEL,
                "name": name,
                "uri": uri,
                "digest": "",
                "properties": props,
                "created_at": now,
                "dedup_key": f"logged_model:{model_id}",
            },
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def insert_output_event(
        self,
        run_id: str,
        artifact_id: int,
        name: str,
        model_id: str,
        now: int,
        step: int | None = None,
    ) -> None:
        """The run wrote the model: the edge lineage walks from the model to the run. ``step``
        is the training step MLflow 3 records for a run output. An edge that exists already
        stays as it is (one per run, model and name)."""
        properties: dict[str, Any] = {"logged_model_id": model_id}
        if step is not None:
            properties["step"] = step
        self._insert_event(run_id, artifact_id, "OUTPUT", name, properties, now)

    def _insert_event(
        self,
        run_id: str,
        artifact_id: int,
        kind: str,
        name: str,
        properties: dict[str, Any],
        now: int,
    ) -> None:
        self.conn.execute(
            self._sql.insert_event,
            {
                "execution_id": run_id,
                "artifact_id": artifact_id,
                "type": kind,
                "name": name,
                "properties": orjson.dumps(properties).decode(),
                "time": now,
            },
        )

    def link_input(self, run_id: str, artifact_id: int, name: str, model_id: str, now: int) -> None:
        """The run read the model (an evaluation, say): an INPUT edge, once per run and model."""
        self._insert_event(run_id, artifact_id, "INPUT", name, {"logged_model_id": model_id}, now)

    def link_output(
        self, run_id: str, artifact_id: int, name: str, model_id: str, now: int, step: int
    ) -> None:
        """The run declares the model its output at ``step``: the OUTPUT edge gets the step
        (what ``runs/get`` lists as the run's model outputs). The edge the model's creation
        drew from its source run gains the step; an edge that has one keeps it, so a retried
        call changes nothing."""
        key = (EV.c.execution_id == run_id, EV.c.artifact_id == artifact_id,
               EV.c.type == "OUTPUT", EV.c.name == name)  # fmt: skip
        found = self.conn.execute(select(EV.c.id, EV.c.properties).where(*key)).first()
        if found is None:
            self.insert_output_event(run_id, artifact_id, name, model_id, now, step)
            return
        properties = orjson.loads(found.properties)
        if "step" not in properties:
            properties.update(logged_model_id=model_id, step=step)
            self.conn.execute(
                update(EV)
                .where(EV.c.id == found.id)
                .values(properties=orjson.dumps(properties).decode())
            )

    def set_node_digest(self, artifact_id: int, digest: str) -> None:
        self.conn.execute(update(A).where(A.c.id == artifact_id).values(digest=digest))

    def insert_model(self, values: Mapping[str, Any]) -> None:
        self.conn.execute(self._sql.insert_model, dict(values))

    def row(self, model_id: str, *, lock: bool = False) -> Any:
        """The model's row, or None; ``lock`` holds it for the rest of the transaction."""
        statement = self._sql.model_by_id_locked if lock else self._sql.model_by_id
        return self.conn.execute(statement, {"model_id": model_id}).first()

    def touch(self, model_id: str, now: int) -> None:
        """Move ``last_updated_timestamp``; also takes the row's lock first (one lock order)."""
        self.conn.execute(self._sql.touch, {"b_model_id": model_id, "b_now": now})

    def update_model(self, model_id: str, **values: Any) -> None:
        self.conn.execute(update(LM).where(LM.c.id == model_id).values(**values))

    def get_models(self, model_ids: Sequence[str]) -> list[LoggedModel]:
        """Whole models (row, tags, params, latest metrics) in four queries, in ``model_ids``
        order; ids that do not exist, or name a deleted model, are left out."""
        rows: dict[str, Any] = {}
        params: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        metrics: dict[str, list[LoggedModelMetric]] = defaultdict(list)
        for chunk in _chunks(list(model_ids)):
            bound = {"ids": list(chunk)}
            rows.update(
                (r.id, r)
                for r in self.conn.execute(self._sql.models_by_ids, bound)
                if r.lifecycle_stage == ACTIVE
            )
            for mid, key, value in self.conn.execute(self._sql.params_of, bound):
                params[mid][key] = value
            for mid, key, value in self.conn.execute(self._sql.tags_of, bound):
                tags[mid][key] = value
            for r in self.conn.execute(self._sql.latest_of, bound):
                metrics[r.model_id].append(
                    LoggedModelMetric(
                        key=r.key,
                        value=math.nan if r.is_nan else r.value,
                        timestamp=r.timestamp,
                        step=r.step,
                        run_id=r.run_id or None,
                        dataset_name=r.dataset_name or None,
                        dataset_digest=r.dataset_digest or None,
                    )
                )
        return [to_model(rows[i], tags[i], params[i], metrics[i]) for i in model_ids if i in rows]

    # ---- params, tags, metrics -----------------------------------------------------------------

    def get_params(self, model_id: str, keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(keys)):
            bound = {"model_id": model_id, "keys": list(chunk)}
            out.update((k, v) for k, v in self.conn.execute(self._sql.params_by_keys, bound))
        return out

    def insert_params(self, model_id: str, params: Mapping[str, str]) -> None:
        if params:
            self.conn.execute(
                self._sql.insert_params,
                [{"model_id": model_id, "key": k, "value": v} for k, v in sorted(params.items())],
            )

    def set_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        if tags:
            self.conn.execute(
                self._sql.upsert_tags,
                [{"model_id": model_id, "key": k, "value": v} for k, v in sorted(tags.items())],
            )

    def delete_tag(self, model_id: str, key: str) -> int:
        return int(
            self.conn.execute(delete(LT).where(LT.c.model_id == model_id, LT.c.key == key)).rowcount
        )

    def insert_metrics(self, model_id: str, points: Sequence[LoggedModelMetric]) -> None:
        """Append points (exact repeats are ignored) and move each series' latest point."""
        if not points:
            return
        rows = sorted((_metric_row(model_id, p) for p in points), key=_series_order)
        self.conn.execute(self._sql.insert_metrics, rows)
        latest = latest_of_series(points)
        self.conn.execute(
            self._sql.upsert_latest, [_metric_row(model_id, latest[s]) for s in sorted(latest)]
        )

    # ---- search --------------------------------------------------------------------------------

    def run_search(self, plan: SearchPlan) -> list[Any]:
        return list(self.conn.execute(plan.statement).all())


def to_model(
    row: Any,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    metrics: Sequence[LoggedModelMetric] = (),
) -> LoggedModel:
    """The one row-to-domain conversion."""
    return LoggedModel(
        model_id=row.id,
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        creation_timestamp=row.created_at,
        last_updated_timestamp=row.updated_at,
        status=row.status,
        status_message=row.status_message,
        model_type=row.model_type,
        source_run_id=row.source_run_id,
        user_id=row.user_id,
        tags=dict(tags or {}),
        params=dict(params or {}),
        metrics=tuple(metrics),
    )
