"""The one error hierarchy. Each class carries its HTTP status and a stable code.

Routes never catch these: the server maps them to JSON once (native shape) and the MLflow
adapter maps them once more (MLflow's shape). Codes are part of the API contract; add new
ones, never rename.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ClewError(Exception):
    """Base of every error Clew raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(ClewError):
    status = 400
    code = "INVALID_PARAMETER_VALUE"


class InvalidFilter(InvalidInput):
    code = "INVALID_FILTER"


class InvalidPath(InvalidInput):
    code = "INVALID_PATH"


class InvalidPageToken(InvalidInput):
    code = "INVALID_PAGE_TOKEN"


class UrlNotAllowed(InvalidInput):
    """An outbound URL (a webhook) the SSRF guard refuses: bad shape, or a host that is or
    resolves to a non-public address the operator has not opened (``core/netguard.py``)."""

    code = "URL_NOT_ALLOWED"


class InvalidSource(InvalidInput):
    """A model version source URI that is not allowed (security.md §1b): traversal in any
    encoding, a query, fragment or params, a scheme off the allow-list, a host on ``file:``."""

    code = "INVALID_SOURCE"


class InvalidModelName(InvalidInput):
    """A registered model name or alias with a path separator, ``..``, an escape or a control
    character: names reach URLs and, in peers, file paths (CVE-2023-1176)."""

    code = "INVALID_MODEL_NAME"


class InvalidStatusTransition(InvalidInput):
    """A status change the lifecycle does not allow (a logged model goes PENDING → READY or
    FAILED, once)."""

    code = "INVALID_STATUS_TRANSITION"


class ParamOverwrite(InvalidInput):
    """A param is immutable: logging a different value for an existing key."""

    code = "PARAM_OVERWRITE"


class HostNotAllowed(InvalidInput):
    """A ``Host`` header the server does not answer to (DNS rebinding, security.md §1f)."""

    code = "HOST_NOT_ALLOWED"


class LimitExceeded(InvalidInput):
    code = "LIMIT_EXCEEDED"


class PreviewUnsupported(InvalidInput):
    """An artifact the table preview cannot show: not CSV, TSV, Parquet or JSON (lines), not
    a table, or larger than the preview reads; the file itself is still downloadable."""

    code = "PREVIEW_UNSUPPORTED"


class PayloadTooLarge(ClewError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(ClewError):
    """A body in a Content-Type the route does not take (JSON for the API, octets for uploads)."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class MethodNotAllowed(ClewError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class NotFound(ClewError):
    status = 404
    code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(ClewError):
    status = 409
    code = "RESOURCE_ALREADY_EXISTS"


class Conflict(ClewError):
    """The request is valid but the resource's state forbids it (e.g. logging to a deleted run)."""

    status = 409
    code = "INVALID_STATE"


class Unauthenticated(ClewError):
    status = 401
    code = "UNAUTHENTICATED"


class PermissionDenied(ClewError):
    status = 403
    code = "PERMISSION_DENIED"


class TemporarilyUnavailable(ClewError):
    status = 503
    code = "TEMPORARILY_UNAVAILABLE"


class BadGateway(ClewError):
    """A service the request relies on did not answer, or answered something unusable: an OIDC
    provider behind a login, or (seen by the HTTP client) a proxy in front of the server."""

    status = 502
    code = "BAD_GATEWAY"


class InvalidModel(InvalidInput):
    """A model directory that is not a readable model (no or malformed MLmodel, unknown flavor)."""

    code = "INVALID_MODEL"


class ModelIntegrityError(ClewError):
    """A model's files differ from the digests its MLmodel records: changed, missing or extra.

    Details list the offending relative paths under ``mismatched``, ``missing``, ``unrecorded``.
    """

    status = 422
    code = "MODEL_DIGEST_MISMATCH"


class UntrustedModel(ClewError):
    """Loading would run code from the artifact and nothing vouches for it (no digests, unknown
    skops types); the caller must opt in explicitly."""

    status = 422
    code = "MODEL_UNTRUSTED"


def _all_subclasses(cls: type[ClewError]) -> list[type[ClewError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _all_subclasses(sub)
    return out


def error_from_dict(body: dict[str, Any], status: int) -> ClewError:
    """Rebuild the error a server sent (the HTTP client raises what the local client would)."""
    code = str(body.get("code") or "INTERNAL_ERROR")
    message = str(body.get("message") or "")
    details = body.get("details") or {}
    by_code = {c.code: c for c in _all_subclasses(ClewError)}
    cls = by_code.get(code)
    if cls is None:
        cls = next((c for c in _all_subclasses(ClewError) if c.status == status), ClewError)
    err = cls(message, code=code, **details)
    return err
