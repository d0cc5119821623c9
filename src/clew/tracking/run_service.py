"""Run use cases: create, read, lifecycle, logging (params, metrics, tags, datasets), search.

Each public method: authorize → validate → write → audit, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Permission
from clew.core.db import retry_conflicts
from clew.core.errors import AlreadyExists, InvalidInput, NotFound, ParamOverwrite
from clew.core.ids import check_experiment_id, check_run_id, new_run_id, now_ms
from clew.tracking import validation as v
from clew.tracking.downsample import MAX_POINTS, MIN_POINTS, keep
from clew.tracking.model import (
    DatasetInput,
    LifecycleStage,
    Metric,
    MetricHistory,
    Page,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
    latest_points,
)
from clew.tracking.names import generated_run_name
from clew.tracking.search.compile import compile_run_search
from clew.tracking.service_base import (
    DEFAULT_EXPERIMENT_ID,
    UseCases,
    experiment_resource,
    run_artifact_uri,
    run_resource,
)
from clew.tracking.store import TrackingStore


@dataclass(frozen=True)
class NewRun:
    """A run checked and authorized, not yet written (``RunUseCases.prepare_run``): what
    ``insert_runs`` writes into a transaction, so that a caller can write several runs, each
    with another service's rows, in one commit."""

    info: RunInfo
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[Metric]
    #: The caller chose the id (an importer): it is checked to be free as it is written.
    chosen_id: bool = False

    @property
    def run(self) -> Run:
        data = RunData(params=self.params, metrics=latest_points(self.metrics), tags=self.tags)
        return Run(info=self.info, data=data)


