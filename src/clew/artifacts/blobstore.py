"""A content-addressed blob store: a local folder or an S3-compatible bucket (``backends``).

Blobs are immutable, at ``<root>/blobs/ab/cdef…`` by sha256. A put streams into ``<root>/tmp/``
while hashing, then moves the temp into place: readers never see a partial blob, an interrupted
put leaves at most a temp (collected after an hour), the same bytes are stored once, and no
whole file is ever held in memory. The receiving, the hash and the write of a put run at once,
each on its own thread a few MiB behind the one before (``trailing``).

Collection against concurrent puts: a put that finds its blob present refreshes its time, and
collection skips blobs younger than ``min_age_s`` (an hour), reading the age again just before
deleting; a put whose transaction commits within that hour keeps its blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, Protocol, cast, runtime_checkable

import fsspec
from fsspec.utils import get_protocol

from clew.artifacts.backends import (
    CHUNK_BYTES,
    STALE_AFTER_S,
    FsspecBackend,
    LocalBackend,
    Piece,
    TempFile,
    s3_options,
)
from clew.artifacts.model import BlobRef
from clew.artifacts.trailing import Trailing
from clew.core.errors import InvalidInput, NotFound, PayloadTooLarge
from clew.core.settings import Settings

#: Read unit for file-like sources: large enough for disk speed, small enough not to matter.
PUT_BUFFER_BYTES: Final = 4 << 20
#: How far the hash and the write of a put may each trail the reading of it.
TRAIL_BYTES: Final = 8 << 20

_DIGEST = re.compile(r"[0-9a-f]{64}")

#: What a put reads: a file-like, an iterable of byte chunks, or a ``BatchSource``.
Source = Iterable[bytes] | IO[bytes]
Referenced = Callable[[str], bool] | set[str] | frozenset[str]


@runtime_checkable
class BatchSource(Protocol):
    """A source that hands over its bytes as lists of pieces it will not touch again.

    The server's upload reader is one: the body arrives as ~64-256 KiB network reads, and
    gluing them into one buffer (or copying them into a file-like's buffer) cost as much CPU as
    hashing them. A batch is hashed piece by piece and written with one ``writev``.
    """

    def read_batches(self) -> Iterator[list[bytes]]: ...


def _batches(source: Source | BatchSource, size: int) -> Iterator[list[Piece]]:
    """A source's bytes as lists of pieces. Every piece is a fresh object, never a reused
    buffer: the hash and the write of a batch may still be running when the next one is read."""
    if isinstance(source, BatchSource):
        yield from source.read_batches()  # type: ignore[misc]
        return
    read = getattr(source, "read", None)
    if read is not None:
        for chunk in iter(lambda: read(size), b""):
            yield [chunk]
        return
    for chunk in cast(Iterable[bytes], source):
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidInput("put_stream expects bytes chunks")
        if chunk:
            yield [chunk]


def _update(hasher: Any, batch: list[Piece]) -> None:
    for piece in batch:
        hasher.update(piece)


class BlobStore:
    """Immutable sha256-addressed blobs under one root. Safe for concurrent use."""

    def __init__(self, backend: LocalBackend | FsspecBackend) -> None:
        self._backend = backend
        self._prefixes_made = False

    @classmethod
    def from_uri(
        cls, root: str | None = None, storage_options: Mapping[str, Any] | None = None
    ) -> BlobStore:
        """A store at ``root``: a local folder (default ``CLEW_HOME/artifacts``) or ``s3://…``.

        S3 endpoints come from ``storage_options`` (``client_kwargs={"endpoint_url": …}``) or the
        environment (``FSSPEC_S3_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``);
        credentials follow the usual AWS chain.
        """
        root = root or Settings().resolved_artifact_root()
        protocol = get_protocol(root)
        if protocol in ("file", "local"):
            local = root.split("://", 1)[1] if "://" in root else root
            return cls(LocalBackend(Path(local).expanduser().resolve()))
        options = dict(storage_options or {})
        if protocol in ("s3", "s3a"):
            options = s3_options(options)
        fs, path = fsspec.core.url_to_fs(root, **options)
        return cls(FsspecBackend(fs, path))

    @property
    def root(self) -> str:
        return self._backend.root

    def _key(self, digest: str) -> str:
        """A digest is 64 lowercase hex characters; anything else never reaches a path."""
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise InvalidInput("Invalid blob digest: expected 64 lowercase hex characters")
        return self._backend.join("blobs", digest[:2], digest[2:])

    def put_stream(self, source: Source | BatchSource, *, max_size: int | None = None) -> BlobRef:
        """Store a stream's bytes and return their digest and size.

        Raises ``PayloadTooLarge`` (storing nothing) once more than ``max_size`` bytes arrive.
        """
        hasher, total = hashlib.sha256(), 0
        temp: TempFile = self._backend.open_temp(self._backend.join("tmp", uuid.uuid4().hex))
        hashing = Trailing(partial(_update, hasher), "clew-sha256", TRAIL_BYTES)
        writing = Trailing(temp.write, "clew-write", TRAIL_BYTES)
        try:
            for batch in _batches(source, PUT_BUFFER_BYTES):
                size = sum(len(piece) for piece in batch)
                total += size
                if max_size is not None and total > max_size:
                    raise PayloadTooLarge("Artifact is larger than allowed", limit=max_size)
                hashing.submit(batch, size)
                writing.submit(batch, size)
            hashing.finish()
            writing.finish()
            temp.commit()
        except BaseException:
            hashing.close()
            writing.close()
            temp.abort()
            raise
        digest = hasher.hexdigest()
        if not self._prefixes_made:
            # All 256 ``blobs/ab/`` folders at once: in a new store most puts would otherwise
            # make their own, with an fsync of ``blobs/`` each (a small put's third fsync).
            self._backend.make_dirs([self._backend.join("blobs", f"{i:02x}") for i in range(256)])
            self._prefixes_made = True
        try:
            self._backend.publish(temp.key, self._key(digest))
        except BaseException:
            self._backend.delete(temp.key)
            raise
        return BlobRef(digest, total)

    def put_file(self, path: str | os.PathLike[str]) -> BlobRef:
        with open(path, "rb", buffering=0) as handle:
            return self.put_stream(handle)

    def put_bytes(self, data: bytes) -> BlobRef:
        return self.put_stream([data])

    def open(self, digest: str) -> BinaryIO:
        """A binary file object over the blob; the caller closes it."""
        return self._backend.open(self._key(digest))

    def iter_chunks(self, digest: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The blob's bytes in chunks. Opens at once, so a missing blob raises here."""
        return _read_chunks(self.open(digest), chunk_size)

    def copy_to(self, digest: str, dest: str | os.PathLike[str]) -> None:
        """Write the blob to the local file ``dest`` (overwritten), by the fastest route."""
        self._backend.get_file(self._key(digest), Path(dest))

    def exists(self, digest: str) -> bool:
        return self._backend.info(self._key(digest)) is not None

    def size(self, digest: str) -> int:
        info = self._backend.info(self._key(digest))
        if info is None:
            raise NotFound("Blob not found")
        return info[0]

    def verify(self, digest: str) -> bool:
        """Re-hash the blob: ``False`` if it is missing or its bytes no longer match."""
        hasher = hashlib.sha256()
        try:
            for chunk in self.iter_chunks(digest, PUT_BUFFER_BYTES):
                hasher.update(chunk)
        except NotFound:
            return False
        return hasher.hexdigest() == digest

    def iter_digests(self) -> Iterator[tuple[str, float | None]]:
        """Every stored blob's digest and modification time, in no particular order."""
        backend = self._backend
        for prefix, prefix_key, _ in backend.listdir(backend.join("blobs")):
            for rest, _, mtime in backend.listdir(prefix_key) if len(prefix) == 2 else ():
                if _DIGEST.fullmatch(prefix + rest):  # anything else is not ours: leave it
                    yield prefix + rest, mtime

    def delete_unreferenced(
        self,
        referenced: Referenced,
        *,
        min_age_s: float = STALE_AFTER_S,
        temp_min_age_s: float = STALE_AFTER_S,
    ) -> int:
        """Garbage-collect: delete blobs nothing references, and stale temp files.

        ``referenced`` is a set of digests or a predicate. Only blobs older than ``min_age_s``
        are deleted (see the module docstring for why), and only temps older than
        ``temp_min_age_s``: younger ones may belong to a put in flight. Returns the number of
        blobs deleted.
        """
        is_referenced = (
            referenced.__contains__ if isinstance(referenced, set | frozenset) else referenced
        )
        removed = 0
        for digest, mtime in list(self.iter_digests()):
            cutoff = time.time() - min_age_s
            if mtime is None or mtime > cutoff or is_referenced(digest):
                continue
            key = self._key(digest)
            latest = self._backend.info(key)
            if latest is None or latest[1] > cutoff:
                continue
            self._backend.delete(key)
            removed += 1
        for _, key, mtime in list(self._backend.listdir(self._backend.join("tmp"))):
            if mtime is not None and mtime <= time.time() - temp_min_age_s:
                self._backend.delete(key)
        return removed


def _read_chunks(handle: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(chunk_size):
            yield chunk
