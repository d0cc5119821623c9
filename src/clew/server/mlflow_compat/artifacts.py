"""MLflow's artifact proxy and ``artifacts/list`` over Clew's artifact services.

An MLflow client whose run (or LoggedModel) has an ``mlflow-artifacts:`` root moves every file
through the proxy: ``PUT``/``GET``/``DELETE /api/2.0/mlflow-artifacts/artifacts/<path>`` and
``GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>``. Here ``<path>`` is
``<exp>/<run>/artifacts/<file>`` or ``<exp>/models/<model_id>/artifacts/<file>``;
``uris.owner_of`` splits it into the owner and the path inside it, and the owner's
``ArtifactService`` does the rest exactly as for Clew's native artifact routes: the one path
validator, the owner's checks, content-addressed blobs (so an MLflow-logged file has a sha256
digest and an audit event), and streaming both ways in bounded memory (``store_upload``,
``file_response``).

Where MLflow's proxy serves a folder, this one serves Clew's store: a path outside every run's
and every model's artifacts (the experiment level, the proxy's root) is refused with MLflow's
error JSON, and nothing is read or written. The ``<exp>`` segment is not checked against the
owner's experiment: permissions and files belong to the owner, so a wrong one reaches the
same files the right one does and nothing else.

Listings answer MLflow's shapes: the proxy's with paths relative to the listed directory (its
direct children's names), ``artifacts/list`` with paths relative to the run's root.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from clew.artifacts.api import file_response, store_upload
from clew.artifacts.model import FileInfo
from clew.server.deps import ActorDep, PlatformDep
from clew.server.mlflow_compat import uris
from clew.server.mlflow_compat.protocol import Fields, ok
from clew.server.routing import FeatureRouter

ARTIFACTS: Final = "/artifacts"


def file_info(info: FileInfo, path: str) -> dict[str, Any]:
    """MLflow's ``FileInfo`` named ``path``; a directory has no size."""
    return {"path": path, "is_dir": info.is_dir, "file_size": None if info.is_dir else info.size}


def add_routes(router: FeatureRouter) -> None:
    """``/artifacts/list`` under each RPC prefix."""

    @router.get(ARTIFACTS + "/list")
    async def list_artifacts(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
        """A run's directory: ``root_uri`` is the run's ``mlflow-artifacts:`` root and every
        path is relative to it (``model/MLmodel``), as MLflow answers."""
        f = await Fields.of(request)
        run_id = f.run_id()
        path = f.text("path", default="")
        run = await run_in_threadpool(platform.tracking.get_run, actor, run_id)
        files = await run_in_threadpool(platform.artifacts.list, actor, run_id, path)
        return ok(
            {
                "root_uri": uris.run_root(run.info.experiment_id, run_id),
                "files": [file_info(item, item.path) for item in files],
            }
        )


def add_proxy_routes(router: FeatureRouter) -> None:
    """``/artifacts/<path>`` PUT/GET/DELETE and ``/artifacts?path=`` under each proxy prefix."""

    @router.put(ARTIFACTS + "/{path:path}")
    async def upload(
        path: str, request: Request, platform: PlatformDep, actor: ActorDep
    ) -> Response:
        """The raw body is the file, whatever media type the client guessed; it streams into
        the blob store (the body guard lets these PUTs past the JSON limit)."""
        target = uris.owner_of(path)
        service = platform.artifacts_of(target.owner_id)
        await store_upload(
            request,
            platform.settings.max_artifact_bytes,
            partial(service.log_stream, actor, target.owner_id, target.path),
        )
        return ok()

    @router.get(ARTIFACTS + "/{path:path}")
    def download(path: str, platform: PlatformDep, actor: ActorDep) -> Response:
        target = uris.owner_of(path)
        service = platform.artifacts_of(target.owner_id)
        return file_response(*service.open(actor, target.owner_id, target.path))

    @router.delete(ARTIFACTS + "/{path:path}")
    def delete(path: str, platform: PlatformDep, actor: ActorDep) -> Response:
        """A file or a whole directory, as MLflow's ``delete_artifacts``."""
        target = uris.owner_of(path)
        platform.artifacts_of(target.owner_id).delete(actor, target.owner_id, target.path)
        return ok()

    @router.get(ARTIFACTS)
    def list_directory(platform: PlatformDep, actor: ActorDep, path: str = "") -> Response:
        """The direct children of ``path``, each named relative to it; a file or a missing
        directory lists nothing, as in MLflow."""
        target = uris.owner_of(path)
        files = platform.artifacts_of(target.owner_id).list(actor, target.owner_id, target.path)
        return ok({"files": [file_info(item, item.name) for item in files]})
