"""The file-system half of the HTTP transport's artifact methods (no HTTP here).

Downloads walk the server's listings, and every path a listing names is validated again and
confined to the destination: a listing must never turn into a write outside it (security.md
§1k, the MLflow ``models:/`` indirection bug). Files land through a temp name and
``os.replace``, so a symlink already at the target is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from clew.artifacts.paths import local_target, validate_artifact_path
from clew.core.errors import Conflict

if TYPE_CHECKING:
    from clew.client.http import HttpTransport


def download_tree(transport: HttpTransport, run_id: str, path: str, dest_dir: Path) -> Path:
    """What the local ``ArtifactService.download`` does, over HTTP: one listing per directory."""
    canonical = validate_artifact_path(path, allow_root=True)
    dest_dir.mkdir(parents=True, exist_ok=True)
    root = dest_dir.resolve()
    pending = [canonical]
    wrote = False
    while pending:
        current = pending.pop()
        children = transport.list_artifacts(run_id, current)
        if not children and current:  # a file, or nothing (then the GET raises NotFound)
            download_file(transport, run_id, current, root)
            wrote = True
        for child in children:
            if not is_below(child.path, current):
                raise Conflict("The server listed an artifact outside the requested path")
            if child.is_dir:
                pending.append(child.path)
            else:
                download_file(transport, run_id, child.path, root)
                wrote = True
    target = local_target(root, canonical)
    if not wrote:
        target.mkdir(parents=True, exist_ok=True)
    return target


def download_file(transport: HttpTransport, run_id: str, path: str, root: Path) -> None:
    target = local_target(root, path)
    make_dirs(root, target.parent)
    temp = target.parent / f".{uuid.uuid4().hex}.clew-part"
    try:
        with transport.open_artifact(run_id, path) as chunks, temp.open("xb") as out:
            for block in chunks:
                out.write(block)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def rewind_point(stream: BinaryIO) -> int | None:
    """Where a seekable stream starts, to rewind it for a retry; ``None`` if it cannot seek."""
    try:
        return stream.tell() if stream.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def is_below(child: str, parent: str) -> bool:
    return not parent or child.startswith(parent + "/")


def make_dirs(root: Path, directory: Path) -> None:
    """``mkdir -p`` below ``root``, refusing to pass through a symlink or a file."""
    current = root
    for part in directory.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise Conflict("Refusing to write through a symlink in the destination")
        if not current.exists():
            current.mkdir()
        elif not current.is_dir():
            raise Conflict("A file in the destination is in the way of a directory")
