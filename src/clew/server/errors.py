"""Every error of the native API, in one JSON shape: ``{"error": {code, message, details?}}``.

Routes hold no try/except: a ``ClewError`` carries its own status and code, and these handlers
turn it into JSON once. The HTTP client rebuilds the same class with ``error_from_dict``, so a
caller sees the same exception locally and over HTTP.

An API mounted beside the native one with its own error shape (MLflow's) registers it with
``ErrorShapes.add``: the handlers here and the request guard answer every error under its
prefixes in that shape, whatever raised it (a route, the router, the guard).

Messages never reflect raw request input (security.md §5 item 35): validation errors name the
field and the rule, never the value, and header values are never echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from clew.core.errors import (
    ClewError,
    InvalidInput,
    LimitExceeded,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)

#: Added to every response, including the ones built outside the middleware stack (500s).
SECURITY_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
)

_MAX_MESSAGE = 1000
_MAX_ERRORS = 10
_MAX_LOC_PART = 40
#: Pydantic error types that mean "too big": reported as ``LIMIT_EXCEEDED`` so the HTTP API
#: answers with the same code the service gives a local caller for the same input.
_LIMIT_TYPES = frozenset({"string_too_long", "too_long", "bytes_too_long"})


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer of the native API."""

    error: ErrorDetail


#: Declared on every feature router when the app mounts it, so the OpenAPI document (and
#: schemathesis) knows every error shape; declaring ranges also stops FastAPI from advertising
#: its default 422, which this API never sends.
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    "4XX": {"model": ErrorResponse, "description": "Invalid request (see `error.code`)"},
    "5XX": {"model": ErrorResponse, "description": "Server error or temporarily unavailable"},
}


def error_body(error: ClewError) -> bytes:
    return orjson.dumps({"error": error.to_dict()}, option=orjson.OPT_NON_STR_KEYS)


#: What a 401 says it takes (RFC 9110 §11.6.1).
CHALLENGE: Final = {"www-authenticate": 'Bearer realm="clew", Basic realm="clew"'}


def error_headers(status: int) -> dict[str, str] | None:
    if status == 503:
        return {"retry-after": "1"}
    return CHALLENGE if status == 401 else None


def error_response(error: ClewError) -> Response:
    headers = error_headers(error.status)
    return Response(
        error_body(error), status_code=error.status, headers=headers, media_type="application/json"
    )


class ErrorShapes:
    """The error shape of each path: the native one unless a mounted API claimed the prefix."""

    def __init__(self) -> None:
        self._claimed: list[tuple[str, Callable[[ClewError], Response]]] = []

    def add(self, prefixes: Iterable[str], render: Callable[[ClewError], Response]) -> None:
        self._claimed.extend((prefix.rstrip("/"), render) for prefix in prefixes)

    def response(self, path: str, error: ClewError) -> Response:
        for prefix, render in self._claimed:
            if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
                return render(error)
        return error_response(error)


def shaped(request: Request, error: ClewError) -> Response:
    shapes: ErrorShapes | None = getattr(request.app.state, "error_shapes", None)
    return shapes.response(request.url.path, error) if shapes else error_response(error)


async def _clew_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClewError)
    return shaped(request, exc)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p)[:_MAX_LOC_PART] for p in loc]
    return ".".join(parts) or "request"


def validation_error(errors: list[dict[str, Any]] | Any) -> ClewError:
    """A readable error from pydantic's list, without the offending values."""
    items = list(errors)[:_MAX_ERRORS]
    if any(e.get("type") == "json_invalid" for e in items):
        return InvalidInput("Request body is not valid JSON")
    lines = [f"{_loc(e.get('loc', ()))}: {str(e.get('msg', 'invalid'))[:200]}" for e in items]
    message = "Invalid request: " + "; ".join(lines)
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    fields = [_loc(e.get("loc", ())) for e in items]
    if items and all(e.get("type") in _LIMIT_TYPES for e in items):
        return LimitExceeded(message, fields=fields)
    return InvalidInput(message, fields=fields)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return shaped(request, validation_error(exc.errors()))


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) in the native shape."""
    assert isinstance(exc, StarletteHTTPException)
    error: ClewError
    if exc.status_code == 404:
        error = NotFound("No such endpoint", code="ENDPOINT_NOT_FOUND")
    elif exc.status_code == 405:
        error = MethodNotAllowed("Method not allowed on this endpoint")
    elif exc.status_code == 413:
        error = PayloadTooLarge("Request body is too large")
    elif exc.status_code == 415:
        error = UnsupportedMediaType("Unsupported Content-Type")
    elif 400 <= exc.status_code < 500:
        error = InvalidInput("Bad request")
    else:
        error = ClewError("Internal server error")
    response = shaped(request, error)
    response.status_code = exc.status_code
    if exc.headers and "allow" in {k.lower() for k in exc.headers}:
        response.headers["allow"] = exc.headers.get("Allow") or exc.headers.get("allow", "")
    return response


async def _unexpected(request: Request, _exc: Exception) -> Response:
    """Anything not raised on purpose: a 500 with a fixed message, never the traceback.

    Starlette's ``ServerErrorMiddleware`` calls this outside the app's middleware stack and
    re-raises afterwards (so the server logs the traceback), hence the explicit headers.
    """
    response = shaped(request, ClewError("Internal server error"))
    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


def install_error_handlers(app: FastAPI) -> None:
    """The handlers, and ``app.state.error_shapes`` for APIs that answer in their own shape."""
    app.state.error_shapes = ErrorShapes()
    app.add_exception_handler(ClewError, _clew_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
