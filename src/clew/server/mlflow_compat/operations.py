"""What an MLflow client asks of the server itself: its capabilities and its version.

``server-info`` tells MLflow 3 clients which optional transfer modes exist; Clew answers that
multipart and presigned transfers are off, so clients stream through the artifact proxy (the
client falls back to the same on any non-200, but saying so saves a failed call per upload).
"""

from __future__ import annotations

from importlib import metadata

from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response

from clew.server.mlflow_compat.protocol import ok
from clew.server.routing import FeatureRouter


def _version() -> str:
    try:
        return metadata.version("clew")
    except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "0+unknown"


def add_v3_routes(router: FeatureRouter) -> None:
    @router.get("/server-info")
    async def server_info() -> Response:
        return ok(
            {
                "store_type": "SqlStore",
                "workspaces_enabled": False,
                "trace_archival_enabled": False,
                "multipart_uploads_enabled": False,
                "multipart_downloads_enabled": False,
                "presigned_upload_run_id_supported": False,
                "presigned_upload_model_id_supported": False,
                "features_enabled": {"gateway": False},
            }
        )


def add_root_routes(app: FastAPI) -> None:
    version = _version()

    @app.get("/version", include_in_schema=False)
    async def server_version() -> Response:
        """MLflow's ``/version`` answers its version as plain text; Clew answers its own."""
        return PlainTextResponse(version)
