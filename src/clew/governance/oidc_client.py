"""The back channel to an OIDC provider: its discovery document, its signing keys, and the
exchange of an authorization code for tokens. The only outbound HTTP of a login.

- **Discovery** (``{issuer}/.well-known/openid-configuration``), kept ``DISCOVERY_TTL_S``: the
  document's ``issuer`` must be exactly the configured one (RFC 8414 §3.3; a document that
  names another issuer is refused, whoever serves it), it must offer the code flow and, if it
  lists PKCE methods, S256. Every endpoint it names is ``https``, or ``http`` on a loopback
  host (a provider on the same machine, as in tests).
- **Keys** (``jwks_uri``), kept until an ID token names a key id the set does not have: then
  the set is fetched again, once for that token (a provider rotating its keys publishes the
  new one before signing with it). Tokens reach this process only from the token endpoint, over
  the back channel, so nobody outside can make it refetch at will.
- **The token request**: the code, the PKCE verifier and the redirect URI the login used, with
  the client secret (if there is one) as HTTP Basic or in the form, as the provider says it
  takes it. Redirects are never followed on any of these calls.

A provider that does not answer, or answers something unusable, is 502 ``OIDC_PROVIDER_ERROR``;
a code the provider refuses is 401 ``OIDC_CODE_REJECTED``.
"""

from __future__ import annotations

import base64
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from clew.core.errors import BadGateway, Unauthenticated
from clew.governance.oidc_tokens import Key

DISCOVERY_TTL_S: Final = 3600.0
TIMEOUT_S: Final = 10.0
MAX_RESPONSE_BYTES: Final = 1024 * 1024


def provider_error(why: str) -> BadGateway:
    return BadGateway(f"The identity provider: {why}", code="OIDC_PROVIDER_ERROR")


def check_endpoint(url: object, what: str) -> str:
    """``url`` if it is ``https://…``, or ``http://`` on a loopback host; else the error."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname or parts.username or parts.password:
        raise provider_error(f"{what} is not a URL")
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
        return str(url)
    raise provider_error(f"{what} must be https (http only on a loopback host)")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Discovery:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    #: How the token endpoint takes a client secret (``client_secret_basic`` by default).
    secret_in_form: bool


class OidcProvider:
    """One configured provider; safe to share between threads."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str = "",
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self._http = httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, transport=transport)
        self._lock = threading.Lock()
        self._discovery: tuple[Discovery, float] | None = None
        self._keys: list[Key] | None = None

    def close(self) -> None:
        self._http.close()

    # ---- discovery ----------------------------------------------------------------------------

    def discovery(self) -> Discovery:
        with self._lock:
            cached = self._discovery
        if cached is not None and self.clock() - cached[1] < DISCOVERY_TTL_S:
            return cached[0]
        check_endpoint(self.issuer, "the issuer")
        doc = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if doc.get("issuer") != self.issuer:
            raise provider_error("its discovery document names another issuer")
        types = doc.get("response_types_supported")
        if isinstance(types, list) and "code" not in types:
            raise provider_error("it does not offer the authorization code flow")
        methods = doc.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise provider_error("it does not take PKCE S256 code challenges")
        auth = doc.get("token_endpoint_auth_methods_supported")
        in_form = (
            isinstance(auth, list)
            and "client_secret_post" in auth
            and "client_secret_basic" not in auth
        )
        found = Discovery(
            check_endpoint(doc.get("authorization_endpoint"), "authorization_endpoint"),
            check_endpoint(doc.get("token_endpoint"), "token_endpoint"),
            check_endpoint(doc.get("jwks_uri"), "jwks_uri"),
            in_form,
        )
        with self._lock:
            self._discovery = (found, self.clock())
        return found

    # ---- keys ---------------------------------------------------------------------------------

    def key(self, kid: str | None, kty: str, alg: str) -> Key | None:
        """The provider's signing key for a token's header; the set is fetched again once if
        none matches (``oidc_tokens.KeyLookup``)."""
        with self._lock:
            keys = self._keys
        found = None if keys is None else _pick(keys, kid, kty, alg)
        if found is None:
            keys = self._fetch_keys()
            found = _pick(keys, kid, kty, alg)
        return found

    def _fetch_keys(self) -> list[Key]:
        doc = self._get_json(self.discovery().jwks_uri)
        entries = doc.get("keys")
        if not isinstance(entries, list):
            raise provider_error("its key set has no keys")
        keys: list[Key] = []
        for entry in entries:  # one unusable key (an encryption key, a new kty) skips alone
            if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
                continue
            if entry.get("use", "sig") != "sig" or "d" in entry:
                continue
            try:
                keys.extend(k for k in KeySet.import_key_set({"keys": [entry]}).keys
                            if isinstance(k, RSAKey | ECKey))  # fmt: skip
            except (JoseError, ValueError, TypeError):
                continue
        with self._lock:
            self._keys = keys
        return keys

    # ---- the code exchange --------------------------------------------------------------------

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token response for an authorization code (it holds the ``id_token``)."""
        found = self.discovery()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": self.client_id}  # fmt: skip
        headers = {"accept": "application/json"}
        if self.client_secret and found.secret_in_form:
            form["client_secret"] = self.client_secret
        elif self.client_secret:  # RFC 6749 §2.3.1: both form-urlencoded, then Basic
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        try:
            response = self._http.post(found.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError:
            raise provider_error("its token endpoint did not answer") from None
        if response.status_code in (400, 401):
            raise Unauthenticated("The identity provider refused the login's code",
                                  code="OIDC_CODE_REJECTED")  # fmt: skip
        return self._json(response, "its token endpoint")

    # ---- HTTP ---------------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError:
            raise provider_error(f"{url} did not answer") from None
        return self._json(response, url)

    @staticmethod
    def _json(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise provider_error(f"{what} answered {response.status_code}")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise provider_error(f"{what} answered too much")
        try:
            body = response.json()
        except ValueError:
            raise provider_error(f"{what} did not answer JSON") from None
        if not isinstance(body, dict):
            raise provider_error(f"{what} did not answer a JSON object")
        return body


def _pick(keys: list[Key], kid: str | None, kty: str, alg: str) -> Key | None:
    """The key for ``kid`` of the right type (and algorithm, if the key names one); a token
    without ``kid`` matches only a set with exactly one key that fits."""
    fits = [k for k in keys if k.key_type == kty and k.get("alg", alg) == alg]
    if kid is None:
        return fits[0] if len(fits) == 1 else None
    return next((k for k in fits if k.kid == kid), None)
