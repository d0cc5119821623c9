"""Opaque page tokens for keyset (cursor) paging, shared by every search.

A token is urlsafe base64 of compact JSON: ``{"f": fingerprint, "p": payload}``. The payload is
whatever a search needs to resume (typically the last row's sort values and id); the
fingerprint is a short hash of the query the token belongs to, so a token replayed against a
different filter or ordering is refused instead of silently skipping or repeating rows.

Tokens are not signed: the payload is only ever used as bound parameters after the caller
has checked its shape, so a forged token can at worst start a page somewhere else. Anything
malformed is :class:`~clew.core.errors.InvalidPageToken` (400), never a server error.

Example:
    >>> fp = fingerprint("runs", "metrics.acc > 0.9", ["start_time DESC"])
    >>> decode(encode({"last": [1, "ab"]}, fingerprint=fp), fp)
    {'last': [1, 'ab']}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from clew.core.errors import InvalidPageToken

MAX_TOKEN_LENGTH = 8192


def fingerprint(*parts: Any) -> str:
    """A short, stable hash of the query a token belongs to (anything JSON-serialisable)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(payload: Mapping[str, Any], *, fingerprint: str) -> str:
    """Pack ``payload`` and the query's ``fingerprint`` into an opaque, URL-safe token.

    Non-finite floats are allowed (a metric can be infinite); they travel as JSON's
    ``Infinity`` extension, which :func:`decode` reads back.
    """
    body = json.dumps({"f": fingerprint, "p": dict(payload)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(token: str, fingerprint: str) -> dict[str, Any]:
    """Unpack a token made by :func:`encode` for the query with this ``fingerprint``.

    Raises:
        InvalidPageToken: the token is malformed, or was issued for another query.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidPageToken("Invalid page token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode())
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidPageToken("Invalid page token: not a token this server issued") from exc
    if not isinstance(body, dict) or not isinstance(body.get("p"), dict):
        raise InvalidPageToken("Invalid page token: not a token this server issued")
    if body.get("f") != fingerprint:
        raise InvalidPageToken(
            "Invalid page token: it belongs to a different query "
            "(filter, order_by or scope changed); start again without a token"
        )
    return body["p"]
