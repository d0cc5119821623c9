"""Walking a local folder to upload it: shared by the service and the HTTP client.

Its own module so the HTTP client can use it without importing the database layer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from clew.core.errors import InvalidInput


def walk_local_tree(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, path relative to ``root`` with ``/``) for every file of a local tree, sorted."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in dirnames:
            if (here / name).is_symlink():
                raise InvalidInput(f"Refusing to follow the directory symlink {here / name}")
        dirnames.sort()
        for name in sorted(filenames):
            local = here / name
            resolved = local.resolve()
            if local.is_symlink() and root not in resolved.parents:
                raise InvalidInput(f"Refusing a symlink that leads outside the directory: {local}")
            if not resolved.is_file():
                raise InvalidInput(f"Not a regular file: {local}")
            yield local, local.relative_to(root).as_posix()
