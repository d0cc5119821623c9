"""What every tracking use case shares: its dependencies, resource names and state checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clew.core.actor import Actor
from clew.core.authz import AllowAll, Authorizer, Permission, Resource, readable_scope
from clew.core.db import Database
from clew.core.errors import Conflict
from clew.core.ids import check_experiment_id
from clew.core.settings import Settings
from clew.tracking import validation as v
from clew.tracking.model import (
    LifecycleStage,
    RunInfo,
)
from clew.tracking.store import TrackingStore

DEFAULT_EXPERIMENT_ID = "0"


def run_artifact_uri(run_id: str) -> str:
    return f"clew-artifacts:/runs/{run_id}"


def experiment_resource(experiment_id: str | int) -> Resource:
    return Resource("experiment", str(experiment_id))


def run_resource(run_id: str) -> Resource:
    return Resource("run", run_id)


def readable_experiments(authz: Authorizer, actor: Actor) -> list[int] | None:
    """The experiments a search across all of them may show ``actor``, for its query (None:
    every one; empty: none), so a page is never short for a filter applied after it."""
    readable = readable_scope(authz, actor, "experiment")
    return None if readable is None else sorted(int(e) for e in readable if e.isdigit())


class UseCases:
    """Holds the database, settings and authorizer that use-case methods work with."""

    def __init__(
        self, db: Database, settings: Settings | None = None, authz: Authorizer | None = None
    ) -> None:
        self.db = db
        self.settings = settings or db.settings
        self.authz = authz or AllowAll()

    def read_scope(self, actor: Actor, experiment_ids: Sequence[str] | None) -> list[int] | None:
        """The experiments a read across runs covers: the ones named, each checked for READ,
        or (``None``) every one the caller may read, for the query to filter by (``None``
        again: all of them; ``[]``: none), so a page is never short for a filter after it."""
        if experiment_ids is None:
            return readable_experiments(self.authz, actor)
        ids = [check_experiment_id(e) for e in experiment_ids]
        for eid in ids:
            self.authz.check(actor, Permission.READ, experiment_resource(eid))
        return ids

    @staticmethod
    def _active_run(store: TrackingStore, run_id: str) -> RunInfo:
        info = store.get_run_info(run_id)
        if info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise Conflict(f"Run {run_id} is deleted; restore it before changing it")
        return info

    @staticmethod
    def _active_experiment(store: TrackingStore, eid: int) -> None:
        if store.experiment_stage(eid) != LifecycleStage.ACTIVE:
            raise Conflict(f"Experiment {eid} is deleted; restore it first")

    @staticmethod
    def _check_tags(tags: Mapping[str, str], limit: int) -> dict[str, str]:
        out = {}
        for key, value in tags.items():
            v.check_key("Tag", key)
            out[key] = v.check_value("Tag", key, value, limit)
        return out
