"""``clew server``: the REST API (and, later, the UI) on one port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clew.core.settings import Settings


def server(
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless --auth.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    home: Annotated[Path | None, typer.Option(help="CLEW_HOME: database and artifacts.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="e.g. postgresql://user@host/db. Default: SQLite in home.")
    ] = None,
    artifact_root: Annotated[
        str | None, typer.Option(help="Folder or s3://bucket/prefix. Default: home/artifacts.")
    ] = None,
) -> None:
    """Serve the REST API at /api/v1 (OpenAPI at /api/v1/docs), /health and /metrics."""
    from clew.server.main import serve

    overrides: dict[str, object] = {"host": host, "port": port, "workers": workers}
    if home is not None:
        overrides["home"] = home
    if database_url:
        overrides["database_url"] = database_url
    if artifact_root:
        overrides["artifact_root"] = artifact_root
    settings = Settings(**overrides)  # type: ignore[arg-type]
    serve(settings, host=host, port=port, workers=workers)
