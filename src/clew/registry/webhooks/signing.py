"""Signing deliveries, and checking them on the receiving side.

Every delivery carries ``X-Clew-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
``HMAC-SHA256(secret, f"{t}." + raw body)``. Signing the timestamp with the body lets a receiver
refuse replays: a captured delivery is only good for ``tolerance`` seconds. More than one
``v1=`` entry may appear (room for secret rotation); any one matching is enough.

Receivers need nothing but this module (and the standard library underneath it)::

    from clew.registry.webhooks.signing import SIGNATURE_HEADER, verify_signature

    if not verify_signature(secret, request.headers[SIGNATURE_HEADER], raw_body):
        return 401

Verify the raw bytes as received, before parsing the JSON: re-serialising changes them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Final

SIGNATURE_HEADER: Final = "X-Clew-Signature"
EVENT_HEADER: Final = "X-Clew-Event"
DELIVERY_HEADER: Final = "X-Clew-Delivery"
ATTEMPT_HEADER: Final = "X-Clew-Attempt"
#: Five minutes, as most webhook senders use: room for clock skew, little for a replay.
DEFAULT_TOLERANCE_S: Final = 300
_SECRET_PREFIX: Final = "whsec_"


def new_secret() -> str:
    """A fresh signing secret (256 random bits). The whole string, prefix included, is the key."""
    return _SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature: hex HMAC-SHA256 of ``"<timestamp>." + body`` keyed by ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={int(timestamp)},v1={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid, fresh signature of ``body`` under ``secret``.

    Args:
        secret: the webhook's secret, as shown when it was created.
        header: the ``X-Clew-Signature`` value (None or malformed → False).
        body: the request body exactly as received.
        tolerance: how many seconds the signed timestamp may be away from ``now``, either way.
        now: the receiver's clock in Unix seconds (default: ``time.time()``).

    Example:
        >>> h = signature_header("whsec_k", 1700000000, b'{"a":1}')
        >>> verify_signature("whsec_k", h, b'{"a":1}', now=1700000010)
        True
        >>> verify_signature("whsec_k", h, b'{"a":2}', now=1700000010)
        False
    """
    if not header or not isinstance(header, str) or len(header) > 4096:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                return False
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode()
    # compare_digest on every candidate (no early exit): timing reveals nothing about which.
    matches = [hmac.compare_digest(expected, c.encode()) for c in candidates]
    return any(matches)
