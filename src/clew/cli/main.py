"""The ``clew`` command: one typer app with a sub-app per feature."""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Annotated

import click
import typer

from clew.cli import (
    artifacts,
    audit,
    db,
    experiments,
    import_cmd,
    lineage,
    models,
    pipeline_jobs,
    pipelines,
    promote,
    runs,
    schedules,
    users,
)
from clew.cli.context import CliState
from clew.cli.output import err_console
from clew.cli.server import server
from clew.core.errors import ClewError

app = typer.Typer(
    help="Clew: experiment tracking, a governed model registry and pipelines with lineage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(models.app, name="models")
app.add_typer(audit.app, name="audit")
app.add_typer(db.app, name="db")
app.add_typer(import_cmd.app, name="import")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(lineage.app, name="lineage")
app.add_typer(schedules.app, name="schedule")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(users.teams_app, name="teams")
app.add_typer(users.roles_app, name="roles")
app.add_typer(promote.promote_app, name="promote")
app.add_typer(promote.policy_app, name="policy")
app.command()(server)
app.command()(schedules.scheduler)
app.command()(promote.report)
del pipeline_jobs  # imported for its commands, which it adds to ``clew pipelines``


def _version(value: bool) -> None:
    if value:
        print(package_version("clew"))
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            envvar="CLEW_TRACKING_URI",
            help="http://host:port of a clew server; empty means local (CLEW_HOME).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = CliState(tracking_uri or None)


def main() -> None:
    """Entry point: Clew's errors become one red line and exit status 1, not a traceback."""
    try:
        app(standalone_mode=False)
    except ClewError as exc:
        err_console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise SystemExit(1) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        raise SystemExit(130) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
