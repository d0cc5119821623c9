"""Logged models in the metadata graph beside runs: the runs that read a model (INPUT edges)
and the runs that produced one (OUTPUT edges with a step), MLflow 3's ``log_inputs`` with
models and ``log_outputs``.

A mixin of ``LoggedModelService`` (``logged_service``), for file size.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission, Resource
from clew.core.db import Database, retry_conflicts
from clew.core.errors import Conflict
from clew.core.ids import check_logged_model_id, check_run_id, now_ms
from clew.registry.logged_model import RESOURCE_TYPE
from clew.registry.logged_rows import active_row, resource
from clew.registry.logged_store import LoggedModelStore
from clew.tracking.model import LifecycleStage
from clew.tracking.store import TrackingStore


class LoggedModelLinks:
    db: Database
    authz: Authorizer

    def link_inputs_in(
        self, conn: Connection, actor: Actor, run_id: str, model_ids: Sequence[str]
    ) -> None:
        """Record, inside the caller's transaction (the tracking service's ``log_inputs``), that
        the run read these models: an INPUT edge from the run to each model's graph node and an
        audit event per model. Linking a model again changes nothing.

        Raises:
            NotFound: a model is unknown or deleted (MLflow records the id unchecked).
        """
        checked = [check_logged_model_id(model_id) for model_id in model_ids]
        for model_id in checked:
            self.authz.check(actor, Permission.READ, resource(model_id))
        store = LoggedModelStore(conn)
        now = now_ms()
        for model_id in checked:
            row = active_row(store, model_id)
            store.link_input(run_id, row.artifact_id, row.name, model_id, now)
            audit.append(conn, actor, "logged_model.input", RESOURCE_TYPE, model_id,
                         {"run_id": run_id})  # fmt: skip

    @retry_conflicts
    def log_outputs(self, actor: Actor, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record that a run produced these models, each at a step (MLflow 3's ``log_outputs``):
        an OUTPUT edge from the run to each model's graph node carrying the step, one
        transaction, one audit event per model. A model created with this run as its source
        already has the edge, which gains the step; linking a model again keeps the step it
        has, so a retried call changes nothing. ``runs/get`` lists these as the run's outputs.

        Raises:
            NotFound: the run or a model is unknown (or the model deleted).
            Conflict: the run is deleted.
        """
        check_run_id(run_id)
        model_ids = [check_logged_model_id(model_id) for model_id, _ in outputs]
        self.authz.check(actor, Permission.EDIT, Resource("run", run_id))
        for model_id in model_ids:
            self.authz.check(actor, Permission.READ, resource(model_id))
        with self.db.write() as conn:
            run = TrackingStore(conn).get_run_info(run_id)
            if run.lifecycle_stage != LifecycleStage.ACTIVE:
                raise Conflict(f"Run {run_id} is deleted; restore it first")
            store = LoggedModelStore(conn)
            now = now_ms()
            for model_id, step in outputs:
                row = active_row(store, model_id)
                store.link_output(run_id, row.artifact_id, row.name, model_id, now, step)
                summary = {"run_id": run_id, "step": step}
                audit.append(conn, actor, "logged_model.output", RESOURCE_TYPE, model_id, summary)
