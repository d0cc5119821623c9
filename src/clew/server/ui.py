"""The web UI's files: the single-page app built from ``ui/`` into ``clew/server/ui_dist``.

Served by pure ASGI middleware rather than a catch-all route: a catch-all would answer a GET
on a POST-only API route with the app's HTML instead of a 405, and would appear in the route
table as a route with no authorization rule. Here only GET and HEAD on paths outside the API
ever reach the UI; everything else passes through untouched.

The files are public on purpose (the login page must load before anyone signs in); they hold
no data. Every piece of data the UI shows comes from ``/api/v1`` with the caller's own
credentials. The HTML carries a strict Content-Security-Policy: scripts only from this
origin, no inline script, so a payload stored in a run name can never run even if a page
forgot to escape it.
"""

from __future__ import annotations

import gzip
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from clew.server.middleware import request_header

#: Where ``npm run build`` (``make ui``) writes the app.
UI_DIST: Final = Path(__file__).with_name("ui_dist")

#: Paths that belong to the APIs and operations, never to the UI.
_NOT_UI_PREFIXES: Final = ("/api/", "/ajax-api/", "/docs/")
_NOT_UI_PATHS: Final = frozenset(
    {"/api", "/ajax-api", "/health", "/version", "/metrics", "/ping", "/invocations"}
)

UI_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_IMMUTABLE: Final = b"public, max-age=31536000, immutable"
_NO_CACHE: Final = b"no-cache"
_COMPRESSIBLE: Final = (".js", ".css", ".html", ".svg", ".json", ".map", ".txt")
_MISSING_BUILD: Final = (
    b"<!doctype html><title>Clew</title><p>The web UI is not built. Run <code>make ui</code>"
    b" (or <code>npm --prefix ui ci && npm --prefix ui run build</code>); the API is at"
    b" <a href='/api/v1/docs'>/api/v1/docs</a>.</p>"
)


def is_ui_path(path: str) -> bool:
    """Whether a GET for ``path`` is the UI's to answer."""
    return path not in _NOT_UI_PATHS and not path.startswith(_NOT_UI_PREFIXES)


@dataclass(frozen=True, slots=True)
class _File:
    body: bytes
    gzipped: bytes | None
    media_type: str
    cache: bytes


class UiFiles:
    """Answer GET/HEAD for UI paths: a built file if one matches, else ``index.html`` (the
    app routes on the client, so ``/runs/abc`` is the app too). Files are read once and kept
    in memory with their gzip form: the whole build is a few hundred kB."""

    def __init__(self, app: ASGIApp, *, root: Path = UI_DIST) -> None:
        self.app = app
        self.root = root.resolve()
        self._files: dict[str, _File | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not is_ui_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        found = self._file(path)
        if found is None and path.startswith("/assets/"):  # a stale build's chunk: say so
            await _answer(send, scope, 404, b"Not found", None, "text/plain", _NO_CACHE, False)
            return
        found = found or self._file("/index.html")
        if found is None:
            await _answer(send, scope, 200, _MISSING_BUILD, None, "text/html", _NO_CACHE, True)
            return
        accepts_gzip = b"gzip" in (request_header(scope, b"accept-encoding") or b"")
        body = found.gzipped if accepts_gzip and found.gzipped is not None else found.body
        encoding = b"gzip" if body is not found.body else None
        html = found.media_type == "text/html"
        await _answer(send, scope, 200, body, encoding, found.media_type, found.cache, html)

    def _file(self, path: str) -> _File | None:
        if path in self._files:
            return self._files[path]
        loaded = self._load(path)
        if loaded is not None or len(self._files) < 1024:  # remember misses, but not forever
            self._files[path] = loaded
        return loaded

    def _load(self, path: str) -> _File | None:
        if path in ("", "/"):
            return None
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        body = candidate.read_bytes()
        media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        gzipped = (
            gzip.compress(body, 6)
            if candidate.suffix in _COMPRESSIBLE and len(body) > 1024
            else None
        )
        hashed = candidate.parent.name == "assets"  # Vite names them by content hash
        return _File(body, gzipped, media_type, _IMMUTABLE if hashed else _NO_CACHE)


async def _answer(
    send: Send,
    scope: Scope,
    status: int,
    body: bytes,
    encoding: bytes | None,
    media_type: str,
    cache: bytes,
    html: bool,
) -> None:
    content_type = media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", cache),
        (b"vary", b"accept-encoding"),
    ]
    if encoding:
        headers.append((b"content-encoding", encoding))
    if html:
        headers.append((b"content-security-policy", UI_CSP.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
