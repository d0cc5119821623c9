"""A content-addressed blob store over fsspec: a local folder or an S3-compatible bucket.

Blobs are immutable, at ``<root>/blobs/ab/cdef…`` by sha256. A put streams into ``<root>/tmp/``
while hashing, then moves the temp into place: readers never see a partial blob, an interrupted
put leaves at most a temp (collected after an hour), the same bytes are stored once, and no
whole file is ever held in memory. Local folders use plain ``os`` calls (``fsync`` the file,
``os.replace``, ``fsync`` the directory: an acknowledged blob survives a crash). Other
filesystems go through fsspec; on S3 a PUT or completed multipart upload is atomic by itself,
so the temp key is copied server-side to its final key and then removed.

Collection against concurrent puts: a put that finds its blob present refreshes its time, and
collection skips blobs younger than ``min_age_s`` (an hour), reading the age again just before
deleting; a put whose transaction commits within that hour keeps its blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast, runtime_checkable

import fsspec
from fsspec.utils import get_protocol

from clew.artifacts.model import BlobRef
from clew.core.errors import InvalidInput, NotFound, PayloadTooLarge
from clew.core.settings import Settings

CHUNK_BYTES = 1 << 20
#: Read/hash/write unit for puts: large enough for disk speed, small enough not to matter.
PUT_BUFFER_BYTES = 4 << 20
#: How much of a blob is written before its pages start going to disk (``_FlushBehind``).
FLUSH_BEHIND_BYTES = 8 << 20
#: S3 multipart part size for puts (the minimum S3 allows is 5 MiB).
S3_PART_BYTES = 8 << 20
STALE_AFTER_S = 3600.0

_DIGEST = re.compile(r"[0-9a-f]{64}")

Piece = bytes | bytearray | memoryview
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
    """A source's bytes as lists of pieces; file-likes are read into one reused buffer."""
    if isinstance(source, BatchSource):
        yield from source.read_batches()  # type: ignore[misc]
        return
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        view = memoryview(bytearray(size))
        while n := readinto(view):
            yield [view[:n]]
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


class LocalBackend:
    """Plain ``os`` calls on a local folder: fsync, atomic rename, sendfile."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)

    def join(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def write_temp(self, batches: Iterator[list[Piece]], key: str) -> None:
        os.makedirs(os.path.dirname(key), exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(key, flags, 0o644)
        flusher = _FlushBehind(fd)
        try:
            for batch in batches:
                flusher.wrote(_write_all(fd, batch))
            flusher.finish()
            os.fsync(fd)
        except BaseException:
            flusher.finish(raising=False)
            os.close(fd)
            self.delete(key)
            raise
        os.close(fd)

    def publish(self, temp_key: str, final_key: str) -> None:
        directory = os.path.dirname(final_key)
        if not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)
            _fsync_dir(os.path.dirname(directory))
        try:
            os.utime(final_key)  # present: refresh it, GC must not take what a put is about to use
        except FileNotFoundError:
            os.replace(temp_key, final_key)
            _fsync_dir(directory)
        else:
            os.unlink(temp_key)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(key, "rb")  # the caller owns (and closes) the handle
        except FileNotFoundError:
            raise NotFound("Blob not found") from None

    def info(self, key: str) -> tuple[int, float] | None:
        """(size, modification time), or ``None`` if the key does not exist."""
        try:
            st = os.stat(key)
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(key)

    def listdir(self, key: str) -> Iterator[tuple[str, str, float | None]]:
        try:
            entries = list(os.scandir(key))
        except FileNotFoundError:
            return
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                yield entry.name, entry.path, entry.stat(follow_symlinks=False).st_mtime

    def get_file(self, key: str, dest: Path) -> None:
        if not os.path.exists(key):
            raise NotFound("Blob not found")
        shutil.copyfile(key, dest)  # sendfile on Linux: no copy through user space


def _write_all(fd: int, batch: list[Piece]) -> int:
    """Write a batch with ``writev`` (one system call, no joining), resuming short writes."""
    size = sum(len(piece) for piece in batch)
    if not hasattr(os, "writev"):  # Windows
        for piece in batch:
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]
        return size
    pending = [memoryview(piece) for piece in batch if len(piece)]
    while pending:
        written = os.writev(fd, pending[:_IOV_MAX])
        while written and written >= len(pending[0]):
            written -= len(pending.pop(0))
        if written:
            pending[0] = pending[0][written:]
    return size


_IOV_MAX = 1024
_DATASYNC: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


class _FlushBehind:
    """Starts writing a large blob's pages to disk while the rest of it is still arriving.

    Every ``FLUSH_BEHIND_BYTES`` written, an ``fdatasync`` runs on a helper thread (unless the
    previous one is still running), so the final ``fsync`` finds little left to write: a
    100 MB upload no longer ends with a ~0.1-0.2 s wait for the disk. Small blobs never start
    the thread. Durability is unchanged: the final ``fsync`` still covers every byte.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = 0
        self._pool: ThreadPoolExecutor | None = None
        self._running: Future[None] | None = None

    def wrote(self, size: int) -> None:
        self._pending += size
        if self._pending < FLUSH_BEHIND_BYTES:
            return
        if self._running is not None:
            if not self._running.done():
                return
            self._running.result()  # an I/O error surfaces here, not at the final fsync
        self._pool = self._pool or ThreadPoolExecutor(1, thread_name_prefix="clew-flush")
        self._running = self._pool.submit(_DATASYNC, self._fd)
        self._pending = 0

    def finish(self, *, raising: bool = True) -> None:
        """Wait for a running flush; it must end before the file descriptor is closed."""
        try:
            if self._running is not None:
                running, self._running = self._running, None
                if raising:
                    running.result()
                else:
                    wait([running])
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None


