"""The SQL of tracking, and nothing else: experiments (contexts), runs (executions), params,
metrics, tags and dataset inputs (artifacts + INPUT events).

One instance wraps one connection inside the caller's transaction. Bulk paths use executemany
with ``ON CONFLICT`` so that a retried batch is a no-op rather than an error.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from clew.core import schema
from clew.core.errors import NotFound
from clew.core.ids import now_ms
from clew.core.prepared import plain
from clew.tracking.model import (
    Dataset,
    DatasetInput,
    DatasetSummary,
    Experiment,
    LifecycleStage,
    Metric,
    MetricHistory,
    ModelInput,
    ModelOutput,
    Run,
    RunData,
    RunInfo,
    latest_points,
)
from clew.tracking.search.hints import planner_has_statistics, presorted
from clew.tracking.search.plan import SearchPlan
from clew.tracking.statements import PG_WRITE_POINTS, lookups, run_page_reads, statements

EXPERIMENT = "experiment"
RUN = "run"
DATASET = "dataset"

C, CT = schema.contexts, schema.context_tags
E, EP, ET = schema.executions, schema.execution_params, schema.execution_tags
M, LM = schema.metrics, schema.latest_metrics
A, EV = schema.artifacts, schema.events

# Stay under SQLite's 32,766 bound-parameter limit per statement.
_IN_CHUNK = 900


def _run_info(r: Any) -> RunInfo:
    return RunInfo(
        run_id=r.id,
        experiment_id=str(r.context_id),
        run_name=r.name,
        user_id=r.user_id,
        status=r.status,
        start_time=r.start_time,
        end_time=r.end_time,
        artifact_uri=r.artifact_uri,
        lifecycle_stage=r.lifecycle_stage,
        parent_run_id=r.parent_id,
    )


def _metric_tuple(run_id: str, p: Metric) -> tuple[str, str, int, int, float, bool]:
    """A point as a row in ``POINT_COLUMNS`` order. NaN is stored as 0 with ``is_nan`` set:
    SQLite turns a NaN REAL into NULL."""
    nan = math.isnan(p.value)
    return (run_id, p.key, p.step, p.timestamp, 0.0 if nan else p.value, nan)


def _point_arrays(rows: Sequence[tuple[Any, ...]], prefix: str = "") -> dict[str, Any]:
    """``_metric_tuple`` rows as the column arrays ``PG_WRITE_POINTS`` binds (one run)."""
    _, keys, steps, timestamps, values, nans = zip(*rows, strict=True)
    return {
        "run_id": rows[0][0],
        f"{prefix}keys": list(keys),
        f"{prefix}steps": list(steps),
        f"{prefix}timestamps": list(timestamps),
        f"{prefix}values": list(values),
        f"{prefix}nans": list(nans),
    }


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class TrackingStore:
    """Row writes go in one global order (sorted keys) so concurrent PostgreSQL writers on the
    same run cannot lock rows in opposite orders and deadlock."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        self._sql = statements(conn.dialect.name)
        self._lookups = lookups(conn.dialect)
        self._page = run_page_reads(conn.dialect)

    # ---- experiments -------------------------------------------------------------------------

    def insert_experiment(self, name: str, artifact_location: str | None, now: int) -> int:
        result = self.conn.execute(
            C.insert().values(
                type=EXPERIMENT,
                name=name,
                lifecycle_stage=LifecycleStage.ACTIVE,
                artifact_location=artifact_location,
                created_at=now,
                updated_at=now,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def experiment_id_by_name(self, name: str) -> int | None:
        return self.conn.execute(
            select(C.c.id).where(C.c.type == EXPERIMENT, C.c.name == name)
        ).scalar_one_or_none()

    def get_experiments(self, ids: Sequence[int]) -> dict[int, Experiment]:
        rows: list[Any] = []
        for chunk in _chunks(list(ids)):
            rows += self.conn.execute(
                select(C).where(C.c.type == EXPERIMENT, C.c.id.in_(chunk))
            ).all()
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for chunk in _chunks([r.id for r in rows]):
            for t in self.conn.execute(select(CT).where(CT.c.context_id.in_(chunk))):
                tags[t.context_id][t.key] = t.value
        return {
            r.id: Experiment(
                experiment_id=str(r.id),
                name=r.name,
                artifact_location=r.artifact_location or "",
                lifecycle_stage=r.lifecycle_stage,
                creation_time=r.created_at,
                last_update_time=r.updated_at,
                tags=tags[r.id],
            )
            for r in rows
        }

    def get_experiment(self, experiment_id: int) -> Experiment:
        found = self.get_experiments([experiment_id]).get(experiment_id)
        if found is None:
            raise NotFound(f"Experiment {experiment_id} does not exist")
        return found

    def experiment_stage(self, experiment_id: int) -> str:
        """Just the lifecycle stage: the check every run creation makes."""
        stage = self._lookups.experiment_stage(
            self.conn, {"experiment_id": experiment_id}
        ).scalar_one_or_none()
        if stage is None:
            raise NotFound(f"Experiment {experiment_id} does not exist")
        return str(stage)

    def update_experiment(self, experiment_id: int, **values: Any) -> None:
        self.conn.execute(
            update(C).where(C.c.id == experiment_id).values(updated_at=now_ms(), **values)
        )

    def set_experiment_tags(self, experiment_id: int, tags: Mapping[str, str]) -> None:
        if not tags:
            return
        stmt = self._insert(CT)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CT.c.context_id, CT.c.key], set_={"value": stmt.excluded.value}
        )
        self.conn.execute(
            stmt,
            [{"context_id": experiment_id, "key": k, "value": v} for k, v in sorted(tags.items())],
        )

    def delete_experiment_tag(self, experiment_id: int, key: str) -> int:
        return self.conn.execute(
            delete(CT).where(CT.c.context_id == experiment_id, CT.c.key == key)
        ).rowcount

    # ---- runs ----------------------------------------------------------------------------------

    def insert_run(self, info: RunInfo) -> None:
        self.conn.execute(
            self._sql.insert_run,
            {
                "id": info.run_id,
                "type": RUN,
                "context_id": int(info.experiment_id),
                "name": info.run_name,
                "status": info.status,
                "user_id": info.user_id,
                "start_time": info.start_time,
                "end_time": info.end_time,
                "lifecycle_stage": info.lifecycle_stage,
                "deleted_at": None,
                "parent_id": info.parent_run_id,
                "artifact_uri": info.artifact_uri,
            },
        )

    def get_run_infos(self, run_ids: Sequence[str]) -> dict[str, RunInfo]:
        out: dict[str, RunInfo] = {}
        for chunk in _chunks(list(run_ids)):
            for r in self._page.runs_by_ids(self.conn, chunk):
                out[r.id] = _run_info(r)
        return out

    def get_run_info(self, run_id: str) -> RunInfo:
        row = self._lookups.run_by_id(self.conn, {"run_id": run_id}).first()
        if row is None:
            raise NotFound(f"Run {run_id} does not exist")
        return _run_info(row)

    def update_run(self, run_id: str, **values: Any) -> None:
        self.conn.execute(update(E).where(E.c.id == run_id).values(**values))

    def child_run_ids(self, run_id: str) -> list[str]:
        return list(self.conn.execute(select(E.c.id).where(E.c.parent_id == run_id)).scalars())

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Whole runs (info, params, latest metrics, tags, inputs) in a handful of queries."""
        infos = self.get_run_infos(run_ids)
        ids = [i for i in run_ids if i in infos]
        params: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        metrics: dict[str, dict[str, Metric]] = defaultdict(dict)
        page = self._page
        for chunk in _chunks(ids):
            for eid, key, value in plain(page.params_of_runs(self.conn, chunk)):
                params[eid][key] = value
            for eid, key, value in plain(page.tags_of_runs(self.conn, chunk)):
                tags[eid][key] = value
            for eid, key, step, ts, value, is_nan in plain(page.latest_of_runs(self.conn, chunk)):
                metrics[eid][key] = Metric(key, math.nan if is_nan else value, ts, step)
        inputs = self.dataset_inputs(ids)
        outputs = self.model_outputs(ids)
        read = self.model_inputs(ids)
        return [
            Run(
                info=infos[i],
                data=RunData(params=params[i], metrics=metrics[i], tags=tags[i]),
                inputs=tuple(inputs.get(i, ())),
                outputs=tuple(outputs.get(i, ())),
                model_inputs=tuple(read.get(i, ())),
            )
            for i in ids
        ]

    # ---- params, tags, metrics ------------------------------------------------------------------

    def get_params(self, run_id: str, keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(keys)):
            rows = self.conn.execute(self._sql.params_by_keys, {"run_id": run_id, "keys": chunk})
            out.update((key, value) for key, value in rows)
        return out

    def insert_params(self, run_id: str, params: Mapping[str, str]) -> None:
        if params:
            self.conn.execute(
                self._sql.insert_params,
                [{"execution_id": run_id, "key": k, "value": v} for k, v in sorted(params.items())],
            )

    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        if tags:
            self.conn.execute(
                self._sql.upsert_run_tags,
                [{"execution_id": run_id, "key": k, "value": v} for k, v in sorted(tags.items())],
            )

    def delete_run_tag(self, run_id: str, key: str) -> int:
        return self.conn.execute(
            delete(ET).where(ET.c.execution_id == run_id, ET.c.key == key)
        ).rowcount

    def insert_metrics(self, run_id: str, points: Sequence[Metric]) -> None:
        """Append points (exact repeats are ignored) and move each key's latest value forward."""
        if not points:
            return
        # Rows in key order, one latest row per key in key order: a global lock order for
        # concurrent writers.
        latest = latest_points(points)
        rows = sorted(_metric_tuple(run_id, p) for p in points)
        latest_rows = [_metric_tuple(run_id, latest[k]) for k in sorted(latest)]
        fast = self._lookups
        if fast.insert_points is not None and fast.upsert_latest_points is not None:
            fast.insert_points.many(self.conn, rows)
            fast.upsert_latest_points.many(self.conn, latest_rows)
            return
        self.conn.exec_driver_sql(
            PG_WRITE_POINTS, {**_point_arrays(rows), **_point_arrays(latest_rows, "latest_")}
        )

    def metric_history(
        self, run_id: str, key: str, *, start_step: int | None = None, end_step: int | None = None
    ) -> MetricHistory:
        q = (
            select(M.c.step, M.c.timestamp, M.c.value, M.c.is_nan)
            .where(M.c.execution_id == run_id, M.c.key == key)
            .order_by(M.c.step, M.c.timestamp)
        )
        if start_step is not None:
            q = q.where(M.c.step >= start_step)
        if end_step is not None:
            q = q.where(M.c.step <= end_step)
        rows = self.conn.execute(q).all()
        if any(r[3] for r in rows):
            values = [math.nan if r[3] else r[2] for r in rows]
        else:
            values = [r[2] for r in rows]
        return MetricHistory(
            key=key,
            steps=[r[0] for r in rows],
            timestamps=[r[1] for r in rows],
            values=values,
        )

    def metric_keys(self, run_id: str) -> list[str]:
        return list(
            self.conn.execute(
                select(LM.c.key).where(LM.c.execution_id == run_id).order_by(LM.c.key)
            ).scalars()
        )

    # ---- datasets ------------------------------------------------------------------------------

    def upsert_dataset(self, dataset: Dataset, now: int) -> int:
        """The dataset's node in the graph: one per (name, digest), created on first use."""
        dedup = f"{DATASET}:{dataset.name}:{dataset.digest}"
        props = orjson.dumps(
            {
                "source_type": dataset.source_type,
                "source": dataset.source,
                "schema": dataset.schema,
                "profile": dataset.profile,
            }
        ).decode()
        self.conn.execute(
            self._insert(A)
            .values(
                type=DATASET,
                name=dataset.name,
                uri=dataset.source,
                digest=dataset.digest,
                properties=props,
                created_at=now,
                dedup_key=dedup,
            )
            .on_conflict_do_nothing()
        )
        return int(self.conn.execute(select(A.c.id).where(A.c.dedup_key == dedup)).scalar_one())

    def insert_input_event(
        self, run_id: str, artifact_id: int, name: str, tags: Mapping[str, str], now: int
    ) -> None:
        self.conn.execute(
            self._insert(EV)
            .values(
                execution_id=run_id,
                artifact_id=artifact_id,
                type="INPUT",
                name=name,
                properties=orjson.dumps({"tags": dict(tags)}).decode(),
                time=now,
            )
            .on_conflict_do_nothing()
        )

    def dataset_inputs(self, run_ids: Sequence[str]) -> dict[str, list[DatasetInput]]:
        out: dict[str, list[DatasetInput]] = defaultdict(list)
        for chunk in _chunks(list(run_ids)):
            for r in self._page.inputs_of_runs(self.conn, chunk):
                props = orjson.loads(r.properties)
                event_props = orjson.loads(r.event_props)
                out[r.execution_id].append(
                    DatasetInput(
                        dataset=Dataset(
                            name=r.name,
                            digest=r.digest,
                            source_type=props.get("source_type", ""),
                            source=props.get("source", ""),
                            schema=props.get("schema", ""),
                            profile=props.get("profile", ""),
                        ),
                        tags=event_props.get("tags", {}),
                    )
                )
        return out

    def dataset_summaries(self, experiment_ids: Sequence[int], limit: int) -> list[DatasetSummary]:
        """Distinct (experiment, dataset name, digest, context) over the experiments' run
        inputs, in the order first used, at most ``limit``."""
        EV, A = schema.events, schema.artifacts
        rows = self.conn.execute(
            select(E.c.context_id, A.c.name, A.c.digest, EV.c.properties)
            .select_from(EV)
            .join(E, E.c.id == EV.c.execution_id)
            .join(A, A.c.id == EV.c.artifact_id)
            .where(
                E.c.context_id.in_(list(experiment_ids)),
                E.c.type == "run",
                EV.c.type == "INPUT",
                A.c.type == "dataset",
            )
            .order_by(EV.c.id)
        )
        seen: dict[tuple[Any, ...], DatasetSummary] = {}
        for experiment_id, name, digest, properties in rows:
            context = (orjson.loads(properties).get("tags") or {}).get("mlflow.data.context", "")
            key = (experiment_id, name, digest, context)
            if key not in seen:
                seen[key] = DatasetSummary(str(experiment_id), name, digest, context)
                if len(seen) == limit:
                    break
        rows.close()
        return list(seen.values())

    def model_inputs(self, run_ids: Sequence[str]) -> dict[str, list[ModelInput]]:
        """The logged models each run read, in the order they were logged."""
        out: dict[str, list[ModelInput]] = defaultdict(list)
        for chunk in _chunks(list(run_ids)):
            for run_id, properties in plain(self._page.model_inputs_of_runs(self.conn, chunk)):
                model_id = orjson.loads(properties).get("logged_model_id")
                if model_id:
                    out[run_id].append(ModelInput(model_id))
        return out

    def model_outputs(self, run_ids: Sequence[str]) -> dict[str, list[ModelOutput]]:
        """The logged models each run declared as outputs, in the order they were linked."""
        out: dict[str, list[ModelOutput]] = defaultdict(list)
        for chunk in _chunks(list(run_ids)):
            for run_id, properties in plain(self._page.outputs_of_runs(self.conn, chunk)):
                props = orjson.loads(properties)
                if "logged_model_id" in props and "step" in props:
                    out[run_id].append(ModelOutput(props["logged_model_id"], int(props["step"])))
        return out

    def run_search(self, plan: SearchPlan) -> list[Any]:
        """Rows of a compiled search: its statements in order, until the page (+1) is full."""
        rows: list[Any] = []
        wanted = plan.max_results + 1
        analysed = plan.walk_postgres is None or planner_has_statistics(self.conn)
        for statement, in_order in plan.statements_on(self.conn.dialect.name, analysed=analysed):
            ordered: AbstractContextManager[None] = (
                presorted(self.conn) if in_order else nullcontext()
            )
            with ordered:
                rows += self.conn.execute(statement.limit(wanted - len(rows))).all()
            if len(rows) >= wanted:
                break
        return rows

    def count_runs(self, experiment_id: int) -> int:
        return int(
            self.conn.execute(
                select(func.count()).select_from(E).where(E.c.context_id == experiment_id)
            ).scalar_one()
        )
