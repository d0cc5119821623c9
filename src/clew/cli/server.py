"""``clew server``: the REST API (and, later, the UI) on one port."""

from __future__ import annotations

from typing import Annotated

import typer

from clew.cli.store_options import (
    ArtifactRootOption,
    DatabaseUrlOption,
    HomeOption,
    store_overrides,
)
from clew.core.settings import Settings


def server(
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless --auth.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    auth: Annotated[
        bool,
        typer.Option(
            "--auth",
            help="Require a token, a password or a login on every request (CLEW_AUTH); "
            "needed to listen beyond loopback.",
        ),
    ] = False,
    oidc_issuer: Annotated[
        str | None,
        typer.Option(
            help="Single sign-on: the OIDC provider's issuer URL (CLEW_OIDC_ISSUER); needs "
            "--auth and --oidc-client-id. The client secret comes from CLEW_OIDC_CLIENT_SECRET "
            "only; the other CLEW_OIDC_* settings are in docs/settings.md.",
        ),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        typer.Option(help="This server's client id at the OIDC provider (CLEW_OIDC_CLIENT_ID)."),
    ] = None,
    home: HomeOption = None,
    database_url: DatabaseUrlOption = None,
    artifact_root: ArtifactRootOption = None,
) -> None:
    """Serve the REST API at /api/v1 (OpenAPI at /api/v1/docs), /health and /metrics."""
    from clew.server.main import serve

    overrides = {"host": host, "port": port, "workers": workers, **({"auth": True} if auth else {}),
                 **store_overrides(home, database_url, artifact_root)}  # fmt: skip
    if oidc_issuer is not None:
        overrides["oidc_issuer"] = oidc_issuer
    if oidc_client_id is not None:
        overrides["oidc_client_id"] = oidc_client_id
    settings = Settings(**overrides)  # type: ignore[arg-type]
    serve(settings, host=host, port=port, workers=workers)
