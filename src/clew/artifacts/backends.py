"""Where blobs live: a local folder through plain ``os`` calls, or any fsspec filesystem (S3).

Both backends speak in keys (full paths under the store's root) and know nothing of digests.
A put goes to a temp file first (``open_temp``), written batch by batch, then ``commit``ted
(durable) and ``publish``ed under its final key. Local folders: ``fsync`` the file,
``os.replace``, ``fsync`` the directory, so an acknowledged blob survives a crash. S3: a PUT or
a completed multipart upload is atomic by itself, so the temp key is copied server-side to its
final key and then removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol, cast

from clew.core.errors import NotFound

Piece = bytes | bytearray | memoryview
CHUNK_BYTES: Final = 1 << 20
#: How much of a blob is written before its pages start going to disk (``_FlushBehind``).
FLUSH_BEHIND_BYTES: Final = 8 << 20
#: S3 multipart part size for puts (the minimum S3 allows is 5 MiB).
S3_PART_BYTES: Final = 8 << 20
#: A blob (or temp) younger than this is never collected.
STALE_AFTER_S: Final = 3600.0


class TempFile(Protocol):
    """A put in progress: ``write`` batches in order, then ``commit`` or ``abort``."""

    key: str

    def write(self, batch: list[Piece]) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class LocalBackend:
    """Plain ``os`` calls on a local folder: fsync, atomic rename, sendfile."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)

    def join(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def open_temp(self, key: str) -> LocalTempFile:
        os.makedirs(os.path.dirname(key), exist_ok=True)
        return LocalTempFile(key)

    def make_dirs(self, keys: list[str]) -> None:
        """Make the directories ``keys`` (all under one parent) that are missing, with one
        fsync of the parent for all of them: a put into a directory that is not there yet
        makes it and fsyncs its parent itself, a third fsync for that put."""
        missing = [key for key in keys if not os.path.isdir(key)]
        if not missing:
            return
        parent = os.path.dirname(missing[0])
        new_parent = not os.path.isdir(parent)
        for key in missing:
            os.makedirs(key, exist_ok=True)
        _fsync_dir(parent)
        if new_parent:
            _fsync_dir(os.path.dirname(parent))

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


class LocalTempFile:
    """A new file written with ``writev``; ``commit`` makes every byte durable."""

    def __init__(self, key: str) -> None:
        self.key = key
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        self._fd = os.open(key, flags, 0o644)
        self._flusher = _FlushBehind(self._fd)

    def write(self, batch: list[Piece]) -> None:
        self._flusher.wrote(_write_all(self._fd, batch))

    def commit(self) -> None:
        self._flusher.finish()
        os.fsync(self._fd)
        os.close(self._fd)

    def abort(self) -> None:
        self._flusher.finish(raising=False)
        os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.key)


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

    def open_temp(self, key: str) -> FsspecTempFile:
        return FsspecTempFile(self, key)

    def make_dirs(self, keys: list[str]) -> None:
        """Object stores have no directories: nothing to make."""

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


class FsspecTempFile:
    """An fsspec file in write mode: on S3, a multipart upload completed by ``commit``."""

    def __init__(self, backend: FsspecBackend, key: str) -> None:
        self._backend, self.key = backend, key
        self._handle = backend.fs.open(key, "wb", block_size=S3_PART_BYTES)

    def write(self, batch: list[Piece]) -> None:
        for piece in batch:
            self._handle.write(piece)

    def commit(self) -> None:
        self._handle.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # never close(): it would commit the part written
            self._handle.discard()  # aborts a multipart upload
            self._handle.closed = True
        self._backend.delete(self.key)


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


def s3_options(options: dict[str, Any]) -> dict[str, Any]:
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
