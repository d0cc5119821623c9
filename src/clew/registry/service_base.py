"""What every registry use case shares: dependencies, resources, audit and the model lock.

Audit events of the registry all hang off the registered model (``resource_type`` =
``registered_model``, ``resource_id`` = its internal id, stable across renames); every summary
names the model, and version events carry ``version``. So one index lookup reads a model's
whole history, which is what ``alias_history`` and compliance reports need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from clew.artifacts.blobstore import BlobStore
from clew.artifacts.model import FileInfo
from clew.core import audit, schema
from clew.core.actor import Actor
from clew.core.authz import AllowAll, Authorizer, Resource
from clew.core.db import Database
from clew.core.settings import Settings
from clew.registry.promotion import AllowAllPromotions, PromotionGuard, RegistryListener

RESOURCE_TYPE = "registered_model"
RM = schema.registered_models

LoggedModelFiles = Callable[[Connection, str], Sequence[FileInfo]]
"""A logged model's files inside the caller's transaction; raises ``NotFound`` if no such
model (``LoggedModelService.files_in``)."""


def model_resource(name: str) -> Resource:
    return Resource(RESOURCE_TYPE, name)


class RegistryUseCases:
    """Holds the database, authorizer, promotion guard, listeners and (for verify) blob store.

    Args:
        guard: called before every alias move and stage change (see ``promotion``).
        listeners: told of every registry event inside its transaction.
        blobs: where version files' bytes live; needed only by ``verify_version``.
        allow_file_sources: accept ``file:`` sources (local paths). Off by default: a server
            must never be pointed at its own disk by a client (CVE-2023-1177).
        logged_model_files: how a ``models:/m-…`` source's files are found (and its model
            checked to exist); without it, whatever ``artifact_files`` holds for that owner.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        authz: Authorizer | None = None,
        *,
        guard: PromotionGuard | None = None,
        listeners: Sequence[RegistryListener] = (),
        blobs: BlobStore | None = None,
        allow_file_sources: bool = False,
        logged_model_files: LoggedModelFiles | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or db.settings
        self.authz = authz or AllowAll()
        self.guard: PromotionGuard = guard or AllowAllPromotions()
        self.listeners = list(listeners)
        self.blobs = blobs
        self.allow_file_sources = allow_file_sources
        self.logged_model_files = logged_model_files

    def _record(
        self,
        conn: Connection,
        actor: Actor,
        action: str,
        model_id: int,
        summary: Mapping[str, Any],
    ) -> None:
        """The call's one audit event, then the listeners, in the caller's transaction."""
        audit.append(conn, actor, action, RESOURCE_TYPE, str(model_id), summary)
        for listener in self.listeners:
            listener.on_event(conn, actor, action, summary)

    @staticmethod
    def _lock_model(conn: Connection, model_id: int) -> None:
        """Serialize promotions of one model on PostgreSQL (SQLite writers are serial already),
        so "previous" and the guard's view cannot be overtaken by a concurrent move."""
        if conn.dialect.name == "postgresql":
            conn.execute(_LOCK, {"model_id": model_id})


_LOCK = select(RM.c.context_id).where(RM.c.context_id == bindparam("model_id")).with_for_update()
