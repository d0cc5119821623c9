"""The options that say which store a process serves (``clew server``, ``clew scheduler``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HomeOption = Annotated[Path | None, typer.Option(help="CLEW_HOME: database and artifacts.")]
DatabaseUrlOption = Annotated[
    str | None, typer.Option(help="e.g. postgresql://user@host/db. Default: SQLite in home.")
]
ArtifactRootOption = Annotated[
    str | None, typer.Option(help="Folder or s3://bucket/prefix. Default: home/artifacts.")
]


def store_overrides(
    home: Path | None, database_url: str | None, artifact_root: str | None
) -> dict[str, object]:
    """The ``Settings`` fields the options set (the rest come from ``CLEW_*``)."""
    overrides: dict[str, object] = {}
    if home is not None:
        overrides["home"] = home
    if database_url:
        overrides["database_url"] = database_url
    if artifact_root:
        overrides["artifact_root"] = artifact_root
    return overrides
