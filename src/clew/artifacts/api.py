"""Run artifacts over HTTP: streamed upload, streamed download, listing and delete.

Bodies are never held in memory. An upload's async request stream feeds the (synchronous)
``ArtifactService.log_stream`` running in a worker thread: the thread pulls one chunk at a time
back from the event loop (``anyio.from_thread.run``), so at most one chunk is in flight whatever
the file size. Downloads are a ``StreamingResponse`` over the service's chunk iterator.

Every path goes to the service, which validates it (``artifacts.paths``) and uses only the
canonical form. Starlette has already percent-decoded the URL path once; what arrives here is
the name the client chose, and the validator checks every further decoding layer.

Downloads are always ``application/octet-stream`` with ``Content-Disposition: attachment``, so a
stored HTML or SVG file never renders in a browser on the server's origin (security.md §5
item 37).
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Annotated, Any, Final, Literal, TypeVar
from urllib.parse import quote

import anyio
import anyio.from_thread
import orjson
from fastapi import Path, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from clew.artifacts.model import FileInfo
from clew.core.errors import PayloadTooLarge
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["artifacts"])

RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
_UPLOAD = re.compile(r"^/runs/[^/]+/artifacts/.")
_BINARY: Final[dict[str, Any]] = {"schema": {"type": "string", "format": "binary"}}
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def is_upload(method: str, path: str) -> bool:
    """Whether a request (path relative to the API prefix) is a streamed artifact upload."""
    return method == "PUT" and _UPLOAD.match(path) is not None


class FileInfoOut(BaseModel):
    path: str
    is_dir: bool
    size: int | None
    digest: str | None


class FileList(BaseModel):
    files: list[FileInfoOut]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


HANDOFF_BYTES = 1024 * 1024
T = TypeVar("T")


class AsyncStreamReader(io.RawIOBase):
    """A blocking reader over an async byte stream, for code running in a worker thread.

    Each read that needs more data asks the event loop for up to ``HANDOFF_BYTES`` of the body
    and waits for it: memory stays at about a MiB. ``read_batches`` hands those network reads
    over as they are (the blob store hashes and ``writev``s them without gluing them together);
    ``readinto`` makes it an ordinary file for other consumers. Passing ``limit`` bytes raises
    ``PayloadTooLarge``.
    """

    def __init__(self, chunks: AsyncIterator[bytes], limit: int) -> None:
        super().__init__()
        self._chunks = chunks
        self._limit = limit
        self._buffer = memoryview(b"")
        self._eof = False
        self._ahead: asyncio.Future[list[bytes]] | None = None
        self.total = 0

    def readable(self) -> bool:
        return True

    async def _gather(self) -> list[bytes]:
        """Up to ``HANDOFF_BYTES`` of network reads: one thread-to-loop round trip per MiB
        rather than per read (~64-256 KiB), which bounded upload speed."""
        parts: list[bytes] = []
        size = 0
        while size < HANDOFF_BYTES:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                break
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        return parts

    async def _next_parts(self) -> list[bytes]:
        """The next MiB, gathered while the worker stored the previous one (uvicorn stops
        reading the socket at 64 KiB unconsumed, so without this the network waited for
        the disk and the hash); memory stays at two MiB."""
        ahead = self._ahead or asyncio.ensure_future(self._gather())
        parts = await ahead
        self._ahead = asyncio.ensure_future(self._gather()) if parts else None
        return parts

    def cancel_ahead(self) -> None:
        """On the event loop, once the worker is done: an upload refused half-way (too large,
        unknown run) leaves no read-ahead task behind."""
        if self._ahead is not None:
            self._ahead.cancel()
            self._ahead = None

    def _next_batch(self) -> list[bytes]:
        """The next parts of the body, or ``[]`` at its end."""
        if self._eof:
            return []
        parts = anyio.from_thread.run(self._next_parts)
        if not parts:
            # Starlette's stream ends with an empty chunk or StopAsyncIteration; either is EOF.
            self._eof = True
            return []
        self.total += sum(len(part) for part in parts)
        if self.total > self._limit:
            raise PayloadTooLarge(f"An artifact may be at most {self._limit} bytes")
        return parts

    def read_batches(self) -> Iterator[list[bytes]]:
        while parts := self._next_batch():
            yield parts

    def readinto(self, target: Any) -> int:
        while not self._buffer and not self._eof:
            self._buffer = memoryview(b"".join(self._next_batch()))
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


async def store_upload(request: Request, limit: int, store: Callable[[AsyncStreamReader], T]) -> T:
    """Run ``store(reader)`` in a worker thread over the request's streamed body."""
    reader = AsyncStreamReader(request.stream(), limit)
    try:
        return await anyio.to_thread.run_sync(store, reader)
    finally:
        reader.cancel_ahead()


def _content_disposition(path: str) -> str:
    name = path.rsplit("/", 1)[-1] or "artifact"
    fallback = _SAFE_FILENAME.sub("_", name) or "artifact"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    response_model=FileInfoOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}
    },
)
async def upload_artifact(
    run_id: RunId, path: str, request: Request, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Store the request body at ``path`` in the run's artifact tree (replacing any file there)."""
    info = await store_upload(
        request,
        platform.settings.max_artifact_bytes,
        partial(platform.artifacts.log_stream, actor, run_id, path),
    )
    return _json(info.to_dict())


@router.get("/runs/{run_id}/artifacts", response_model=FileList)
def list_artifacts(
    run_id: RunId,
    platform: PlatformDep,
    actor: ActorDep,
    path: Annotated[str, Query(max_length=4096)] = "",
) -> Response:
    """The direct children of ``path`` (the run's root by default)."""
    files = platform.artifacts.list(actor, run_id, path)
    return _json({"files": [f.to_dict() for f in files]})


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": _BINARY}}},
)
def download_artifact(run_id: RunId, path: str, platform: PlatformDep, actor: ActorDep) -> Response:
    return file_response(*platform.artifacts.open(actor, run_id, path))


def file_response(info: FileInfo, chunks: Iterator[bytes]) -> StreamingResponse:
    """A stored file as a download: octets, attachment, length, ETag and digest headers (any
    owner's files, so a logged model's download is the same as a run's)."""
    headers = {"content-disposition": _content_disposition(info.path)}
    if info.size is not None:
        headers["content-length"] = str(info.size)
    if info.digest:
        headers["etag"] = f'"{info.digest}"'
        headers["x-clew-digest"] = f"sha256:{info.digest}"
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


class TablePreviewOut(BaseModel):
    """The first rows of a table artifact. ``rows`` hold JSON values (CSV cells are strings;
    NaN and infinities the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``);
    ``total_rows`` is null when counting would read past the preview's bound."""

    format: Literal["csv", "tsv", "parquet", "json", "jsonl"]
    columns: list[str]
    rows: list[list[Any]]
    total_rows: int | None
    truncated: bool


@router.get("/runs/{run_id}/artifacts-preview/{path:path}", response_model=TablePreviewOut)
def preview_artifact(
    run_id: RunId,
    path: str,
    platform: PlatformDep,
    actor: ActorDep,
    rows: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """A CSV, TSV, Parquet or JSON (lines) artifact's first rows as a table, read within
    bounds (never the whole of a large file); other files are 400 ``PREVIEW_UNSUPPORTED``."""
    return _json(platform.artifacts.preview(actor, run_id, path, rows).to_dict())


@router.delete("/runs/{run_id}/artifacts/{path:path}", status_code=204, response_class=Response)
def delete_artifact(run_id: RunId, path: str, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.artifacts.delete(actor, run_id, path)
    return Response(status_code=204)
