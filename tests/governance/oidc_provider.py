"""A small, real OpenID Connect provider for tests: a Starlette app served by uvicorn on a free
loopback port, in a thread. The Clew tests drive single sign-on against it, and a browser test
of the web UI can start the same one (``with OidcTestProvider() as idp: …``).

It does what a provider does in the authorization code flow with PKCE, and checks what a
strict provider checks:

- ``/.well-known/openid-configuration``: discovery, naming ``issuer`` (``discovery_issuer``
  overrides it, to play an issuer mix-up).
- ``/authorize``: the client id, the exact registered redirect URI, ``response_type=code``,
  ``openid`` in the scope and an S256 code challenge; then it "approves" at once as ``user``
  (a dict of claims) and redirects back with a one-time code and the state, or with
  ``error=access_denied`` when ``deny`` is set.
- ``/token``: the code (once, unexpired), its redirect URI, the PKCE verifier against the
  challenge, and the client's secret (HTTP Basic or in the form); answers an ID token signed
  with the current key (RS256 by default; ``algorithm="ES256"`` for an EC key).
- ``/jwks``: the public keys; ``rotate()`` makes a new key (a new ``kid``) and signs with it.

``tamper`` is a hook ``(header, claims) -> str | None`` that may change what is signed, or
return a whole token of its own (``alg: none``, an HMAC keyed with the public key, another
login's token), to play the attacks a relying party must refuse. ``issued`` keeps every ID token
it made.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

Tamper = Callable[[dict[str, Any], dict[str, Any]], str | None]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcTestProvider:
    def __init__(
        self,
        *,
        client_id: str = "clew",
        client_secret: str = "provider-secret",
        redirect_uri: str = "http://testserver/api/v1/auth/oidc/callback",
        algorithm: str = "RS256",
        user: dict[str, Any] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.algorithm = algorithm
        self.user: dict[str, Any] = user or {"sub": "s-alice", "preferred_username": "alice"}
        self.deny = False
        self.tamper: Tamper | None = None
        self.discovery_issuer: str | None = None
        self.issued: list[str] = []
        self.keys: list[RSAKey | ECKey] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.rotate()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ---- keys and tokens ----------------------------------------------------------------------

    def rotate(self) -> None:
        """A new signing key, published beside the old ones, signs from now on."""
        kid = secrets.token_hex(8)
        params = {"kid": kid, "use": "sig", "alg": self.algorithm}
        if self.algorithm == "ES256":
            key: RSAKey | ECKey = ECKey.generate_key("P-256", parameters=params)
        else:
            key = RSAKey.generate_key(2048, parameters=params)
        self.keys.append(key)

    @property
    def key(self) -> RSAKey | ECKey:
        return self.keys[-1]

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        header = header or {"alg": self.algorithm, "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=[header["alg"]])

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.client_id, "iat": now,
                                  "exp": now + 300, **self.user}  # fmt: skip
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"alg": self.algorithm, "kid": self.key.kid, "typ": "JWT"}
        made = self.tamper(header, claims) if self.tamper is not None else None
        token = made if made is not None else self.sign(claims, header)
        self.issued.append(token)
        return token

    # ---- endpoints ----------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.discovery_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.algorithm],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
        })  # fmt: skip

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [k.as_dict(private=False) for k in self.keys]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return JSONResponse({"error": "unsupported_response_type"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "why": "PKCE"}, status_code=400)
        back = {"state": q.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = {"challenge": q["code_challenge"], "nonce": q.get("nonce"),
                                     "redirect_uri": q["redirect_uri"],
                                     "expires": time.time() + 60}  # fmt: skip
            back["code"] = code
        return RedirectResponse(f"{self.redirect_uri}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            client_id, _, secret = (unquote(part) for part in pair.partition(":"))
        if client_id != self.client_id or secret != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        with self._lock:
            grant = self._codes.pop(str(form.get("code")), None)  # a code works once
        if grant is None or grant["expires"] < time.time():
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "why": "redirect"}, status_code=400)
        verifier = str(form.get("code_verifier") or "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "why": "PKCE"}, status_code=400)
        return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                             "expires_in": 300, "id_token": self.id_token(grant["nonce"])})  # fmt: skip

    # ---- running ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
        ])  # fmt: skip

    def __enter__(self) -> OidcTestProvider:
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        daemon=True)  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
