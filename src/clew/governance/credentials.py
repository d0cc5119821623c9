"""Credentials: password hashing (Argon2id) and the shape of access tokens and session ids.

Passwords: OWASP's Argon2id with ``argon2-cffi``; at least ``CLEW_PASSWORD_MIN_LENGTH``
characters and never blank, for every caller including admins (MLflow accepted empty and
short passwords: CVE-2025-1474, CVE-2025-11200). Unknown users are checked against a dummy
hash, so a login takes as long whether or not the name exists.

Tokens: ``clew_pat_`` (a person's) or ``clew_sat_`` (a service account's), 43 base62
characters of 256 random bits, and a 6-character CRC32 checksum, so a secret scanner can tell
a real token from noise offline. A 256-bit random secret needs no slow hash: the store keeps
its SHA-256, unique-indexed, and a request's token is found in one lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from clew.core.errors import InvalidInput

PERSONAL_PREFIX: Final = "clew_pat_"
SERVICE_PREFIX: Final = "clew_sat_"
SESSION_PREFIX: Final = "clew_ses_"
#: The cookie a browser login's session secret travels in.
SESSION_COOKIE: Final = "clew_session"
_ALPHABET: Final = string.digits + string.ascii_letters
_BODY: Final = 43  # ceil(256 / log2(62))
_CHECK: Final = 6
MAX_PASSWORD: Final = 1024


@cache
def hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def check_password(password: object, min_length: int) -> str:
    if not isinstance(password, str) or not password.strip():
        raise InvalidInput("A password must not be empty or blank")
    if len(password) < min_length:
        raise InvalidInput(f"A password needs at least {min_length} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"A password has at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str, ph: PasswordHasher) -> str:
    return ph.hash(password)


def verify_password(stored: str | None, password: str, ph: PasswordHasher) -> bool:
    """Whether ``password`` matches; ``stored`` None (no such user, or no password) still
    spends one verification."""
    try:
        return ph.verify(stored or _dummy(ph), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy(ph: PasswordHasher) -> str:
    return ph.hash(secrets.token_urlsafe(16))


def _base62(data: bytes, width: int) -> str:
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()).to_bytes(4, "big"), _CHECK)


def new_token(prefix: str) -> str:
    body = _base62(secrets.token_bytes(32), _BODY)
    return f"{prefix}{body}{_checksum(prefix + body)}"


def well_formed(token: str) -> bool:
    """Right prefix, length and checksum: anything else is refused without a lookup."""
    for prefix in (PERSONAL_PREFIX, SERVICE_PREFIX, SESSION_PREFIX):
        if token.startswith(prefix) and len(token) == len(prefix) + _BODY + _CHECK:
            body, check = token[:-_CHECK], token[-_CHECK:]
            return hmac.compare_digest(_checksum(body), check)
    return False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
