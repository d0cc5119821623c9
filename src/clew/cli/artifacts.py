"""``clew artifacts …``: list a run's files and download them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, table

app = typer.Typer(help="Files logged by runs.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    run_id: str,
    path: Annotated[str, typer.Argument(help="Folder inside the run's artifacts.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the files directly under PATH in a run's artifacts."""
    files = client(ctx).list_artifacts(run_id, path)
    emit(
        as_json,
        [f.to_dict() for f in files],
        lambda: table(
            f"Artifacts of {run_id}" + (f" under {path}" if path else ""),
            ["path", "size", "sha256"],
            (
                (f.path + ("/" if f.is_dir else ""), f.size if not f.is_dir else "", f.digest or "")
                for f in files
            ),
        ),
    )


@app.command()
def get(
    ctx: typer.Context,
    run_id: str,
    path: Annotated[str, typer.Argument(help="File or folder; empty for everything.")] = "",
    dest: Annotated[Path, typer.Option("--dest", "-d", help="Where to write.")] = Path("."),
) -> None:
    """Download a file or a whole folder of a run's artifacts."""
    written = client(ctx).download_artifacts(run_id, path, str(dest))
    console.print(f"Downloaded to {written}")
