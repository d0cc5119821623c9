"""Single sign-on: OIDC's authorization code flow with PKCE, ending in the same browser
session a password login makes.

``begin`` draws four secrets and keeps three of them in ``oidc_logins`` for ``STATE_TTL_S``:
the ``state`` (sent to the provider, hashed here), the nonce and the PKCE verifier (sent as its
S256 challenge). The fourth goes to the browser as an HttpOnly cookie, and its hash is kept
with the state: the callback must come back to the browser that started the login, so a code
and state someone else obtained (login CSRF, a leaked redirect) cannot be spent by another
browser. A state works once (read and deleted in one transaction), and the ID token must carry
the login's nonce, so neither a callback URL nor an ID token can be replayed.

``finish`` exchanges the code (``oidc_client``), checks the ID token (``oidc_tokens``) and
then, in one transaction, finds the user and opens the session:

- A provider subject (``iss``, ``sub``) is linked to one Clew user at its first login and from
  then on decides alone who logs in: renaming the user at the provider changes nothing, and a
  new subject presenting a linked user's name is refused (``OIDC_ACCOUNT_MISMATCH``).
- A first login names its user by the ``CLEW_OIDC_USERNAME_CLAIM`` claim; an unlinked user of
  that name (say, made by an admin ahead of time) is linked. No such user: made if
  ``CLEW_OIDC_AUTO_CREATE``, else 403 ``OIDC_USER_UNKNOWN``. An ``email`` claim counts only
  when the provider says ``email_verified``.
- With ``CLEW_OIDC_GROUPS_CLAIM`` set, the user's teams become the existing teams the claim
  names (a team is never made from a claim: an admin decides which teams exist and what roles
  they hold).

A login that fails at any point leaves no user, link, membership, session or audit event
behind; only its one-time state is gone once the callback presented it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer
from clew.core.db import Database
from clew.core.errors import InvalidInput, PermissionDenied, Unauthenticated
from clew.core.ids import now_ms
from clew.core.settings import Settings
from clew.governance.lookups import NAME
from clew.governance.model import UserKind
from clew.governance.oidc_client import OidcProvider
from clew.governance.oidc_store import OidcStore
from clew.governance.oidc_tokens import verify_id_token
from clew.governance.store import IdentityStore
from clew.governance.users import SESSION_TTL_S, Session, add_user, open_session

#: How long a browser has between leaving for the provider and coming back.
STATE_TTL_S: Final = 600
_MAX_GROUPS: Final = 1000


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def state_mismatch() -> InvalidInput:
    return InvalidInput("This login's state is unknown, used, or another browser's: start the "
                        "login again", code="OIDC_STATE_MISMATCH")  # fmt: skip


def same_origin_path(value: str | None) -> str:
    """Where a login may send the browser afterwards: a path on this server, nothing else
    (``//evil.example``, ``/\\evil.example``, ``https://…`` and control characters are refused:
    an open redirect would make a login page a phishing relay)."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if (
        len(value) > 2000
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
        or parts.scheme
        or parts.netloc
    ):
        raise InvalidInput("The page to return to must be a path on this server",
                           code="OIDC_REDIRECT_INVALID")  # fmt: skip
    return value


@dataclass(frozen=True)
class Started:
    #: The provider's authorization URL to send the browser to.
    url: str
    #: The value of the cookie that binds the login to this browser.
    browser: str


@dataclass(frozen=True)
class LoggedIn:
    secret: str
    session: Session
    return_to: str


