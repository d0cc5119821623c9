"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: it buffers and costs a task per request).

- ``SecurityHeaders``: ``nosniff``, ``X-Frame-Options: DENY`` and friends on every response.
- ``RequestGuard``: control characters in the path, the body-size limit and the Content-Type
  rule for state-changing requests, all enforced before the app reads a byte (security.md §5
  items 3, 33, 42).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from email.message import Message as _MimeMessage
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clew.core.errors import (
    ClewError,
    HostNotAllowed,
    InvalidPath,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from clew.server.errors import SECURITY_HEADERS, ErrorShapes

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
OCTETS = "application/octet-stream"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def send_error(scope: Scope, send: Send, error: ClewError) -> None:
    """Answer ``error`` before the app runs, in the shape of the API the path belongs to."""
    shapes: ErrorShapes | None = getattr(
        getattr(scope.get("app"), "state", None), "error_shapes", None
    )
    response = (
        shapes.response(scope["path"], error) if shapes else ErrorShapes().response("", error)
    )
    response.headers["connection"] = "close"
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def request_header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _media_type(raw: bytes) -> str:
    """``application/json; charset=utf-8`` -> ``application/json`` (parsed, never reflected)."""
    msg = _MimeMessage()
    msg["content-type"] = raw.decode("latin-1")
    return msg.get_content_type()


class _BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit; the guard answers 413."""


class RequestGuard:
    """Body-size limit and Content-Type check.

    ``upload_route(method, path)`` says whether a request is a streamed artifact upload: those
    take ``application/octet-stream`` and a larger limit (``upload_limit``) since they are never
    held in memory. A declared ``Content-Length`` over the limit is refused before the app runs;
    a chunked body is counted as it streams, and the moment it passes the limit the guard
    answers 413 itself and discards whatever the app tries to send after that (FastAPI turns
    exceptions raised while it reads a body into its own 400, which must not win).

    ``any_type_upload(method, path)`` marks uploads that take a body of any type: MLflow's
    client sends each artifact with the media type it guesses from the file name.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        upload_limit: int,
        upload_route: Callable[[str, str], bool],
        any_type_upload: Callable[[str, str], bool] = lambda _method, _path: False,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_limit = upload_limit
        self.upload_route = upload_route
        self.any_type_upload = any_type_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _CONTROL.search(scope["path"]):
            # A decoded path with control characters (``%0A``, ``%00``) is never legitimate;
            # the router would just not match it (404), which hides what was wrong.
            await send_error(
                scope, send, InvalidPath("Invalid request path", reason="control_character")
            )
            return
        if scope["method"] not in _STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        any_type = self.any_type_upload(scope["method"], scope["path"])
        upload = any_type or self.upload_route(scope["method"], scope["path"])
        limit = self.upload_limit if upload else self.max_body_bytes
        length_header = request_header(scope, b"content-length")
        chunked = request_header(scope, b"transfer-encoding") is not None
        declared: int | None = None
        if length_header is not None:
            try:
                declared = int(length_header)
            except ValueError:
                declared = None
        if declared is not None and declared > limit:
            await send_error(
                scope, send, PayloadTooLarge(f"Request body is larger than {limit} bytes")
            )
            return
        if (chunked or (declared or 0) > 0) and not any_type:
            content_type = request_header(scope, b"content-type")
            wanted = OCTETS if upload else JSON
            if content_type is None or _media_type(content_type) != wanted:
                await send_error(
                    scope,
                    send,
                    UnsupportedMediaType(f"This endpoint takes a body of type {wanted}"),
                )
                return
        await self._guarded(scope, receive, send, limit)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        rejected = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    rejected = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected or started:
                raise
        if rejected and not started:
            await send_error(
                scope, send, PayloadTooLarge(f"Request body is larger than {limit} bytes")
            )


#: The names a loopback server answers to (with or without a port).
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """A bind address or name that only this machine reaches."""
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """``Host`` without its port: ``[::1]:5000`` → ``[::1]``, ``a.example:80`` → ``a.example``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostGuard:
    """Answers only requests whose ``Host`` names this server (DNS rebinding: a page on
    ``evil.example`` whose name resolves to 127.0.0.1 makes the browser send its requests to a
    loopback server with ``Host: evil.example``; a page cannot forge the header). ``allowed``
    None answers every name (a server bound beyond loopback, with ``CLEW_ALLOWED_HOSTS`` unset).
    """

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            header = request_header(scope, b"host")
            name = None if header is None else host_name(header.decode("latin-1"))
            if name not in self.allowed:
                await send_error(scope, send, HostNotAllowed(
                    "This server does not answer to that Host; list it in CLEW_ALLOWED_HOSTS"
                ))  # fmt: skip
                return
        await self.app(scope, receive, send)