def _fsync_dir(directory: str) -> None:
    """Make a rename or a new entry durable (Windows cannot open directories; it skips this)."""
    if os.name != "nt":
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FsspecBackend:
    """Any fsspec filesystem; written and tested for S3 (s3fs)."""

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def join(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def write_temp(self, batches: Iterator[list[Piece]], key: str) -> None:
        handle = self.fs.open(key, "wb", block_size=S3_PART_BYTES)
        try:
            for batch in batches:
                for piece in batch:
                    handle.write(piece)
        except BaseException:
            with contextlib.suppress(Exception):  # never close(): it would commit the part written
                handle.discard()  # aborts a multipart upload
                handle.closed = True
            self.delete(key)
            raise
        handle.close()

    def publish(self, temp_key: str, final_key: str) -> None:
        existing = self.info(final_key)
        if existing is None or time.time() - existing[1] > STALE_AFTER_S / 2:
            # Absent, or old enough that GC could take it: (re)write it, which refreshes its time.
            self.fs.copy(temp_key, final_key)
        self.fs.rm_file(temp_key)

    def open(self, key: str) -> BinaryIO:
        try:
            return cast(BinaryIO, self.fs.open(key, "rb", block_size=CHUNK_BYTES * 8))
        except FileNotFoundError:
            raise NotFound("Blob not found") from None

    def info(self, key: str) -> tuple[int, float] | None:
        try:
            info = self.fs.info(key)
        except FileNotFoundError:
            return None
        return int(info["size"]), _info_mtime(info) or time.time()  # unknown time: young

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(key)

    def listdir(self, key: str) -> Iterator[tuple[str, str, float | None]]:
        try:
            entries = self.fs.ls(key, detail=True)
        except FileNotFoundError:
            return
        for info in entries:
            name = info["name"].rstrip("/")
            yield name.rsplit("/", 1)[-1], name, _info_mtime(info)

    def get_file(self, key: str, dest: Path) -> None:
        try:
            self.fs.get_file(key, str(dest))
        except FileNotFoundError:
            raise NotFound("Blob not found") from None


def _info_mtime(info: Mapping[str, Any]) -> float | None:
    """Modification time from an fsspec info dict; ``None`` (never collected) if unknown."""
    if info.get("type") == "directory":
        return None
    for field in ("LastModified", "mtime", "updated", "created"):
        value = info.get(field)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return None


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """Endpoint from the environment when not given, and no listing cache across replicas."""
    client_kwargs = dict(options.get("client_kwargs") or {})
    if "endpoint_url" not in options and "endpoint_url" not in client_kwargs:
        for var in ("FSSPEC_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
            if os.environ.get(var):
                client_kwargs["endpoint_url"] = os.environ[var]
                options["client_kwargs"] = client_kwargs
                break
    # Another replica may have written a blob since we listed: always ask the bucket.
    options.setdefault("use_listings_cache", False)
    return options


class BlobStore:
    """Immutable sha256-addressed blobs under one root. Safe for concurrent use."""

    def __init__(self, backend: LocalBackend | FsspecBackend) -> None:
        self._backend = backend

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
            options = _s3_options(options)
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
        helper: ThreadPoolExecutor | None = None

        def hashed() -> Iterator[list[Piece]]:
            # Each batch is hashed on a helper thread while it is written (both release the
            # GIL), so a put costs max(hash, write) rather than their sum.
            nonlocal total, helper
            for batch in _batches(source, PUT_BUFFER_BYTES):
                total += sum(len(piece) for piece in batch)
                if max_size is not None and total > max_size:
                    raise PayloadTooLarge("Artifact is larger than allowed", limit=max_size)
                helper = helper or ThreadPoolExecutor(1, thread_name_prefix="clew-sha256")
                hashing = helper.submit(_update, hasher, batch)
                try:
                    yield batch
                finally:
                    hashing.result()  # before the next read reuses the buffer

        temp_key = self._backend.join("tmp", uuid.uuid4().hex)
        try:
            self._backend.write_temp(hashed(), temp_key)
        finally:
            if helper is not None:
                helper.shutdown()
        digest = hasher.hexdigest()
        try:
            self._backend.publish(temp_key, self._key(digest))
        except BaseException:
            self._backend.delete(temp_key)
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
