"""Artifact use cases: authorize, validate, write, audit, in one transaction.

Bytes go to the blob store *before* the metadata transaction opens, so a transaction never
waits on an upload, and an upload that dies half-way (or whose transaction fails) leaves only
an unreferenced blob or temp file for garbage collection. Every path goes through
``validate_artifact_path`` and only the canonical value it returns is used afterwards.

Whether an owner may hold artifacts (does the run exist, is it active?) is tracking's rule, not
ours: it arrives as ``check_owner``, called inside each transaction, so a run deleted while an
upload was in flight is caught at commit.

An owner is a run id, or a logged model id (``m-<32 hex>``): one service instance per kind of
owner, each with its owner's checks and ``resource_type`` (what authorization and the audit log
name), all over the same ``artifact_files`` table and blob store. The two id shapes cannot
collide, and garbage collection sees every owner's references.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from clew.artifacts.blobstore import BlobStore, Source
from clew.artifacts.local_tree import walk_local_tree
from clew.artifacts.model import FileInfo
from clew.artifacts.paths import join_artifact_path, local_target, validate_artifact_path
from clew.artifacts.preview import MAX_ROWS as MAX_PREVIEW_ROWS
from clew.artifacts.preview import TablePreview, preview_format, preview_table
from clew.artifacts.store import ArtifactFileStore
from clew.core import audit
from clew.core.actor import Actor
from clew.core.audit import canonical_json
from clew.core.authz import Authorizer, Permission, Resource
from clew.core.db import Database
from clew.core.errors import Conflict, InvalidInput, NotFound
from clew.core.ids import now_ms

OwnerCheck = Callable[[Connection, str], None]
"""Raises ``NotFound``/``Conflict`` (or ``InvalidInput``) when an owner may not be used."""

#: Audit summaries list at most this many files; the rest is covered by ``manifest_sha256``.
SUMMARY_FILES = 1000
RESOURCE_TYPE = "run"


def _summary(files: Sequence[FileInfo], **extra: Any) -> dict[str, Any]:
    if len(files) == 1 and not extra:
        only = files[0]
        return {"path": only.path, "digest": only.digest, "size": only.size}
    entries = [{"path": f.path, "digest": f.digest, "size": f.size} for f in files]
    summary: dict[str, Any] = {
        **extra,
        "count": len(files),
        "total_size": sum(f.size or 0 for f in files),
        "files": entries[:SUMMARY_FILES],
    }
    if len(entries) > SUMMARY_FILES:
        # The event still commits to every file: the hash of the full list is in the chain.
        summary["manifest_sha256"] = hashlib.sha256(canonical_json(entries)).hexdigest()
    return summary


class ArtifactService:
    """Files logged against an owner (a run or a logged model), stored as content-addressed
    blobs."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        authz: Authorizer,
        check_owner: OwnerCheck,
        *,
        check_owner_readable: OwnerCheck | None = None,
        resource_type: str = RESOURCE_TYPE,
    ) -> None:
        """``check_owner`` guards writes; reads use ``check_owner_readable`` when given (e.g. to
        allow reading a deleted run's files) and ``check_owner`` otherwise. ``resource_type``
        is the owner's kind in authorization checks and audit events."""
        self.resource_type = resource_type
        self.db = db
        self.blobs = blobs
        self.authz = authz
        self.check_owner = check_owner
        self.check_owner_readable = check_owner_readable or check_owner

    # ---- writes --------------------------------------------------------------------------------

    def log_stream(self, actor: Actor, owner_id: str, path: str, stream: Source) -> FileInfo:
        """Store a stream's bytes at ``path`` (replacing what was there) and return the file."""
        self._authorize(actor, Permission.EDIT, owner_id)
        canonical = validate_artifact_path(path)
        self._precheck(owner_id)
        ref = self.blobs.put_stream(stream)
        file = FileInfo(canonical, False, ref.size, ref.digest)
        self._commit(actor, owner_id, [file], _summary([file]))
        return file

    def log_file(
        self,
        actor: Actor,
        owner_id: str,
        local_path: str | os.PathLike[str],
        artifact_path: str | None = None,
    ) -> FileInfo:
        """Upload a local file as ``<artifact_path>/<its name>`` (MLflow's ``log_artifact``)."""
        self._authorize(actor, Permission.EDIT, owner_id)
        local = Path(local_path)
        canonical = join_artifact_path(artifact_path or "", local.name)
        if not local.is_file():
            raise InvalidInput(f"Not a regular file: {local}")
        self._precheck(owner_id)
        ref = self.blobs.put_file(local)
        file = FileInfo(canonical, False, ref.size, ref.digest)
        self._commit(actor, owner_id, [file], _summary([file]))
        return file

    def log_dir(
        self,
        actor: Actor,
        owner_id: str,
        local_dir: str | os.PathLike[str],
        artifact_path: str | None = None,
    ) -> list[FileInfo]:
        """Upload a directory tree under ``artifact_path``: one transaction, one audit event.

        Every name is validated before any byte moves. Symlinks to files inside the tree are
        followed; a symlink leading outside it, a symlinked directory or a special file (FIFO,
        socket) is refused, so the upload is exactly the tree that was named.
        """
        self._authorize(actor, Permission.EDIT, owner_id)
        base = validate_artifact_path(artifact_path or "", allow_root=True)
        root = Path(local_dir)
        if not root.is_dir():
            raise InvalidInput(f"Not a directory: {root}")
        sources = [
            (local, join_artifact_path(base, rel)) for local, rel in walk_local_tree(root.resolve())
        ]
        if not sources:
            return []
        self._precheck(owner_id)
        files = []
        for local, canonical in sources:
            ref = self.blobs.put_file(local)
            files.append(FileInfo(canonical, False, ref.size, ref.digest))
        self._commit(actor, owner_id, files, _summary(files, directory=base))
        return files

    def put_small(self, directory: str, files: Mapping[str, bytes]) -> list[FileInfo]:
        """Store small files' bytes as blobs, durable on return, and name them below
        ``directory``; no row is written: ``record_in`` writes them in the caller's
        transaction, so a write that ends a step commits its files with it (one transaction
        where ``log_dir`` took two and a read).

        Every path is validated before a byte is stored. The blobs are durable before the
        rows that point at them can commit; a transaction that fails leaves them unreferenced,
        for garbage collection.
        """
        base = validate_artifact_path(directory)
        named = [(join_artifact_path(base, rel), data) for rel, data in sorted(files.items())]
        stored = []
        for canonical, data in named:
            ref = self.blobs.put_bytes(data)
            stored.append(FileInfo(canonical, False, ref.size, ref.digest))
        return stored

    def record_in(
        self,
        conn: Connection,
        actor: Actor,
        owner_id: str,
        directory: str,
        files: Sequence[FileInfo],
    ) -> None:
        """The rows of files ``put_small`` stored, and their ``artifact.log`` event (the one
        ``log_dir`` appends), inside the caller's transaction; the caller authorizes."""
        if files:
            self._commit_in(conn, actor, owner_id, files, _summary(files, directory=directory))

    def delete(self, actor: Actor, owner_id: str, path: str) -> int:
        """Delete a file or a whole directory; returns how many files went. Blobs stay until GC."""
        self._authorize(actor, Permission.MANAGE, owner_id)
        canonical = validate_artifact_path(path)
        with self.db.write() as conn:
            self.check_owner(conn, owner_id)
            store = ArtifactFileStore(conn)
            single = store.get(owner_id, canonical)
            files = ([single] if single is not None else []) + store.walk(owner_id, canonical)
            if not files:
                raise NotFound("No such artifact")
            deleted = store.delete(owner_id, canonical)
            is_file = single is not None and len(files) == 1
            summary = _summary(files) if is_file else _summary(files, directory=canonical)
            audit.append(conn, actor, "artifact.delete", self.resource_type, owner_id, summary)
        return deleted

    def collect_garbage(self, actor: Actor, *, min_age_s: float = 3600.0) -> int:
        """Delete blobs no owner references (and stale temp files); returns the blobs deleted."""
        self.authz.check(actor, Permission.MANAGE, Resource("artifacts", "*"))
        with self.db.read(snapshot=True) as conn:
            referenced = set(ArtifactFileStore(conn).referenced_digests())
        removed = self.blobs.delete_unreferenced(referenced, min_age_s=min_age_s)
        with self.db.write() as conn:
            audit.append(conn, actor, "artifact.gc", "artifacts", "*", {"removed": removed})
        return removed

    # ---- reads ---------------------------------------------------------------------------------

    def list(self, actor: Actor, owner_id: str, path: str = "") -> list[FileInfo]:
        """Files and directories directly under ``path`` (empty for a file or a missing path)."""
        self._authorize(actor, Permission.READ, owner_id)
        canonical = validate_artifact_path(path, allow_root=True)
        with self.db.read() as conn:
            self.check_owner_readable(conn, owner_id)
            return ArtifactFileStore(conn).list(owner_id, canonical)

    def stat(self, actor: Actor, owner_id: str, path: str) -> FileInfo:
        """The file or directory at ``path``; ``NotFound`` if there is neither."""
        self._authorize(actor, Permission.READ, owner_id)
        canonical = validate_artifact_path(path)
        with self.db.read() as conn:
            self.check_owner_readable(conn, owner_id)
            store = ArtifactFileStore(conn)
            info = store.get(owner_id, canonical)
            if info is None and store.is_dir(owner_id, canonical):
                info = FileInfo(canonical, is_dir=True)
        if info is None:
            raise NotFound("No such artifact")
        return info

    def open(self, actor: Actor, owner_id: str, path: str) -> tuple[FileInfo, Iterator[bytes]]:
        """A file's info and its bytes as chunks; close the iterator if you stop early."""
        info = self.stat(actor, owner_id, path)
        if info.is_dir or info.digest is None:
            raise InvalidInput("The artifact is a directory")
        chunk = self.db.settings.stream_chunk_bytes
        return info, self.blobs.iter_chunks(info.digest, chunk_size=chunk)

    def preview(self, actor: Actor, owner_id: str, path: str, rows: int = 100) -> TablePreview:
        """The first ``rows`` rows of a CSV, TSV, Parquet or JSON (lines) file, read within
        ``artifacts.preview``'s bounds; ``PreviewUnsupported`` for anything else."""
        if isinstance(rows, bool) or not 1 <= rows <= MAX_PREVIEW_ROWS:
            raise InvalidInput(f"rows must be between 1 and {MAX_PREVIEW_ROWS}, not {rows!r}")
        info = self.stat(actor, owner_id, path)
        if info.is_dir or info.digest is None:
            raise InvalidInput("The artifact is a directory")
        preview_format(info.path)
        with contextlib.closing(self.blobs.open(info.digest)) as handle:
            return preview_table(handle, info.path, rows)

    def download(
        self, actor: Actor, owner_id: str, path: str, dest_dir: str | os.PathLike[str]
    ) -> Path:
        """Write a file or a directory (everything for ``""``) under ``dest_dir``, keeping its
        artifact path; returns the local path of what ``path`` names.

        Each file lands through a temp file and ``os.replace``, so an existing symlink at the
        target is replaced, never followed; a symlink in a directory on the way is refused.
        """
        self._authorize(actor, Permission.READ, owner_id)
        canonical = validate_artifact_path(path, allow_root=True)
        with self.db.read() as conn:
            self.check_owner_readable(conn, owner_id)
            store = ArtifactFileStore(conn)
            single = store.get(owner_id, canonical) if canonical else None
            files = [single] if single is not None else store.walk(owner_id, canonical)
        if not files and canonical:
            raise NotFound("No such artifact")
        root = Path(dest_dir)
        root.mkdir(parents=True, exist_ok=True)
        root = root.resolve()
        for file in files:
            self._write_local(root, file)
        return local_target(root, canonical)

    # ---- helpers -------------------------------------------------------------------------------

    def _authorize(self, actor: Actor, permission: Permission, owner_id: str) -> None:
        self.authz.check(actor, permission, Resource(self.resource_type, owner_id))

    def _precheck(self, owner_id: str) -> None:
        """Fail before uploading to an owner that cannot take it (checked again at commit)."""
        with self.db.read() as conn:
            self.check_owner(conn, owner_id)

    def _commit(
        self, actor: Actor, owner_id: str, files: Sequence[FileInfo], summary: dict[str, Any]
    ) -> None:
        with self.db.write() as conn:
            self._commit_in(conn, actor, owner_id, files, summary)

    def _commit_in(
        self,
        conn: Connection,
        actor: Actor,
        owner_id: str,
        files: Sequence[FileInfo],
        summary: dict[str, Any],
    ) -> None:
        self.check_owner(conn, owner_id)
        store = ArtifactFileStore(conn)
        clash = store.clashes(owner_id, [f.path for f in files])
        if clash is not None:
            raise Conflict("A file and a directory cannot share a path", path=clash)
        store.put_many(owner_id, files, now_ms())
        audit.append(conn, actor, "artifact.log", self.resource_type, owner_id, summary)

    def _write_local(self, root: Path, file: FileInfo) -> None:
        assert file.digest is not None
        target = local_target(root, file.path)
        _make_dirs(root, target.parent)
        temp = target.parent / f".{uuid.uuid4().hex}.clew-part"
        try:
            self.blobs.copy_to(file.digest, temp)
            if temp.stat().st_size != file.size:
                raise Conflict("Stored artifact does not match its recorded size")
            os.replace(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def _make_dirs(root: Path, directory: Path) -> None:
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
