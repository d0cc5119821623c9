"""``create_app(settings)``: the whole server, built in one place, with no module-level state.

The platform (database, blob store, services) hangs off ``app.state`` and reaches routes through
``server.deps``. Feature routers are mounted under ``/api/v1``, MLflow's REST surface under its
own prefixes (``server.mlflow_compat``); ``/health`` and ``/metrics`` serve load balancers and
Prometheus. Middleware, outermost first: security headers, request metrics, the body-size /
Content-Type guard, then the dispatch of MLflow's literal-path RPCs that skips FastAPI's
router (``server.exact_routes``), all pure ASGI.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any, Final

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from clew.artifacts import api as artifacts_api
from clew.audit import api as audit_api
from clew.core.actor import Actor
from clew.core.checkpoint import WalCheckpointer
from clew.core.settings import Settings
from clew.governance import api as identity_api
from clew.governance import oidc_api, promotions_api
from clew.governance.oidc_client import OidcProvider
from clew.governance.oidc_login import OidcLoginService
from clew.lineage import api as lineage_api
from clew.pipelines import api as pipelines_api
from clew.pipelines import jobs_api
from clew.platform import Platform
from clew.registry import api as registry_api
from clew.registry import logged_api
from clew.registry.webhooks import api as webhooks_api
from clew.server.auth import Authenticator
from clew.server.errors import ERROR_RESPONSES, install_error_handlers
from clew.server.exact_routes import ExactRouteDispatch
from clew.server.metrics import HttpMetrics, MetricsMiddleware
from clew.server.middleware import (
    LOOPBACK_NAMES,
    HostGuard,
    RequestGuard,
    SecurityHeaders,
    is_loopback,
)
from clew.server.mlflow_compat.mount import is_mlflow_upload, mount_mlflow
from clew.server.ui import UI_DIST, UiFiles
from clew.tracking import api as tracking_api

API_PREFIX: Final = "/api/v1"
#: ``serve`` hands its settings to worker processes through this variable (JSON), because
#: uvicorn builds each worker's app from an import string, not from an object.
SETTINGS_ENV: Final = "CLEW_SERVER_SETTINGS_JSON"


log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("clew")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def _is_upload(method: str, path: str) -> bool:
    if not path.startswith(API_PREFIX):
        return False
    rest = path[len(API_PREFIX) :]
    return artifacts_api.is_upload(method, rest) or logged_api.is_upload(method, rest)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    """Build the server app.

    Args:
        settings: defaults to the platform's settings, or ``Settings()`` from the environment.
        platform: an already open platform to serve (the caller keeps ownership); by default the
            app opens one from ``settings`` (migrating the database) and closes it at shutdown.
    """
    if platform is not None:
        return _build(settings or platform.settings, platform, owned=False)
    settings = settings or Settings()
    return _build(settings, Platform.open(settings), owned=True)


def create_app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker (``clew.server.app:create_app_from_env``).

    ``serve`` has already migrated the database, so workers open the platform without
    migrating: several processes racing through Alembic at once would collide.
    """
    raw = os.environ.get(SETTINGS_ENV)
    if not raw:
        return create_app(Settings())
    settings = Settings(**orjson.loads(raw))
    return _build(settings, Platform.open(settings, migrate=False), owned=True)


def _build(settings: Settings, served: Platform, *, owned: bool) -> FastAPI:
    metrics = HttpMetrics()
    version = _version()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        checkpointer = None
        if served.db.is_sqlite and settings.sqlite_checkpoint_interval_s > 0:
            checkpointer = WalCheckpointer(served.db, settings.sqlite_checkpoint_interval_s)
            checkpointer.start()
        if settings.auth:
            _bootstrap_admin(served)
        if settings.webhook_dispatcher:
            served.webhooks.dispatcher.start()
        worker = None
        if settings.pipeline_worker and settings.allowed_step_modules():
            from clew.pipelines.worker import PipelineWorker

            worker = PipelineWorker(served)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            served.webhooks.dispatcher.stop()
            if checkpointer is not None:
                checkpointer.stop()
            if _app.state.oidc is not None:
                _app.state.oidc.provider.close()
            if owned:
                served.close()

    app = FastAPI(
        title="Clew",
        version=version,
        summary="Experiment tracking, model registry and pipelines with lineage.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = served
    app.state.authenticator = Authenticator(served) if settings.auth else None
    oidc = _single_sign_on(settings, served)
    app.state.oidc = oidc
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    for router in (
        tracking_api.router,
        artifacts_api.router,
        audit_api.router,
        registry_api.router,
        webhooks_api.router,
        logged_api.router,
        pipelines_api.router,
        jobs_api.router,
        lineage_api.router,
        identity_api.router,
        oidc_api.router,
        promotions_api.router,
    ):
        router.mount_at(API_PREFIX)
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    exact_routes = mount_mlflow(app)

    @app.get("/health", tags=["operations"], responses={503: {"description": "Database down"}})
    def health(request: Request) -> Response:
        """Liveness and readiness: the version and whether the database answers."""
        database_ok = _database_ok(request.app.state.platform)
        body: dict[str, Any] = {
            "status": "ok" if database_ok else "unavailable",
            "version": version,
            "database": "ok" if database_ok else "unavailable",
        }
        return Response(
            orjson.dumps(body),
            status_code=200 if database_ok else 503,
            media_type="application/json",
        )

    app.add_route("/metrics", metrics.endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(ExactRouteDispatch, routes=exact_routes)
    app.add_middleware(UiFiles, root=settings.ui_dir or UI_DIST)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        upload_limit=settings.max_artifact_bytes,
        upload_route=_is_upload,
        any_type_upload=is_mlflow_upload,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HostGuard, allowed=_allowed_hosts(settings))
    return app


def _allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The Host names to answer: the loopback ones and ``CLEW_ALLOWED_HOSTS``; None (any) for
    a server listening beyond loopback with none listed."""
    listed = {h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()}
    if not listed and not is_loopback(settings.host):
        return None
    return frozenset(LOOPBACK_NAMES | listed)


def _single_sign_on(settings: Settings, platform: Platform) -> OidcLoginService | None:
    """The OIDC login, when authentication is on and a provider is configured."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    if not settings.auth:
        log.warning("CLEW_OIDC_ISSUER is set but authentication is off: single sign-on is off")
        return None
    provider = OidcProvider(settings.oidc_issuer, settings.oidc_client_id,
                            settings.oidc_client_secret)  # fmt: skip
    return OidcLoginService(platform.db, settings, platform.tracking.authz, provider)


def _bootstrap_admin(platform: Platform) -> None:
    """The first admin from ``CLEW_ADMIN_USERNAME``/``_PASSWORD`` while there are no users."""
    settings = platform.settings
    password = settings.admin_password
    if settings.admin_username and password:
        made = platform.users.bootstrap_admin(settings.admin_username, password)
        if made is not None:
            log.warning("created the first admin, %s", made.name)
    elif not platform.users.list_users(Actor.system()):
        log.warning(
            "authentication is on and there are no users: set CLEW_ADMIN_USERNAME and "
            "CLEW_ADMIN_PASSWORD, or run `clew users create NAME --admin`"
        )


def _database_ok(platform: Platform) -> bool:
    try:
        with platform.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        return False
    return True
