"""Checking an OIDC ID token (OpenID Connect Core 1.0, §3.1.3.7), with ``joserfc`` for the
signature and every claim checked here, explicitly.

What a forged or misdirected token meets, in order:

- **The algorithm**: only RS256 and ES256, named by the token and matched by the key's type.
  ``alg: none`` and HS256 are refused before any key is looked at, so a token "signed" with
  the provider's public RSA key as an HMAC secret (the key-confusion attack) never reaches a
  verifier, and an RSA key never checks an EC signature or the reverse.
- **The key**: one of the provider's published keys (JWKS), by ``kid``; the caller refetches
  the set once when the ``kid`` is unknown (a rotation).
- **The claims**: ``iss`` is exactly the configured issuer (a token from another provider the
  browser also uses is refused: issuer mix-up); ``aud`` holds this client id, and a token for
  several audiences names this client as ``azp``; ``exp`` is in the future and ``iat`` not in
  the future, both within ``LEEWAY_S`` of clock skew, and ``iat`` is recent (``MAX_AGE_S``): a
  token the token endpoint just minted is minutes old at most; ``nonce`` is the one this
  login sent, so an ID token from another login cannot be replayed into this one.

Any failure is ``Unauthenticated`` with code ``OIDC_TOKEN_INVALID`` and a message that says
which check failed (never the token).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Final

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from clew.core.errors import Unauthenticated

#: Signature algorithm -> the key type that must verify it.
ALGORITHMS: Final = {"RS256": "RSA", "ES256": "EC"}
LEEWAY_S: Final = 60
MAX_AGE_S: Final = 600
#: A bound on what is parsed at all; provider ID tokens are a few kilobytes.
MAX_TOKEN_BYTES: Final = 16_384

Key = RSAKey | ECKey
#: ``(kid, key type, alg) -> key`` or None; may refetch the provider's keys once.
KeyLookup = Callable[[str | None, str, str], Key | None]


def invalid(why: str) -> Unauthenticated:
    return Unauthenticated(f"The ID token was refused: {why}", code="OIDC_TOKEN_INVALID")


def verify_id_token(
    raw: object, keys: KeyLookup, *, issuer: str, client_id: str, nonce: str, now_s: float
) -> dict[str, Any]:
    """The token's claims if every check passes.

    Raises:
        Unauthenticated: ``OIDC_TOKEN_INVALID``, naming the check that failed.
    """
    if not isinstance(raw, str) or len(raw) > MAX_TOKEN_BYTES or raw.count(".") != 2:
        raise invalid("not a signed JWT")
    try:
        header = jws.extract_compact(raw.encode()).headers()
    except (JoseError, ValueError):
        raise invalid("its header does not parse") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise invalid(f"algorithm {alg!r} is not one of {', '.join(ALGORITHMS)}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise invalid("its key id is not a string")
    key = keys(kid, ALGORITHMS[alg], alg)
    if key is None:
        raise invalid("no key of the provider's matches its key id")
    try:
        claims = jwt.decode(raw, key, algorithms=[alg]).claims
    except (JoseError, ValueError):
        raise invalid("the signature does not verify") from None
    check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now_s=now_s)
    return dict(claims)


def check_claims(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str, now_s: float
) -> None:
    if claims.get("iss") != issuer:
        raise invalid("another issuer made it")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise invalid("it is for another client")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise invalid("it names several audiences and another authorized party")
    exp, iat = claims.get("exp"), claims.get("iat")
    if (
        not isinstance(exp, int | float)
        or not isinstance(iat, int | float)
        or (isinstance(exp, bool) or isinstance(iat, bool))
    ):
        raise invalid("exp or iat is missing")
    if exp + LEEWAY_S <= now_s:
        raise invalid("it has expired")
    if iat - LEEWAY_S > now_s:
        raise invalid("it was issued in the future")
    if iat + MAX_AGE_S + LEEWAY_S < now_s:
        raise invalid("it was issued too long ago")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise invalid("its nonce is not this login's")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:
        raise invalid("its subject is missing")
