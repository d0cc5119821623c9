"""Who a request is, with authentication on (``clew server --auth``, ``CLEW_AUTH=true``).

Three credentials, tried in this order:

- ``Authorization: Bearer <token>``: an access token (``clew_pat_…``/``clew_sat_…``); what an
  MLflow client sends with ``MLFLOW_TRACKING_TOKEN``.
- ``Authorization: Basic``: a user name and password (``MLFLOW_TRACKING_USERNAME`` and
  ``_PASSWORD``), or a user name and one of that user's tokens as the password.
- The ``clew_session`` cookie of a browser login; a state-changing request with it must
  also carry the session's ``X-CSRF-Token`` header, so another site cannot make the browser
  act.

A request with none, or a wrong one, is 401 with ``WWW-Authenticate``. Answers are remembered
``auth_cache_s``, keyed by the credential's
SHA-256 or, for a password, by an HMAC under a key this process draws at start, so the cache
holds nothing that would let anyone log in. A password costs one Argon2id verification on a
miss; it runs on a worker thread, not the event loop. A revoked token, a changed password or
a disabled user stops working at once on the server that made the change (the user service
tells this cache to forget), and within ``auth_cache_s`` on other replicas.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from clew.core.actor import Actor
from clew.core.errors import PermissionDenied, Unauthenticated
from clew.governance import credentials
from clew.platform import Platform

SESSION_COOKIE: Final = credentials.SESSION_COOKIE
CSRF_HEADER: Final = "x-csrf-token"
_STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CACHE_MAX: Final = 10_000


class Authenticator:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.ttl = platform.settings.auth_cache_s
        self._key = secrets.token_bytes(32)
        self._known: dict[bytes, tuple[Actor | None, float]] = {}
        self._lock = threading.Lock()
        platform.users.on_credentials_changed(self.forget)

    def forget(self) -> None:
        with self._lock:
            self._known.clear()

    async def actor(self, request: Request) -> Actor:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            found = await self._from_header(scheme.lower(), value.strip())
            if found is None:
                raise Unauthenticated("The credentials were not accepted")
            return found
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return await self._from_session(request, cookie)
        raise Unauthenticated("Authentication required: a token, a password or a login")

    async def _from_header(self, scheme: str, value: str) -> Actor | None:
        if scheme == "bearer":
            return await self._token(value)
        if scheme == "basic":
            try:
                name, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
            except ValueError:  # not base64 (or beyond ASCII), or not UTF-8 once decoded
                return None
            if not sep:
                return None
            if credentials.well_formed(password):  # a token as the password: it must be theirs
                actor = await self._token(password)
                return actor if actor is not None and actor.name == name else None
            key = hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()
            return await self._remembered(
                key, lambda: self.platform.users.authenticate_password(name, password)
            )
        return None

    async def _token(self, token: str) -> Actor | None:
        if not credentials.well_formed(token):
            return None  # no lookup for what cannot be a token
        key = hashlib.sha256(token.encode()).digest()
        return await self._remembered(key, lambda: self.platform.users.authenticate_token(token))

    async def _from_session(self, request: Request, secret: str) -> Actor:
        session = await run_in_threadpool(self.platform.users.session, secret)
        if session is None:
            raise Unauthenticated("The session has ended: log in again")
        if request.method in _STATE_CHANGING:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                raise PermissionDenied("A change from a browser session needs its X-CSRF-Token")
        request.state.csrf_token = session.csrf_token  # /auth/me hands it back to a reloaded UI
        return session.actor

    async def _remembered(self, key: bytes, look_up: Callable[[], Actor | None]) -> Actor | None:
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(key)
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        found = await run_in_threadpool(look_up)
        with self._lock:
            if len(self._known) >= _CACHE_MAX:
                self._known.clear()
            self._known[key] = (found, now)
        return found
