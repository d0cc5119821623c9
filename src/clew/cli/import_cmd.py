"""``clew import mlflow``: copy an MLflow installation's history into this Clew (docs/import.md).

The import runs the services in-process against Clew's metadata database and blob store
(``CLEW_HOME``, or ``CLEW_DATABASE_URL`` and ``CLEW_ARTIFACT_ROOT``: run it where a server's
settings point at its PostgreSQL and bucket), so every write is validated and audited as
the server's own. With ``CLEW_TRACKING_URI``/``--tracking-uri`` set on ``clew`` itself it
refuses, rather than filling a local home while the user looks at a server.
"""

from __future__ import annotations

import base64
import os
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from clew.cli.context import CliState
from clew.cli.output import console, emit, table
from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.importers.mlflow import RestSource, SqlSource, import_mlflow
from clew.importers.mlflow.source import MlflowSource
from clew.importers.summary import Summary
from clew.platform import Platform

app = typer.Typer(help="Bring another system's history into Clew.", no_args_is_help=True)


@app.command("mlflow")
def mlflow(
    ctx: typer.Context,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="http(s)://host:port of an MLflow tracking server, read over its REST API "
            "(credentials from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD).",
        ),
    ] = None,
    backend_store_uri: Annotated[
        str | None,
        typer.Option(
            "--backend-store-uri",
            help="MLflow's backend store, read directly: sqlite:///mlflow.db, postgresql://…",
        ),
    ] = None,
    artifact_root: Annotated[
        str | None,
        typer.Option(
            "--artifact-root",
            help="With --backend-store-uri: the folder or URI the store's files are under "
            "(the server's --artifacts-destination, or the mlruns folder).",
        ),
    ] = None,
    include_deleted: Annotated[
        bool,
        typer.Option(
            "--include-deleted", help="Also copy what MLflow marked deleted (as deleted)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Copy experiments, runs (full metric histories), datasets, artifacts, logged models and
    the registry from MLflow. Safe to run again: what is already here is skipped."""
    state = ctx.find_root().obj
    if isinstance(state, CliState) and state.tracking_uri:
        raise typer.BadParameter(
            "clew import writes to the metadata database directly; unset CLEW_TRACKING_URI "
            "and point CLEW_HOME or CLEW_DATABASE_URL/CLEW_ARTIFACT_ROOT at the target",
            param_hint="--tracking-uri (of clew)",
        )
    source = _source(tracking_uri, backend_store_uri, artifact_root)
    platform = Platform.open(Settings())
    try:
        summary = _run(platform, source, include_deleted, quiet=as_json)
    finally:
        source.close()
        platform.close()
    emit(as_json, summary.to_dict(), lambda: _print(summary, source.label))


def _source(
    tracking_uri: str | None, backend_store_uri: str | None, root: str | None
) -> MlflowSource:
    if bool(tracking_uri) == bool(backend_store_uri):
        raise typer.BadParameter("give exactly one of --tracking-uri and --backend-store-uri")
    if tracking_uri:
        if not tracking_uri.startswith(("http://", "https://")):
            raise typer.BadParameter("an http(s):// URL", param_hint="--tracking-uri")
        if root:
            raise typer.BadParameter("only with --backend-store-uri", param_hint="--artifact-root")
        return RestSource(tracking_uri, headers=_mlflow_auth())
    assert backend_store_uri is not None
    return SqlSource(backend_store_uri, root)


def _mlflow_auth() -> dict[str, str]:
    """The headers MLflow's own client would send, from MLflow's own variables."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = (
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    if user and password:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    return {}


def _run(
    platform: Platform, source: MlflowSource, include_deleted: bool, *, quiet: bool
) -> Summary:
    summary = Summary()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True, disable=quiet) as progress:
        task = progress.add_task("Importing from MLflow", total=0)

        def found(n: int) -> None:
            total = progress.tasks[task].total or 0
            progress.update(task, total=total + n)

        summary.on_found = found
        summary.on_item = lambda label: progress.update(task, advance=1, description=label[:40])
        return import_mlflow(
            platform, source, Actor.local_user(), include_deleted=include_deleted, summary=summary
        )


def _print(summary: Summary, label: str) -> None:
    table(
        f"Import from {label}",
        ["kind", "copied", "skipped", "why skipped"],
        summary.rows(),
        styles={"copied": "green", "skipped": "yellow"},
    )
    if not summary.copied_anything:
        console.print("Nothing to copy: everything was already imported.")
