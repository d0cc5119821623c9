"""Experiment use cases: create, read, rename, tag, delete, restore, search.

Each public method: authorize → validate → write → audit, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.exc import IntegrityError

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Permission, Resource
from clew.core.db import retry_conflicts
from clew.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from clew.core.ids import check_experiment_id, now_ms
from clew.tracking import validation as v
from clew.tracking.model import (
    DatasetSummary,
    Experiment,
    LifecycleStage,
    Page,
    ViewType,
)
from clew.tracking.search.compile import compile_experiment_search
from clew.tracking.service_base import UseCases, experiment_resource, readable_experiments
from clew.tracking.store import TrackingStore


class ExperimentUseCases(UseCases):
    @retry_conflicts
    def create_experiment(
        self,
        actor: Actor,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        self.authz.check(actor, Permission.EDIT, Resource("experiment", "*"))
        v.check_name("Experiment", name)
        if artifact_location:
            v.check_artifact_location(artifact_location)
        tags = self._check_tags(tags or {}, v.MAX_EXPERIMENT_TAG_VALUE)
        try:
            with self.db.write() as conn:
                store = TrackingStore(conn)
                if store.experiment_id_by_name(name) is not None:
                    raise AlreadyExists(f"Experiment {name!r} already exists")
                eid = store.insert_experiment(name, artifact_location, now_ms())
                if not artifact_location:
                    store.update_experiment(
                        eid, artifact_location=f"clew-artifacts:/experiments/{eid}"
                    )
                store.set_experiment_tags(eid, tags)
                audit.append(
                    conn,
                    actor,
                    "experiment.create",
                    "experiment",
                    str(eid),
                    {"name": name, "tags": dict(tags)},
                )
        except IntegrityError as exc:  # a concurrent creator won the race for the name
            raise AlreadyExists(f"Experiment {name!r} already exists") from exc
        return str(eid)

    def get_experiment(self, actor: Actor, experiment_id: str) -> Experiment:
        eid = check_experiment_id(experiment_id)
        self.authz.check(actor, Permission.READ, experiment_resource(eid))
        with self.db.read() as conn:
            return TrackingStore(conn).get_experiment(eid)

    def get_experiment_by_name(self, actor: Actor, name: str) -> Experiment:
        with self.db.read() as conn:
            store = TrackingStore(conn)
            eid = store.experiment_id_by_name(name)
            if eid is None:
                raise NotFound(f"Experiment {name!r} does not exist")
            self.authz.check(actor, Permission.READ, experiment_resource(eid))
            return store.get_experiment(eid)

    @retry_conflicts
    def rename_experiment(self, actor: Actor, experiment_id: str, new_name: str) -> None:
        eid = check_experiment_id(experiment_id)
        self.authz.check(actor, Permission.EDIT, experiment_resource(eid))
        v.check_name("Experiment", new_name)
        try:
            with self.db.write() as conn:
                store = TrackingStore(conn)
                old = store.get_experiment(eid)
                if old.lifecycle_stage != LifecycleStage.ACTIVE:
                    raise Conflict(f"Experiment {eid} is deleted; restore it to rename it")
                other = store.experiment_id_by_name(new_name)
                if other is not None and other != eid:
                    raise AlreadyExists(f"Experiment {new_name!r} already exists")
                store.update_experiment(eid, name=new_name)
                audit.append(
                    conn,
                    actor,
                    "experiment.rename",
                    "experiment",
                    str(eid),
                    {"from": old.name, "to": new_name},
                )
        except IntegrityError as exc:
            raise AlreadyExists(f"Experiment {new_name!r} already exists") from exc

    @retry_conflicts
    def set_experiment_tags(
        self, actor: Actor, experiment_id: str, tags: Mapping[str, str]
    ) -> None:
        eid = check_experiment_id(experiment_id)
        self.authz.check(actor, Permission.EDIT, experiment_resource(eid))
        tags = self._check_tags(tags, v.MAX_EXPERIMENT_TAG_VALUE)
        with self.db.write() as conn:
            store = TrackingStore(conn)
            self._active_experiment(store, eid)
            store.set_experiment_tags(eid, tags)
            store.update_experiment(eid)
            audit.append(
                conn, actor, "experiment.tag.set", "experiment", str(eid), {"tags": dict(tags)}
            )

    @retry_conflicts
    def delete_experiment_tag(self, actor: Actor, experiment_id: str, key: str) -> None:
        eid = check_experiment_id(experiment_id)
        self.authz.check(actor, Permission.EDIT, experiment_resource(eid))
        with self.db.write() as conn:
            store = TrackingStore(conn)
            self._active_experiment(store, eid)
            if not store.delete_experiment_tag(eid, key):
                raise NotFound(f"Experiment {eid} has no tag {key!r}")
            audit.append(conn, actor, "experiment.tag.delete", "experiment", str(eid), {"key": key})

    def delete_experiment(self, actor: Actor, experiment_id: str) -> None:
        self._set_experiment_stage(actor, experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, actor: Actor, experiment_id: str) -> None:
        self._set_experiment_stage(actor, experiment_id, LifecycleStage.ACTIVE)

    @retry_conflicts
    def _set_experiment_stage(
        self, actor: Actor, experiment_id: str, stage: LifecycleStage
    ) -> None:
        eid = check_experiment_id(experiment_id)
        self.authz.check(actor, Permission.MANAGE, experiment_resource(eid))
        with self.db.write() as conn:
            store = TrackingStore(conn)
            current = store.get_experiment(eid)
            if current.lifecycle_stage == stage:
                raise Conflict(f"Experiment {eid} is already {stage}")
            store.update_experiment(eid, lifecycle_stage=stage)
            action = (
                "experiment.delete" if stage == LifecycleStage.DELETED else "experiment.restore"
            )
            audit.append(conn, actor, action, "experiment", str(eid), {"name": current.name})

    def dataset_summaries(
        self, actor: Actor, experiment_ids: Sequence[str], limit: int = 1000
    ) -> list[DatasetSummary]:
        """The datasets the experiments' runs read, once per (experiment, name, digest,
        context): what a UI offers as dataset filters. MLflow caps the list at 1,000."""
        if not experiment_ids:
            raise InvalidInput("Name at least one experiment id")
        ids = [check_experiment_id(e) for e in experiment_ids]
        for experiment_id in ids:
            self.authz.check(actor, Permission.READ, experiment_resource(experiment_id))
        with self.db.read() as conn:
            return TrackingStore(conn).dataset_summaries(ids, limit)

    def search_experiments(
        self,
        actor: Actor,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> Page[Experiment]:
        # The experiments the caller may read, as part of the query (all: None).
        only = readable_experiments(self.authz, actor)
        if only == []:
            return Page([], None)
        plan = compile_experiment_search(
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            max_results=max_results,
            page_token=page_token,
            only_ids=only,
        )
        with self.db.read() as conn:
            rows = TrackingStore(conn).run_search(plan)
            ids, token = plan.page(rows)
            found = TrackingStore(conn).get_experiments(ids)
        return Page([found[i] for i in ids if i in found], token)
