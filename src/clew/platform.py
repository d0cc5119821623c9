"""Wiring: build every service from one ``Settings``. The server and the local client both start here.

No module-level singletons: a ``Platform`` owns its database engine and blob store, and
``close()`` releases them. Migrations are applied when a platform opens (``migrate=True``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clew.artifacts.blobstore import BlobStore
from clew.artifacts.service import ArtifactService
from clew.audit.service import AuditService
from clew.core import migrate as migrations
from clew.core.authz import AllowAll, Authorizer
from clew.core.db import Database
from clew.core.ids import is_logged_model_id
from clew.core.settings import Settings
from clew.governance.access import AccessService
from clew.governance.authorizer import RoleAuthorizer
from clew.governance.promotions import PolicyGuard, PromotionService
from clew.governance.users import UserService
from clew.lineage.service import LineageService
from clew.pipelines.jobs import JobService
from clew.pipelines.schedules import ScheduleService
from clew.pipelines.service import PipelineService
from clew.registry.logged_model import RESOURCE_TYPE as LOGGED_MODEL
from clew.registry.logged_service import LoggedModelService
from clew.registry.service import RegistryService
from clew.registry.webhooks.listener import WebhookListener
from clew.registry.webhooks.service import WebhookService
from clew.tracking.service import TrackingService


@dataclass
class Platform:
    settings: Settings
    db: Database
    blobs: BlobStore
    tracking: TrackingService
    artifacts: ArtifactService
    audit: AuditService
    webhooks: WebhookService
    #: Logged models, and their files: the same table and blob store as ``artifacts``, with the
    #: model id as owner. Built in ``__post_init__`` from the parts above.
    logged_models: LoggedModelService = field(init=False)
    logged_model_artifacts: ArtifactService = field(init=False)
    #: Registered models, versions, aliases and stages (issue 3).
    registry: RegistryService = field(init=False)
    #: Pipeline runs' contexts and their steps' edges in the metadata graph (issue 5).
    pipelines: PipelineService = field(init=False)
    #: Walks of the metadata graph from a run, upstream and downstream.
    lineage: LineageService = field(init=False)
    #: Pipeline versions, jobs the server runs, schedules (issue 5, items 8 and 9).
    jobs: JobService = field(init=False)
    schedules: ScheduleService = field(init=False)
    #: Users, service accounts, tokens, sessions; teams and role bindings (issue 6).
    users: UserService = field(init=False)
    access: AccessService = field(init=False)
    #: Model policies and promotion requests (issue 6, item 3).
    promotions: PromotionService = field(init=False)

    def __post_init__(self) -> None:
        authz = self.tracking.authz
        self.logged_models = LoggedModelService(self.db, self.settings, authz)
        self.pipelines = PipelineService(self.db, authz, self.tracking, self.blobs, self.artifacts)
        self.lineage = LineageService(self.db, authz)
        self.jobs = JobService(
            self.db, authz, self.tracking, self.artifacts, self.settings.allowed_step_modules()
        )
        self.schedules = ScheduleService(self.db, authz, self.settings.allowed_step_modules())
        self.users = UserService(self.db, self.settings, authz)
        self.access = AccessService(self.db, authz)
        self.logged_model_artifacts = ArtifactService(
            self.db,
            self.blobs,
            authz,
            check_owner=self.logged_models.check_files_writable,
            check_owner_readable=self.logged_models.check_files_readable,
            resource_type=LOGGED_MODEL,
        )
        # Webhooks hear every registry change inside its transaction (the outbox).
        # A policy's protected aliases and stages move only by an applied promotion request.
        self.registry = RegistryService(
            self.db,
            self.settings,
            authz,
            guard=PolicyGuard(self.blobs),
            blobs=self.blobs,
            listeners=[WebhookListener()],
            logged_model_files=self.logged_models.files_in,
        )
        self.promotions = PromotionService(self.db, authz, self.registry, self.blobs)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        migrate: bool = True,
        authz: Authorizer | None = None,
    ) -> Platform:
        settings = settings or Settings()
        db = Database(settings.resolved_database_url(), settings)
        if authz is None:
            # Local mode and a server without --auth are single-user: everyone may do all.
            authz = RoleAuthorizer(db, settings.auth_cache_s) if settings.auth else AllowAll()
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
        webhooks = WebhookService(db, settings, authz)
        return cls(settings, db, blobs, tracking, artifacts, AuditService(db, authz), webhooks)

    def artifacts_of(self, owner_id: str) -> ArtifactService:
        """The artifact service of an owner: a logged model's (``m-…``), or else a run's."""
        return self.logged_model_artifacts if is_logged_model_id(owner_id) else self.artifacts

    def close(self) -> None:
        self.webhooks.dispatcher.stop()
        self.db.dispose()
