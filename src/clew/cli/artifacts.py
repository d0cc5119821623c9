"""``clew artifacts …``: list a run's files and download them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from clew.artifacts.model import FileInfo
from clew.artifacts.paths import local_target
from clew.cli.context import client
from clew.cli.output import console, emit, table
from clew.client.client import Client
from clew.core.errors import NotFound

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
    """Download a file or a whole folder of a run's artifacts, with a progress bar.

    Files keep their paths inside the run: ``get RUN model`` writes ``DEST/model/...``.
    """
    c = client(ctx)
    files = _files_under(c, run_id, path)
    if not files:
        raise NotFound(f"Run {run_id} has no artifact at {path!r}")
    total = sum(f.size or 0 for f in files)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{len(files)} file(s)", total=total)
        for f in files:
            target = local_target(dest.resolve(), f.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            with c.open_artifact(run_id, f.path) as chunks, partial.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    progress.advance(task, len(chunk))
            partial.replace(target)
    console.print(f"Downloaded {len(files)} file(s), {total:,} bytes, to {dest}")


def _files_under(c: Client, run_id: str, path: str) -> list[FileInfo]:
    """Every file at or below ``path``: the file itself, or a folder's files recursively."""
    entries = c.list_artifacts(run_id, path)
    if not entries and path:  # not a folder: perhaps a file, listed in its parent
        parent = path.rstrip("/").rpartition("/")[0]
        return [f for f in c.list_artifacts(run_id, parent) if f.path == path and not f.is_dir]
    files: list[FileInfo] = []
    for entry in entries:
        files += _files_under(c, run_id, entry.path) if entry.is_dir else [entry]
    return files