class OidcLoginService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        authz: Authorizer,
        provider: OidcProvider,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.settings = settings
        self.authz = authz
        self.provider = provider
        self.clock = clock

    def begin(self, redirect_uri: str, return_to: str | None) -> Started:
        target = same_origin_path(return_to)
        endpoint = self.provider.discovery().authorization_endpoint
        state, browser = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        now = now_ms()
        with self.db.write() as conn:
            store = OidcStore(conn)
            store.drop_expired_logins(now)
            store.add_login({"state_sha256": _sha(state), "browser_sha256": _sha(browser),
                             "nonce": nonce, "verifier": verifier, "redirect_uri": redirect_uri,
                             "return_to": target, "created_at": now,
                             "expires_at": now + STATE_TTL_S * 1000})  # fmt: skip
        query = urlencode({
            "response_type": "code", "client_id": self.settings.oidc_client_id,
            "redirect_uri": redirect_uri, "scope": self.settings.oidc_scopes, "state": state,
            "nonce": nonce, "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        })  # fmt: skip
        return Started(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", browser)

    def finish(
        self, state: str | None, code: str | None, browser: str | None, error: str | None
    ) -> LoggedIn:
        """The provider's redirect back: a session for the user, and where to send the browser.

        Raises:
            InvalidInput: ``OIDC_STATE_MISMATCH``, ``OIDC_STATE_EXPIRED``.
            Unauthenticated: ``OIDC_LOGIN_DENIED``, ``OIDC_CODE_REJECTED``,
                ``OIDC_TOKEN_INVALID``, ``OIDC_CLAIM_INVALID``.
            PermissionDenied: ``OIDC_USER_UNKNOWN``, ``OIDC_USER_DISABLED``,
                ``OIDC_ACCOUNT_MISMATCH``.
            BadGateway: ``OIDC_PROVIDER_ERROR``.
        """
        login = self._take(state, browser)
        if error is not None:
            raise Unauthenticated("The identity provider did not log you in",
                                  code="OIDC_LOGIN_DENIED", error=error[:100])  # fmt: skip
        if login.expires_at <= now_ms():
            raise InvalidInput("This login took too long: start it again",
                               code="OIDC_STATE_EXPIRED")  # fmt: skip
        if not code:
            raise Unauthenticated("The provider sent no code", code="OIDC_CODE_REJECTED")
        tokens = self.provider.exchange(code, login.verifier, login.redirect_uri)
        claims = verify_id_token(tokens.get("id_token"), self.provider.key,
                                 issuer=self.settings.oidc_issuer,
                                 client_id=self.settings.oidc_client_id, nonce=login.nonce,
                                 now_s=self.clock())  # fmt: skip
        name, groups = self._username(claims), self._groups(claims)
        with self.db.write() as conn:
            secret, session = self._log_in(conn, claims, name, groups)
        return LoggedIn(secret, session, login.return_to)

    def _take(self, state: str | None, browser: str | None) -> Any:
        """The login ``state`` names, if ``browser`` is the one that began it; consumed."""
        if not state or not browser or len(state) > 200 or len(browser) > 200:
            raise state_mismatch()
        with self.db.write() as conn:
            store = OidcStore(conn)
            row = store.take_login(_sha(state))
            if row is None or not hmac.compare_digest(row.browser_sha256, _sha(browser)):
                raise state_mismatch()  # rolls back: another browser's state stays usable
        return row

    def _username(self, claims: dict[str, Any]) -> str:
        claim = self.settings.oidc_username_claim
        value = claims.get(claim)
        if claim == "email" and claims.get("email_verified") is not True:
            value = None
        if not isinstance(value, str) or not NAME.fullmatch(value):
            raise Unauthenticated(f"The ID token has no usable {claim!r} claim for a user name",
                                  code="OIDC_CLAIM_INVALID")  # fmt: skip
        return value

    def _groups(self, claims: dict[str, Any]) -> list[str] | None:
        claim = self.settings.oidc_groups_claim
        if not claim:
            return None
        value = claims.get(claim, [])
        if not isinstance(value, list) or len(value) > _MAX_GROUPS:
            raise Unauthenticated(f"The ID token's {claim!r} claim is not a list of groups",
                                  code="OIDC_CLAIM_INVALID")  # fmt: skip
        return [g for g in value if isinstance(g, str) and NAME.fullmatch(g)]

    def _log_in(
        self, conn: Any, claims: dict[str, Any], name: str, groups: list[str] | None
    ) -> tuple[str, Session]:
        issuer, subject = self.settings.oidc_issuer, claims["sub"]
        store, links, now = IdentityStore(conn), OidcStore(conn), now_ms()
        linked = links.identity(issuer, subject)
        if linked is not None:
            row = store.user_row_by_id(linked.user_id)
            links.touch(issuer, subject, now)
        else:
            row = store.user_row(name)
            if row is None and not self.settings.oidc_auto_create:
                raise PermissionDenied("There is no Clew user of this name: ask an admin",
                                       code="OIDC_USER_UNKNOWN", name=name)  # fmt: skip
            if row is None:
                add_user(conn, Actor.system(), name, UserKind.USER, None, False,
                         str(claims.get("name") or ""), self._email(claims))  # fmt: skip
                row = store.user_row(name)
            elif links.identity_of_user(row.id) is not None:
                raise PermissionDenied("This user signs in with another identity",
                                       code="OIDC_ACCOUNT_MISMATCH")  # fmt: skip
            links.link(issuer, subject, row.id, now)
        if row.kind != UserKind.USER:
            raise PermissionDenied("A service account cannot sign in",
                                   code="OIDC_ACCOUNT_MISMATCH")  # fmt: skip
        if row.disabled:
            raise PermissionDenied("This user is disabled", code="OIDC_USER_DISABLED")
        if groups is not None:
            self._set_teams(conn, row, groups)
        return open_session(conn, store, row, SESSION_TTL_S,
                            {"method": "oidc", "issuer": issuer,
                             "linked": linked is None})  # fmt: skip

    @staticmethod
    def _email(claims: dict[str, Any]) -> str:
        email = claims.get("email")
        verified = claims.get("email_verified") is True
        return email if isinstance(email, str) and verified else ""

    def _set_teams(self, conn: Any, row: Any, groups: list[str]) -> None:
        """The user's teams become the existing teams named in ``groups``; audited per change."""
        store = IdentityStore(conn)
        teams = {t.id: t.name for t in store.teams()}
        wanted = {t.id for t in store.teams(groups)}
        current = set(store.team_ids_of(row.id))
        now = now_ms()
        for team_id in sorted(wanted - current):
            store.add_member(team_id, row.id, now)
            audit.append(conn, Actor.system(), "team.member.add", "team", teams[team_id],
                         {"user": row.name, "via": "oidc"})  # fmt: skip
        for team_id in sorted(current - wanted):
            store.remove_member(team_id, row.id)
            audit.append(conn, Actor.system(), "team.member.remove", "team", teams[team_id],
                         {"user": row.name, "via": "oidc"})  # fmt: skip
        forget = getattr(self.authz, "forget", None)
        if forget is not None and wanted != current:
            forget()
