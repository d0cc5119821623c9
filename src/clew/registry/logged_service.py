"""Logged-model use cases. Each public method: authorize → validate → write → audit, one transaction.

The lifecycle is MLflow 3's: ``create`` makes a PENDING model (from a run, or straight in an
experiment), its files upload under its own id, and ``finalize`` marks it READY, or FAILED when
the upload did not complete. That transition happens once: after it the files are frozen (a
READY model's file manifest is what a registered version will point at), while tags, params and
metrics stay writable, because evaluation usually comes after logging.

Every model is also a node of the metadata graph: an ``artifacts`` row of type "model" that the
source run's execution OUTPUTs. Finalizing READY stamps that node with the digest of the file
manifest, so two models with the same files have the same content identity.

The model's files (``logged_files``) and its edges to runs (``logged_links``) are mixins of
the service, in modules of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from clew.artifacts.store import ArtifactFileStore
from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import AllowAll, Authorizer, Permission, Resource
from clew.core.db import Database, retry_conflicts
from clew.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    InvalidStatusTransition,
    NotFound,
    ParamOverwrite,
)
from clew.core.ids import (
    check_experiment_id,
    check_logged_model_id,
    check_run_id,
    new_logged_model_id,
    now_ms,
)
from clew.core.settings import Settings
from clew.registry.logged_files import LoggedModelFiles, manifest_digest
from clew.registry.logged_links import LoggedModelLinks
from clew.registry.logged_model import (
    RESOURCE_TYPE,
    DatasetFilter,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOrder,
    LoggedModelStatus,
    artifact_location,
)
from clew.registry.logged_rows import DELETED, active_row, resource
from clew.registry.logged_search import ACTIVE, compile_logged_model_search
from clew.registry.logged_store import LoggedModelStore, to_model
from clew.registry.logged_validation import (
    check_metric,
    check_model_type,
    check_params,
    check_tags,
)
from clew.tracking import validation as v
from clew.tracking.model import LifecycleStage, Page
from clew.tracking.names import generated_run_name
from clew.tracking.service_base import readable_experiments
from clew.tracking.store import TrackingStore

MAX_STATUS_MESSAGE = 8_000


class LoggedModelService(LoggedModelFiles, LoggedModelLinks):
    def __init__(
        self, db: Database, settings: Settings | None = None, authz: Authorizer | None = None
    ) -> None:
        self.db = db
        self.settings = settings or db.settings
        self.authz = authz or AllowAll()

    # ---- create, read, delete ------------------------------------------------------------------

    @retry_conflicts
    def create(
        self,
        actor: Actor,
        experiment_id: str | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        model_type: str | None = None,
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        model_id: str | None = None,
    ) -> LoggedModel:
        """A PENDING model in ``experiment_id``, or in its source run's experiment if omitted.

        ``model_id`` is for importers only: a LoggedModel copied from MLflow keeps its
        ``m-<32 hex>`` id, so ``models:/m-…`` sources still name it; a taken id is
        ``AlreadyExists``.

        Raises:
            InvalidInput: neither an experiment nor a run, or a run of another experiment.
            NotFound / Conflict: the experiment or run is unknown / deleted.
        """
        if experiment_id is None and source_run_id is None:
            raise InvalidInput("A logged model needs an experiment_id or a source_run_id")
        eid = None if experiment_id is None else check_experiment_id(experiment_id)
        if source_run_id is not None:
            check_run_id(source_run_id)
        if eid is not None:
            self.authz.check(actor, Permission.EDIT, Resource("experiment", str(eid)))
        name = v.check_name("Logged model", name) if name else generated_run_name()
        model_type = check_model_type(model_type or "")
        checked_params = check_params(self.settings, params)
        checked_tags = check_tags(self.settings, tags)
        chosen_id = model_id is not None
        model_id = (
            check_logged_model_id(model_id) if model_id is not None else new_logged_model_id()
        )
        location = artifact_location(model_id)
        with self.db.write() as conn:
            tracking = TrackingStore(conn)
            if chosen_id and LoggedModelStore(conn).row(model_id) is not None:
                raise AlreadyExists(f"Logged model {model_id} already exists")
            if source_run_id is not None:
                run = tracking.get_run_info(source_run_id)
                if run.lifecycle_stage != LifecycleStage.ACTIVE:
                    raise Conflict(f"Run {source_run_id} is deleted; restore it first")
                if eid is not None and int(run.experiment_id) != eid:
                    raise InvalidInput("A logged model must be in its source run's experiment")
                if eid is None:
                    eid = int(run.experiment_id)
                    self.authz.check(actor, Permission.EDIT, Resource("experiment", str(eid)))
            assert eid is not None
            if tracking.experiment_stage(eid) != LifecycleStage.ACTIVE:
                raise Conflict(f"Experiment {eid} is deleted; restore it first")
            now = now_ms()
            store = LoggedModelStore(conn)
            node = store.insert_node(model_id, name, location, model_type, now)
            values = {
                "id": model_id,
                "experiment_id": eid,
                "artifact_id": node,
                "name": name,
                "model_type": model_type,
                "source_run_id": source_run_id,
                "status": LoggedModelStatus.PENDING.value,
                "status_message": "",
                "artifact_location": location,
                "user_id": actor.name,
                "lifecycle_stage": ACTIVE,
                "created_at": now,
                "updated_at": now,
            }
            store.insert_model(values)
            if source_run_id is not None:
                store.insert_output_event(source_run_id, node, name, model_id, now)
            store.insert_params(model_id, checked_params)
            store.set_tags(model_id, checked_tags)
            summary = {"experiment_id": str(eid), "name": name, "source_run_id": source_run_id}
            if model_type:
                summary["model_type"] = model_type
            audit.append(
                conn,
                actor,
                "logged_model.create",
                RESOURCE_TYPE,
                model_id,
                summary | _keys(params=checked_params, tags=checked_tags),
            )
        # Nothing else can have touched a model created a moment ago: no read-back.
        return to_model(SimpleNamespace(**values), checked_tags, checked_params)

    def get(self, actor: Actor, model_id: str) -> LoggedModel:
        """The model with its tags, params and the latest point of each metric series.

        Raises:
            InvalidInput: a malformed id. NotFound: unknown or deleted.
        """
        check_logged_model_id(model_id)
        self.authz.check(actor, Permission.READ, resource(model_id))
        with self.db.read() as conn:
            found = LoggedModelStore(conn).get_models([model_id])
        if not found:
            raise NotFound(f"Logged model {model_id} does not exist")
        return found[0]

    @retry_conflicts
    def delete(self, actor: Actor, model_id: str) -> None:
        """Soft delete: the model leaves reads and searches; deleting again changes nothing."""
        check_logged_model_id(model_id)
        self.authz.check(actor, Permission.EDIT, resource(model_id))
        with self.db.write() as conn:
            store = LoggedModelStore(conn)
            row = store.row(model_id, lock=True)
            if row is None:
                raise NotFound(f"Logged model {model_id} does not exist")
            if row.lifecycle_stage == DELETED:
                return
            store.update_model(model_id, lifecycle_stage=DELETED, updated_at=now_ms())
            audit.append(
                conn,
                actor,
                "logged_model.delete",
                RESOURCE_TYPE,
                model_id,
                {"experiment_id": str(row.experiment_id), "name": row.name},
            )

    # ---- status --------------------------------------------------------------------------------

    @retry_conflicts
    def finalize(
        self, actor: Actor, model_id: str, status: str, status_message: str | None = None
    ) -> LoggedModel:
        """PENDING → READY (files complete, now frozen) or FAILED; once.

        Finalizing again with the status the model already has is a no-op, so a retried call
        succeeds; any other change is ``INVALID_STATUS_TRANSITION`` (400).
        """
        check_logged_model_id(model_id)
        target = LoggedModelStatus.parse(status)
        if target is LoggedModelStatus.PENDING:
            raise InvalidStatusTransition("finalize sets READY or FAILED, not PENDING")
        message = status_message or ""
        v.check_value("Logged model", "status_message", message, MAX_STATUS_MESSAGE)
        self.authz.check(actor, Permission.EDIT, resource(model_id))
        with self.db.write() as conn:
            store = LoggedModelStore(conn)
            row = active_row(store, model_id)
            if row.status == target:
                return store.get_models([model_id])[0]
            if row.status != LoggedModelStatus.PENDING:
                raise InvalidStatusTransition(
                    f"Logged model {model_id} is already {row.status}; "
                    "only a PENDING model can be finalized",
                    current=row.status,
                    requested=target.value,
                )
            summary: dict[str, Any] = {"status": target.value, "was": row.status}
            if target is LoggedModelStatus.READY:
                files = ArtifactFileStore(conn).walk(model_id)
                digest = manifest_digest(files)
                store.set_node_digest(row.artifact_id, digest)
                summary |= {"files": len(files), "manifest_sha256": digest}
            store.update_model(
                model_id, status=target.value, status_message=message, updated_at=now_ms()
            )
            audit.append(conn, actor, "logged_model.finalize", RESOURCE_TYPE, model_id, summary)
            return store.get_models([model_id])[0]

    # ---- tags, params, metrics -----------------------------------------------------------------

    @retry_conflicts
    def set_tags(
        self, actor: Actor, model_id: str, tags: Mapping[str, str] | Sequence[tuple[str, str]]
    ) -> None:
        """Set (or overwrite) tags; tags stay writable in every status."""
        checked = check_tags(self.settings, tags)

        def write(store: LoggedModelStore) -> None:
            store.set_tags(model_id, checked)

        self._change(actor, model_id, "logged_model.tags", write, _keys(tags=checked))

    @retry_conflicts
    def delete_tag(self, actor: Actor, model_id: str, key: str) -> None:
        v.check_key("Tag", key)

        def write(store: LoggedModelStore) -> None:
            if not store.delete_tag(model_id, key):
                raise NotFound(f"Logged model {model_id} has no tag {key!r}")

        self._change(actor, model_id, "logged_model.tag.delete", write, {"key": key})

    @retry_conflicts
    def log_params(
        self, actor: Actor, model_id: str, params: Mapping[str, str] | Sequence[tuple[str, str]]
    ) -> None:
        """Params are immutable, as a run's: a different value for a key fails the whole call."""
        checked = check_params(self.settings, params)

        def write(store: LoggedModelStore) -> None:
            existing = store.get_params(model_id, list(checked))
            for key, old in existing.items():
                if old != checked[key]:
                    raise ParamOverwrite(
                        f"Param {key!r} of logged model {model_id} is already set to another "
                        "value; params are immutable",
                        key=key,
                    )
            store.insert_params(model_id, {k: x for k, x in checked.items() if k not in existing})

        self._change(actor, model_id, "logged_model.params", write, _keys(params=checked))

    @retry_conflicts
    def log_metrics(
        self, actor: Actor, model_id: str, metrics: Sequence[LoggedModelMetric]
    ) -> None:
        """Append metric points; each may name the run and the dataset it was computed on.
        Retrying the same batch changes nothing."""
        checked = [check_metric(m) for m in metrics]
        v.check_batch_size("metrics", checked, self.settings.max_batch_metrics)
        runs = sorted({m.run_id for m in checked if m.run_id})

        def write(store: LoggedModelStore) -> None:
            tracking = TrackingStore(store.conn)
            for run_id in runs:
                tracking.get_run_info(run_id)
            store.insert_metrics(model_id, checked)

        summary = {"points": len(checked), "keys": sorted({m.key for m in checked})[:50]}
        self._change(actor, model_id, "logged_model.metrics", write, {"metrics": summary})

    def log_metrics_in(
        self,
        conn: Connection,
        actor: Actor,
        model_id: str,
        metrics: Sequence[LoggedModelMetric],
    ) -> None:
        """``log_metrics`` inside the caller's transaction: the tracking service's, when a run
        logs points for a model (MLflow 3's ``log-metric`` with ``model_id``), so the run's
        series and the model's commit together or not at all."""
        check_logged_model_id(model_id)
        checked = [check_metric(m) for m in metrics]
        self.authz.check(actor, Permission.EDIT, resource(model_id))
        store = LoggedModelStore(conn)
        active_row(store, model_id)
        store.touch(model_id, now_ms())
        store.insert_metrics(model_id, checked)
        summary = {"points": len(checked), "keys": sorted({m.key for m in checked})[:50]}
        audit.append(
            conn, actor, "logged_model.metrics", RESOURCE_TYPE, model_id, {"metrics": summary}
        )

    # ---- search --------------------------------------------------------------------------------

    def search(
        self,
        actor: Actor,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        datasets: Sequence[DatasetFilter | Mapping[str, Any]] = (),
        max_results: int = 100,
        order_by: Sequence[str | LoggedModelOrder | Mapping[str, Any]] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        """Active models matching MLflow's logged-model filter (plus OR and parentheses)."""
        ids = None if experiment_ids is None else [check_experiment_id(e) for e in experiment_ids]
        if isinstance(order_by, str | Mapping):
            raise InvalidInput("order_by takes a list of terms")
        if ids is None:  # across every experiment the caller may read, in the query
            ids = readable_experiments(self.authz, actor)
            if ids == []:
                return Page([], None)
        else:
            for scope in ids:
                self.authz.check(actor, Permission.READ, Resource("experiment", str(scope)))
        plan = compile_logged_model_search(
            experiment_ids=ids,
            filter_string=filter_string,
            datasets=[DatasetFilter.of(d) for d in datasets],
            order_by=[LoggedModelOrder.of(o) for o in order_by],
            max_results=max_results,
            page_token=page_token,
        )
        with self.db.read() as conn:
            store = LoggedModelStore(conn)
            model_ids, token = plan.page(store.run_search(plan))
            models = store.get_models(model_ids)
        return Page(models, token)

    # ---- helpers -------------------------------------------------------------------------------

    def _change(
        self,
        actor: Actor,
        model_id: str,
        action: str,
        write: Callable[[LoggedModelStore], None],
        summary: Mapping[str, Any],
    ) -> None:
        """The shape of every small change: the model row first (locked, touched), then the
        write, then the audit event, in one transaction."""
        check_logged_model_id(model_id)
        self.authz.check(actor, Permission.EDIT, resource(model_id))
        with self.db.write() as conn:
            store = LoggedModelStore(conn)
            active_row(store, model_id)
            store.touch(model_id, now_ms())
            write(store)
            audit.append(conn, actor, action, RESOURCE_TYPE, model_id, summary)


def _keys(**groups: Mapping[str, str]) -> dict[str, Any]:
    """What an audit event records of params and tags: the first 50 keys of each."""
    return {name: sorted(keys)[:50] for name, keys in groups.items() if keys}
