"""A logged model's files: what the registry reads when it registers a version, the checks
the artifact service makes before it writes or reads one, and the manifest's digest.

A mixin of ``LoggedModelService`` (``logged_service``), for file size.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from clew.artifacts.model import FileInfo
from clew.artifacts.store import ArtifactFileStore
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission
from clew.core.db import Database
from clew.core.errors import Conflict
from clew.core.ids import check_logged_model_id
from clew.registry.logged_model import LoggedModelStatus
from clew.registry.logged_rows import active_row, resource
from clew.registry.logged_store import LoggedModelStore
from clew.registry.model import VersionFile, tree_digest


def manifest_digest(files: Sequence[FileInfo]) -> str:
    """The files' content identity, by the registry's rule (``tree_digest``): a version
    registered from this model carries the same digest as the model's graph node."""
    return tree_digest([VersionFile(f.path, str(f.digest), int(f.size or 0)) for f in files])


class LoggedModelFiles:
    db: Database
    authz: Authorizer

    def files(self, actor: Actor, model_id: str) -> list[FileInfo]:
        """Every file of the model, in path order, with its digest and size."""
        check_logged_model_id(model_id)
        self.authz.check(actor, Permission.READ, resource(model_id))
        with self.db.read() as conn:
            return self.files_in(conn, model_id)

    def file_digests(self, actor: Actor, model_id: str) -> dict[str, str]:
        """``path → sha256`` of every file: what a model version registered from it records."""
        return {f.path: str(f.digest) for f in self.files(actor, model_id)}

    @staticmethod
    def files_in(conn: Connection, model_id: str) -> list[FileInfo]:
        """``files`` inside the caller's transaction (the registry's, when it registers)."""
        active_row(LoggedModelStore(conn), model_id)
        return ArtifactFileStore(conn).walk(model_id)

    @staticmethod
    def check_files_writable(conn: Connection, model_id: str) -> None:
        """Files may be added while the model is PENDING; READY or FAILED froze them."""
        check_logged_model_id(model_id)
        row = active_row(LoggedModelStore(conn), model_id)
        if row.status != LoggedModelStatus.PENDING:
            raise Conflict(
                f"Logged model {model_id} is {row.status}: its files are frozen once finalized"
            )

    @staticmethod
    def check_files_readable(conn: Connection, model_id: str) -> None:
        check_logged_model_id(model_id)
        active_row(LoggedModelStore(conn), model_id)
