"""Where an MLflow backend store's files are: one root folder (or fsspec URI) named by the user.

An MLflow run's ``artifact_uri`` is recorded in its backend store in one of three shapes:
``mlflow-artifacts:/<exp>/<run>/artifacts`` (a server with ``--serve-artifacts``; the path is
relative to the server's ``--artifacts-destination``), ``file:///…`` or a bare path (the local
default, ``./mlruns``), or a bucket URI (``s3://…``). The importer reads files only below the
root it was given: an ``artifact_uri`` that does not lie under it is reported unreachable, not
followed, so a crafted backend store cannot make the importer read ``/etc`` (the same rule the
server's artifact routes keep, ``reference/security.md`` §1a). Every relative path is checked by
``validate_artifact_path``, and local reads refuse symlinks that lead out of the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import fsspec

from clew.artifacts.blobstore import Source as ByteSource
from clew.artifacts.paths import validate_artifact_path
from clew.core.errors import InvalidPath
from clew.importers.mlflow.source import ArtifactsUnreachable, SourceFile

PROXY_SCHEME = "mlflow-artifacts:"


class ArtifactRoot:
    def __init__(self, root: str | None) -> None:
        self.raw = root
        self.local: Path | None = None
        self.fs: Any = None
        self.base = ""
        if not root:
            return
        scheme = urlsplit(root).scheme
        if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
            path = unquote(urlsplit(root).path) if scheme == "file" else root
            self.local = Path(path).resolve()
        else:
            self.fs, self.base = fsspec.core.url_to_fs(root)
            self.base = self.base.rstrip("/")

    def relative(self, artifact_uri: str) -> str:
        """The owner's root as a path relative to this root (``""`` for the root itself)."""
        if not self.raw:
            raise ArtifactsUnreachable("no --artifact-root was given for the backend store's files")
        if artifact_uri.startswith(PROXY_SCHEME):
            return _checked(artifact_uri[len(PROXY_SCHEME) :].strip("/"))
        parts = urlsplit(artifact_uri)
        if self.local is not None and parts.scheme in ("", "file"):
            path = Path(unquote(parts.path) if parts.scheme == "file" else artifact_uri)
            try:
                return _checked(path.resolve().relative_to(self.local).as_posix())
            except ValueError:
                pass
        elif self.fs is not None:
            prefix = self.raw.rstrip("/") + "/"
            if artifact_uri.startswith(prefix):
                return _checked(artifact_uri[len(prefix) :].strip("/"))
        raise ArtifactsUnreachable(f"{artifact_uri} is not under the artifact root {self.raw}")

    def files(self, artifact_uri: str) -> Iterator[SourceFile]:
        rel = self.relative(artifact_uri)
        if self.local is not None:
            yield from self._local_files(self.local / rel if rel else self.local)
            return
        base = f"{self.base}/{rel}" if rel else self.base
        if not self.fs.exists(base):
            return
        for name, info in sorted(self.fs.find(base, detail=True).items()):
            if info.get("type") == "file":
                yield SourceFile(name[len(base) :].lstrip("/"), info.get("size"))

    def _local_files(self, base: Path) -> Iterator[SourceFile]:
        if not base.is_dir() or base.is_symlink():
            return
        for folder, dirs, names in os.walk(base, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                full = Path(folder) / name
                if full.is_symlink() or not full.is_file():
                    continue  # only regular files inside the tree, as ``log_dir`` takes them
                yield SourceFile(full.relative_to(base).as_posix(), full.stat().st_size)

    def open(self, artifact_uri: str, path: str) -> AbstractContextManager[ByteSource]:
        rel = self.relative(artifact_uri)
        inner = _checked(path)
        if self.local is not None:
            full = (self.local / rel / inner).resolve()
            if not full.is_relative_to(self.local) or not full.is_file():
                raise ArtifactsUnreachable(f"{path} is not a file under the artifact root")
            return full.open("rb")
        joined = "/".join(p for p in (self.base, rel, inner) if p)
        return self.fs.open(joined, "rb")


def _checked(rel: str) -> str:
    """A relative path under the root, by the one artifact-path validator."""
    if not rel:
        return ""
    try:
        return validate_artifact_path(rel)
    except InvalidPath as exc:
        raise ArtifactsUnreachable(f"unsafe artifact path {rel!r}: {exc.message}") from None