class RunUseCases(UseCases):
    @retry_conflicts
    def create_run(
        self,
        actor: Actor,
        experiment_id: str = DEFAULT_EXPERIMENT_ID,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        metrics: Sequence[Metric] = (),
        status: str | None = None,
        end_time: int | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Start a run, optionally with its first params and metrics in the same transaction:
        one round trip where MLflow's clients need three.

        ``status`` defaults to RUNNING; a terminal status (with ``end_time``, default now)
        records a run that already ended, as importers and offline loggers have.

        ``run_id`` is for importers only: a run copied from MLflow keeps its id (the same
        32-hex shape), so ``runs:/<id>`` URIs keep working and a second import finds it.
        An id already taken is ``AlreadyExists``.
        """
        new = self.prepare_run(actor, experiment_id, run_name, start_time, tags, parent_run_id,
                               params, metrics, status, end_time, run_id)  # fmt: skip
        with self.db.write() as conn:
            self.insert_runs(conn, actor, [new])
        # Nothing else can have touched a run created a moment ago: no need to read it back.
        return new.run

    def prepare_run(
        self,
        actor: Actor,
        experiment_id: str = DEFAULT_EXPERIMENT_ID,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        metrics: Sequence[Metric] = (),
        status: str | None = None,
        end_time: int | None = None,
        run_id: str | None = None,
    ) -> NewRun:
        """``create_run``'s checks and authorization, and the run it would write; nothing is
        read or written (``insert_runs`` does that)."""
        run_status = _run_status(status) if status is not None else RunStatus.RUNNING
        if end_time is not None:
            v.check_int64("end_time", end_time)
        eid = check_experiment_id(experiment_id)
        self.authz.check(actor, Permission.EDIT, experiment_resource(eid))
        if run_name:
            v.check_name("Run", run_name)
        if start_time is not None:
            v.check_int64("start_time", start_time)
        first_metrics, first_params, checked_tags = self._checked_batch(metrics, params, tags or {})
        if parent_run_id is not None:
            check_run_id(parent_run_id)
            checked_tags.setdefault("mlflow.parentRunId", parent_run_id)
        run_name = run_name or checked_tags.get("mlflow.runName") or generated_run_name()
        checked_tags["mlflow.runName"] = run_name
        checked_tags.setdefault("mlflow.user", actor.name)
        chosen_id = run_id is not None
        run_id = check_run_id(run_id) if run_id is not None else new_run_id()
        info = RunInfo(
            run_id=run_id,
            experiment_id=str(eid),
            run_name=run_name,
            user_id=actor.name,
            status=run_status,
            start_time=start_time if start_time is not None else now_ms(),
            end_time=(end_time if end_time is not None else now_ms())
            if run_status.is_terminal
            else None,
            artifact_uri=run_artifact_uri(run_id),
            lifecycle_stage=LifecycleStage.ACTIVE,
            parent_run_id=parent_run_id,
        )
        return NewRun(info, checked_tags, first_params, first_metrics, chosen_id)

    def insert_runs(
        self,
        conn: Connection,
        actor: Actor,
        runs: Sequence[NewRun],
        each: Callable[[Connection, str], None] | None = None,
    ) -> None:
        """Write prepared runs and their ``run.create`` events into transaction ``conn``.
        Their experiments must be active, and a nested run in its parent's experiment; each
        experiment and parent is read once, however many runs share it. ``each(conn, run_id)``
        runs after each run's writes and event: another service's rows that commit or fail
        with it (a cached pipeline step's lineage)."""
        store = TrackingStore(conn)
        for eid in sorted({int(new.info.experiment_id) for new in runs}):
            self._active_experiment(store, eid)
        parents = sorted({new.info.parent_run_id for new in runs if new.info.parent_run_id})
        experiment_of = {parent: store.get_run_info(parent).experiment_id for parent in parents}
        for new in runs:
            info = new.info
            if new.chosen_id and store.get_run_infos([info.run_id]):  # new ids are unique
                raise AlreadyExists(f"Run {info.run_id} already exists")
            parent = info.parent_run_id
            if parent is not None and experiment_of[parent] != info.experiment_id:
                raise InvalidInput("A nested run must be in its parent's experiment")
            store.insert_run(info)
            store.set_run_tags(info.run_id, new.tags)
            store.insert_params(info.run_id, new.params)
            store.insert_metrics(info.run_id, new.metrics)
            audit.append(
                conn,
                actor,
                "run.create",
                "run",
                info.run_id,
                {"experiment_id": info.experiment_id, "name": info.run_name, "parent": parent}
                | ({"status": str(info.status)} if RunStatus(info.status).is_terminal else {})
                | _batch_summary(new.metrics, new.params, {}),
            )
            if each is not None:
                each(conn, info.run_id)

    def get_run(self, actor: Actor, run_id: str) -> Run:
        check_run_id(run_id)
        self.authz.check(actor, Permission.READ, run_resource(run_id))
        with self.db.read() as conn:
            runs = TrackingStore(conn).get_runs([run_id])
        if not runs:
            raise NotFound(f"Run {run_id} does not exist")
        return runs[0]

    @retry_conflicts
    def update_run(
        self,
        actor: Actor,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Set status (RUNNING → FINISHED/FAILED/KILLED; a finished run may resume), end, name."""
        check_run_id(run_id)
        self.authz.check(actor, Permission.EDIT, run_resource(run_id))
        values: dict[str, Any] = {}
        if status is not None:
            new_status = _run_status(status)
            values["status"] = new_status
            if new_status.is_terminal:
                values["end_time"] = end_time if end_time is not None else now_ms()
            else:
                values["end_time"] = None
        elif end_time is not None:
            values["end_time"] = v.check_int64("end_time", end_time)
        if run_name is not None:
            values["name"] = v.check_name("Run", run_name)
        with self.db.write() as conn:
            store = TrackingStore(conn)
            info = self._active_run(store, run_id)
            if values:
                store.update_run(run_id, **values)
                if run_name is not None:
                    store.set_run_tags(run_id, {"mlflow.runName": run_name})
                audit.append(
                    conn,
                    actor,
                    "run.update",
                    "run",
                    run_id,
                    {k: str(val) for k, val in values.items()} | {"was": info.status},
                )
            return store.get_run_info(run_id)

    def delete_run(self, actor: Actor, run_id: str) -> None:
        self._set_run_stage(actor, run_id, LifecycleStage.DELETED)

    def restore_run(self, actor: Actor, run_id: str) -> None:
        self._set_run_stage(actor, run_id, LifecycleStage.ACTIVE)

    @retry_conflicts
    def _set_run_stage(self, actor: Actor, run_id: str, stage: LifecycleStage) -> None:
        """Deleting and restoring a run are a maintainer's (``Permission.MANAGE``)."""
        check_run_id(run_id)
        self.authz.check(actor, Permission.MANAGE, run_resource(run_id))
        with self.db.write() as conn:
            store = TrackingStore(conn)
            info = store.get_run_info(run_id)
            if info.lifecycle_stage == stage:
                return  # idempotent, as MLflow's clients expect
            deleted_at = now_ms() if stage == LifecycleStage.DELETED else None
            store.update_run(run_id, lifecycle_stage=stage, deleted_at=deleted_at)
            action = "run.delete" if stage == LifecycleStage.DELETED else "run.restore"
            audit.append(conn, actor, action, "run", run_id, {"experiment_id": info.experiment_id})

    # ---- logging -------------------------------------------------------------------------------

    @retry_conflicts
    def log_batch(
        self,
        actor: Actor,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        within: Callable[[Connection], None] | None = None,
    ) -> None:
        """Log metrics, params and tags at once. Retrying the same batch changes nothing.

        Params are immutable: a different value for an existing key fails the whole batch
        (``PARAM_OVERWRITE``) and nothing of it is written.

        ``within`` runs in the batch's transaction after the run's writes: another service's
        writes that must commit or fail with the batch (a logged model's copy of the points a
        run logged for it, ``LoggedModelService.log_metrics_in``).
        """
        check_run_id(run_id)
        self.authz.check(actor, Permission.EDIT, run_resource(run_id))
        checked_metrics, new_params, new_tags = self._checked_batch(metrics, params, tags)
        if not (checked_metrics or new_params or new_tags):
            return
        with self.db.write() as conn:
            self._log_in(conn, actor, run_id, checked_metrics, new_params, new_tags, within)

    @retry_conflicts
    def log_and_end(
        self,
        actor: Actor,
        run_id: str,
        status: str,
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        within: Callable[[Connection], None] | None = None,
    ) -> None:
        """Log a run's last params and tags and end it, in one transaction: ``log_batch`` then
        ``update_run(status=...)``, with the same checks and audit events, and one commit.

        A pipeline step run ends this way; ``within`` runs in the transaction after the batch
        (the step's lineage records, ``PipelineService.record_step``).
        """
        check_run_id(run_id)
        self.authz.check(actor, Permission.EDIT, run_resource(run_id))
        new_status = _run_status(status)
        if not new_status.is_terminal:
            raise InvalidInput(f"log_and_end ends a run: {status!r} is not a terminal status")
        _, new_params, new_tags = self._checked_batch((), params, tags)
        with self.db.write() as conn:
            info = self._log_in(conn, actor, run_id, [], new_params, new_tags, within)
            values = {"status": new_status, "end_time": now_ms()}
            TrackingStore(conn).update_run(run_id, **values)
            audit.append(conn, actor, "run.update", "run", run_id,
                         {k: str(val) for k, val in values.items()} | {"was": info.status})  # fmt: skip

    def _log_in(
        self,
        conn: Connection,
        actor: Actor,
        run_id: str,
        metrics: list[Metric],
        params: dict[str, str],
        tags: dict[str, str],
        within: Callable[[Connection], None] | None,
    ) -> RunInfo:
        """A checked batch's writes and audit event inside the caller's transaction; returns
        the run as it was before them."""
        store = TrackingStore(conn)
        info = self._active_run(store, run_id)
        if params:
            existing = store.get_params(run_id, list(params))
            for key, old in existing.items():
                if old != params[key]:
                    raise ParamOverwrite(
                        f"Param {key!r} of run {run_id} is already {old!r}; params are "
                        f"immutable, so it cannot become {params[key]!r}",
                        key=key,
                    )
            store.insert_params(run_id, {k: x for k, x in params.items() if k not in existing})
        # The run row before its tag rows, as update_run does: one lock order everywhere.
        if tags.get("mlflow.runName"):
            store.update_run(run_id, name=tags["mlflow.runName"])
        store.insert_metrics(run_id, metrics)
        store.set_run_tags(run_id, tags)
        if within is not None:
            within(conn)
        if metrics or params or tags:
            audit.append(conn, actor, "run.log", "run", run_id,
                         _batch_summary(metrics, params, tags))  # fmt: skip
        return info

    def _checked_batch(
        self,
        metrics: Sequence[Metric],
        params: Mapping[str, str] | Sequence[tuple[str, str]],
        tags: Mapping[str, str] | Sequence[tuple[str, str]],
    ) -> tuple[list[Metric], dict[str, str], dict[str, str]]:
        """Validate a batch before any transaction opens: sizes, keys, values, param clashes."""
        s = self.settings
        param_items = list(params.items()) if isinstance(params, Mapping) else list(params)
        tag_items = list(tags.items()) if isinstance(tags, Mapping) else list(tags)
        v.check_batch_size("metrics", metrics, s.max_batch_metrics)
        v.check_batch_size("params", param_items, s.max_batch_params)
        v.check_batch_size("tags", tag_items, s.max_batch_tags)
        checked_metrics = [v.check_metric(m) for m in metrics]
        new_params: dict[str, str] = {}
        for key, value in param_items:
            v.check_key("Param", key)
            value = _param_text(value)
            v.check_value("Param", key, value, v.MAX_PARAM_VALUE)
            if new_params.get(key, value) != value:
                raise ParamOverwrite(
                    f"Param {key!r} appears twice in the batch with different values"
                )
            new_params[key] = value
        return checked_metrics, new_params, self._check_tags(dict(tag_items), v.MAX_TAG_VALUE)

    def log_metric(
        self,
        actor: Actor,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int = 0,
    ) -> None:
        ts = timestamp if timestamp is not None else now_ms()
        self.log_batch(actor, run_id, metrics=[Metric(key, value, ts, step)])

    def log_param(self, actor: Actor, run_id: str, key: str, value: object) -> None:
        self.log_batch(actor, run_id, params=[(key, _param_text(value))])

    def set_tag(self, actor: Actor, run_id: str, key: str, value: str) -> None:
        self.log_batch(actor, run_id, tags=[(key, value)])

    @retry_conflicts
    def delete_tag(self, actor: Actor, run_id: str, key: str) -> None:
        check_run_id(run_id)
        self.authz.check(actor, Permission.EDIT, run_resource(run_id))
        with self.db.write() as conn:
            store = TrackingStore(conn)
            self._active_run(store, run_id)
            if not store.delete_run_tag(run_id, key):
                raise NotFound(f"Run {run_id} has no tag {key!r}")
            audit.append(conn, actor, "run.tag.delete", "run", run_id, {"key": key})

    @retry_conflicts
    def log_inputs(
        self,
        actor: Actor,
        run_id: str,
        datasets: Sequence[DatasetInput],
        within: Callable[[Connection], None] | None = None,
    ) -> None:
        """Record datasets the run read: a dataset node per (name, digest) and an INPUT event.

        ``within`` runs in the same transaction after the datasets: another service's inputs
        of the run (the logged models it read, ``LoggedModelService.link_inputs_in``)."""
        check_run_id(run_id)
        self.authz.check(actor, Permission.EDIT, run_resource(run_id))
        for item in datasets:
            d = item.dataset
            v.check_name("Dataset", d.name)
            if not d.digest or len(d.digest) > 128:
                raise InvalidInput(f"Dataset {d.name!r} needs a digest of at most 128 characters")
            v.check_value("Dataset", d.name, d.source, v.MAX_DATASET_SOURCE)
            v.check_value("Dataset", d.name, d.schema, v.MAX_DATASET_SCHEMA)
            v.check_value("Dataset", d.name, d.profile, v.MAX_DATASET_PROFILE)
            self._check_tags(item.tags, v.MAX_TAG_VALUE)
        if not datasets and within is None:
            return
        with self.db.write() as conn:
            store = TrackingStore(conn)
            self._active_run(store, run_id)
            now = now_ms()
            for item in datasets:
                artifact_id = store.upsert_dataset(item.dataset, now)
                store.insert_input_event(run_id, artifact_id, item.context, item.tags, now)
            if within is not None:
                within(conn)
            if not datasets:
                return
            audit.append(
                conn,
                actor,
                "run.inputs",
                "run",
                run_id,
                {
                    "datasets": [
                        {"name": i.dataset.name, "digest": i.dataset.digest, "context": i.context}
                        for i in datasets
                    ]
                },
            )

    # ---- reads ---------------------------------------------------------------------------------

    def get_metric_history(
        self,
        actor: Actor,
        run_id: str,
        key: str,
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> MetricHistory:
        """Every point in (step, timestamp) order; ``max_points`` shrinks it for a chart as
        ``metric_series`` does (``tracking.downsample``: ends, extremes and NaN kept)."""
        check_run_id(run_id)
        self.authz.check(actor, Permission.READ, run_resource(run_id))
        if max_points is not None and not MIN_POINTS <= max_points <= MAX_POINTS:
            raise InvalidInput(
                f"max_points must be between {MIN_POINTS} and {MAX_POINTS}, not {max_points!r}"
            )
        with self.db.read() as conn:
            store = TrackingStore(conn)
            store.get_run_info(run_id)
            history = store.metric_history(run_id, key, start_step=start_step, end_step=end_step)
        if max_points is None or len(history) <= max_points:
            return history
        kept = keep(history.values, max_points).indexes.tolist()
        return MetricHistory(
            key=key,
            steps=[history.steps[i] for i in kept],
            timestamps=[history.timestamps[i] for i in kept],
            values=[history.values[i] for i in kept],
        )

    def search_runs(
        self,
        actor: Actor,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching MLflow's filter grammar (plus OR and parentheses); all experiments if none."""
        ids = self.read_scope(actor, experiment_ids)
        if ids == []:
            return Page([], None)
        plan = compile_run_search(
            experiment_ids=ids,
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            max_results=max_results,
            page_token=page_token,
        )
        with self.db.read() as conn:
            rows = TrackingStore(conn).run_search(plan)
            run_ids, token = plan.page(rows)
            runs = TrackingStore(conn).get_runs(run_ids)
        return Page(runs, token)

    # ---- checks shared with other services --------------------------------------------------------

    def check_run_writable(self, conn: Connection, run_id: str) -> None:
        """For services that attach things to a run (artifacts): it exists and is not deleted."""
        check_run_id(run_id)
        self._active_run(TrackingStore(conn), run_id)

    def check_run_readable(self, conn: Connection, run_id: str) -> None:
        check_run_id(run_id)
        TrackingStore(conn).get_run_info(run_id)


def _run_status(status: str) -> RunStatus:
    try:
        return RunStatus(status)
    except ValueError:
        raise InvalidInput(
            f"Unknown run status {status!r}; expected one of {[s.value for s in RunStatus]}"
        ) from None


def _param_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _batch_summary(
    metrics: Sequence[Metric], params: Mapping[str, str], tags: Mapping[str, str]
) -> dict[str, Any]:
    """What the audit event records of a batch: counts and keys, not every point."""
    summary: dict[str, Any] = {}
    if metrics:
        keys = sorted({m.key for m in metrics})
        summary["metrics"] = {"points": len(metrics), "keys": keys[:50]}
    if params:
        summary["params"] = dict(list(params.items())[:50])
    if tags:
        summary["tags"] = sorted(tags)[:50]
    return summary
