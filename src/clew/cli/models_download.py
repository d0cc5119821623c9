"""``clew models download`` and ``clew models lineage``: fetch a model's verified files, and
follow a version back to the run and data that produced it.

Registered on ``clew models`` by one import at the end of :mod:`clew.cli.models`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.tree import Tree

from clew.cli.context import client
from clew.cli.models import JsonOpt, app
from clew.cli.output import console, emit
from clew.client.model_info import ModelLineage


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover - the loop always returns


@app.command()
def download(
    ctx: typer.Context,
    uri: Annotated[
        str,
        typer.Argument(
            help="models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest, "
            "models:/NAME/STAGE, models:/m-ID or runs:/RUN_ID/PATH."
        ),
    ],
    dest: Annotated[Path, typer.Option("--dest", "-d", help="An empty or new directory.")],
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Download straight to DEST, bypassing the cache.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a model's files into DEST, each checked against the digest the server recorded.

    Goes through the local model cache (CLEW_HOME/cache/models): downloading the same model
    again copies it locally.
    """
    c = client(ctx)
    resolved = c.resolve_model(uri)
    files = resolved.files(c)
    total = sum(f.size for f in files)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"{len(files)} file(s)", total=total)
        path = c.download_model(
            resolved,
            dest,
            progress=lambda n: progress.advance(task, n),
            use_cache=not no_cache,
        )
    result = {
        "uri": uri,
        "path": str(path),
        "digest": resolved.digest,
        "files": len(files),
        "size": total,
        "version": None if resolved.version is None else resolved.version.version,
        "model_id": resolved.model_id,
    }
    emit(
        as_json,
        result,
        lambda: console.print(
            f"Downloaded {uri} ({len(files)} files, {_size(total)}, digest "
            f"{resolved.digest[:12]}…) to {path}"
        ),
    )


@app.command()
def lineage(ctx: typer.Context, name: str, version: int, as_json: JsonOpt = False) -> None:
    """Where VERSION of NAME came from: model artifact → run → the datasets that run read."""
    found = client(ctx).get_model_version_lineage(name, version)
    emit(as_json, found.to_dict(), lambda: console.print(lineage_tree(found)))


def lineage_tree(found: ModelLineage) -> Tree:
    mv = found.version
    aliases = f" [cyan]@{', @'.join(mv.aliases)}[/cyan]" if mv.aliases else ""
    root = Tree(
        f"[bold]{mv.name}[/bold] v{mv.version}{aliases}  stage {mv.current_stage} · {mv.status}"
        f" · digest {mv.digest[:12] or 'none'}"
    )
    size = sum(f.size for f in found.files)
    artifact = (
        f"model artifact [green]{mv.source}[/green] ({len(found.files)} files, {_size(size)})"
    )
    if found.logged_model is not None:
        lm = found.logged_model
        artifact += f"  logged model {lm.name!r} · {lm.status}"
    node = root.add(artifact)
    run = found.run
    if run is None:
        node.add("[dim]no producing run recorded[/dim]")
        return root
    info = run.info
    run_node = node.add(
        f"run [bold]{info.run_name}[/bold] ({info.run_id}) · {info.status} · "
        f"experiment {info.experiment_id}"
        + (f" · parent {info.parent_run_id}" if info.parent_run_id else "")
    )
    if not run.inputs:
        run_node.add("[dim]no dataset inputs recorded[/dim]")
    for item in run.inputs:
        run_node.add(_dataset_line(item.dataset.to_dict(), item.tags))
    return root


def _dataset_line(dataset: dict[str, Any], tags: dict[str, str]) -> str:
    context = tags.get("mlflow.data.context")
    parts = [f"dataset [magenta]{dataset.get('name')}[/magenta]"]
    if dataset.get("digest"):
        parts.append(f"digest {dataset['digest']}")
    if dataset.get("source"):
        parts.append(f"source {dataset['source']}")
    if context:
        parts.append(f"context {context}")
    return " · ".join(parts)
