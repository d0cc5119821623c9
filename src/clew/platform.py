"""Wiring: build every service from one ``Settings``. The server and the local client both start here.

No module-level singletons: a ``Platform`` owns its database engine and blob store, and
``close()`` releases them. Migrations are applied when a platform opens (``migrate=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

from clew.artifacts.blobstore import BlobStore
from clew.artifacts.service import ArtifactService
from clew.audit.service import AuditService
from clew.core import migrate as migrations
from clew.core.authz import AllowAll, Authorizer
from clew.core.db import Database
from clew.core.settings import Settings
from clew.tracking.service import TrackingService


@dataclass
class Platform:
    settings: Settings
    db: Database
    blobs: BlobStore
    tracking: TrackingService
    artifacts: ArtifactService
    audit: AuditService

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        migrate: bool = True,
        authz: Authorizer | None = None,
    ) -> Platform:
        settings = settings or Settings()
        authz = authz or AllowAll()
        db = Database(settings.resolved_database_url(), settings)
        if migrate:
            migrations.upgrade(db)
        blobs = BlobStore.from_uri(settings.resolved_artifact_root())
        tracking = TrackingService(db, settings, authz)
        artifacts = ArtifactService(
            db,
            blobs,
            authz,
            check_owner=tracking.check_run_writable,
            check_owner_readable=tracking.check_run_readable,
        )
        return cls(settings, db, blobs, tracking, artifacts, AuditService(db, authz))

    def close(self) -> None:
        self.db.dispose()
