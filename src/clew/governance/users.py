"""Identity use cases: users and service accounts, their tokens, and who a credential is.

Managing identity is an admin's (``Permission.MANAGE`` on ``identity``), except what a user
does to themselves: change their own password, make and revoke their own tokens. Every change
is audited in its transaction; no audit event ever holds a secret or a hash of one.

Authentication is not a use case with an actor, so it has no permission check: it answers
who holds a credential, or nobody. A wrong credential of any kind costs the same (one Argon2id
verification for a password, one indexed lookup for a token), whether or not the name exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission
from clew.core.db import Database, retry_conflicts
from clew.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from clew.core.ids import now_ms
from clew.core.settings import Settings
from clew.governance import credentials
from clew.governance.lookups import IDENTITY, NAME, check_name, choice, new_id, require_user
from clew.governance.model import (
    AccessToken,
    CreatedToken,
    User,
    UserKind,
)
from clew.governance.store import IdentityStore

#: How stale ``last_used_at`` may get before a request using the token refreshes it: one
#: write a minute per token, not one per request.
_LAST_USED_EVERY_MS: Final = 60_000
MAX_TOKEN_TTL_S: Final = 5 * 366 * 86_400
#: A browser session lasts a working day.
SESSION_TTL_S: Final = 12 * 3600


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf_token: str


class UserService:
    def __init__(self, db: Database, settings: Settings, authz: Authorizer) -> None:
        self.db = db
        self.settings = settings
        self.authz = authz
        self._hasher = credentials.hasher(
            settings.password_hash_memory_kib, settings.password_hash_time_cost
        )
        self._on_credentials_changed: list[Callable[[], None]] = []

    def on_credentials_changed(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after a password changes, a user is disabled or enabled, or a
        token is revoked here: a server's cache of who a credential is forgets at once, where
        other processes wait out their ``auth_cache_s``."""
        self._on_credentials_changed.append(listener)

    def _credentials_changed(self) -> None:
        for listener in self._on_credentials_changed:
            listener()

    # ---- users --------------------------------------------------------------------------------

    def _hash(self, password: str) -> str:
        checked = credentials.check_password(password, self.settings.password_min_length)
        return credentials.hash_password(checked, self._hasher)

    @retry_conflicts
    def create_user(
        self,
        actor: Actor,
        name: str,
        *,
        password: str | None = None,
        kind: str = UserKind.USER,
        admin: bool = False,
        display_name: str = "",
        email: str = "",
    ) -> User:
        """A person (with a password, or none until one is set) or a service account (tokens
        only, never a password)."""
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        check_name("user", name)
        checked: UserKind = choice(UserKind, kind, "kind")
        if checked is UserKind.SERVICE and password is not None:
            raise InvalidInput("A service account has no password: give it a token")
        hashed = None if password is None else self._hash(password)  # before the lock
        with self.db.write() as conn:
            return add_user(conn, actor, name, checked, hashed, admin, display_name, email)

    @retry_conflicts
    def bootstrap_admin(self, name: str, password: str) -> User | None:
        """The first admin, on first start (``CLEW_ADMIN_USERNAME``/``_PASSWORD``): made only
        while there are no users at all; None when there already are."""
        check_name("user", name)
        hashed = self._hash(password)
        with self.db.write() as conn:
            if IdentityStore(conn).users(None):
                return None
            return add_user(conn, Actor.system(), name, UserKind.USER, hashed, True, "", "")

    def get_user(self, actor: Actor, name: str) -> User:
        if actor.name != name:
            self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.read() as conn:
            found = IdentityStore(conn).user(name)
        if found is None:
            raise NotFound("No such user", name=name)
        return found

    def list_users(self, actor: Actor, kind: str | None = None) -> list[User]:
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.read() as conn:
            return IdentityStore(conn).users(kind)

    @retry_conflicts
    def set_password(
        self, actor: Actor, name: str, password: str, *, current: str | None = None
    ) -> None:
        """Yours, with your current password; anyone's, as an admin. Ends their sessions."""
        own = actor.name == name and actor.kind == "user"
        if not own:
            self.authz.check(actor, Permission.MANAGE, IDENTITY)
        hashed = self._hash(password)
        with self.db.write() as conn:
            store = IdentityStore(conn)
            row = require_user(store, name)
            if row.kind == UserKind.SERVICE:
                raise InvalidInput("A service account has no password: give it a token")
            if own and not credentials.verify_password(row.password_hash, current or "",
                                                       self._hasher):  # fmt: skip
                raise PermissionDenied("The current password is wrong")
            store.set_user(row.id, password_hash=hashed, updated_at=now_ms())
            store.delete_sessions_of(row.id)
            audit.append(conn, actor, "user.password", "user", name, {})
        self._credentials_changed()

    @retry_conflicts
    def update_user(
        self,
        actor: Actor,
        name: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Make or unmake an admin; disable (its tokens revoked, sessions ended) or enable.
        The last enabled admin can be neither demoted nor disabled."""
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        if admin is None and disabled is None:
            raise InvalidInput("Say what to change: admin, disabled or both")
        with self.db.write() as conn:
            store = IdentityStore(conn)
            row = require_user(store, name)
            values: dict[str, Any] = {"updated_at": now_ms()}
            losing_admin = row.is_admin and not row.disabled and (admin is False or disabled)
            if losing_admin and store.count_admins() <= 1:
                raise Conflict("This is the last admin: make another admin first")
            if admin is not None:
                values["is_admin"] = admin
            if disabled is not None:
                values["disabled"] = disabled
                if disabled:
                    store.revoke_tokens_of(row.id, values["updated_at"])
                    store.delete_sessions_of(row.id)
            store.set_user(row.id, **values)
            forget = getattr(self.authz, "forget", None)
            if forget is not None:  # an admin flag or a disabled user: grants changed
                forget()
            changed = {k: v for k, v in values.items() if k != "updated_at"}
            audit.append(conn, actor, "user.update", "user", name, changed)
            found = store.user(name)
        assert found is not None
        if disabled is not None:
            self._credentials_changed()
        return found

    # ---- tokens -------------------------------------------------------------------------------

    @retry_conflicts
    def create_token(
        self, actor: Actor, user: str, name: str, *, expires_in_s: int | None = None
    ) -> CreatedToken:
        """A new access token for ``user`` (yours, or anyone's as an admin); its secret is in
        this answer and nowhere else."""
        if actor.name != user:
            self.authz.check(actor, Permission.MANAGE, IDENTITY)
        check_name("token", name)
        if expires_in_s is not None and not 1 <= expires_in_s <= MAX_TOKEN_TTL_S:
            raise InvalidInput(f"expires_in_s must be between 1 and {MAX_TOKEN_TTL_S}")
        with self.db.write() as conn:
            store = IdentityStore(conn)
            row = require_user(store, user)
            if row.disabled:
                raise Conflict("The user is disabled")
            prefix = (
                credentials.SERVICE_PREFIX
                if row.kind == UserKind.SERVICE
                else credentials.PERSONAL_PREFIX
            )
            secret = credentials.new_token(prefix)
            now = now_ms()
            token_id = new_id()
            store.add_token({
                "id": token_id, "user_id": row.id, "name": name,
                "secret_sha256": credentials.digest(secret), "created_by": actor.name,
                "created_at": now,
                "expires_at": None if expires_in_s is None else now + expires_in_s * 1000,
            })  # fmt: skip
            audit.append(conn, actor, "token.create", "user", user,
                         {"token_id": token_id, "name": name,
                          "expires_in_s": expires_in_s})  # fmt: skip
            made = store.token(token_id)
        assert made is not None
        return CreatedToken(made, secret)

    def list_tokens(self, actor: Actor, user: str | None = None) -> list[AccessToken]:
        """Yours, or (as an admin) one user's or everyone's."""
        if user != actor.name:
            self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.read() as conn:
            store = IdentityStore(conn)
            user_id = None if user is None else require_user(store, user).id
            return store.tokens(user_id)

    @retry_conflicts
    def revoke_token(self, actor: Actor, token_id: str) -> AccessToken:
        """Revoking a revoked token changes nothing."""
        with self.db.write() as conn:
            store = IdentityStore(conn)
            found = store.token(token_id) if isinstance(token_id, str) else None
            if found is None:
                raise NotFound("No such token", token_id=token_id)
            if found.user_name != actor.name:
                self.authz.check(actor, Permission.MANAGE, IDENTITY)
            if found.revoked_at is None:
                store.set_token(token_id, revoked_at=now_ms())
                audit.append(conn, actor, "token.revoke", "user", found.user_name,
                             {"token_id": token_id})  # fmt: skip
            revoked = store.token(token_id)
        assert revoked is not None
        self._credentials_changed()
        return revoked

    # ---- authentication -----------------------------------------------------------------------

    def authenticate_token(self, secret: str) -> Actor | None:
        """The actor a bearer token stands for, or None (malformed, unknown, expired, revoked,
        or its user disabled)."""
        if not isinstance(secret, str) or not credentials.well_formed(secret):
            return None
        key = credentials.digest(secret)
        now = now_ms()
        with self.db.read() as conn:
            row = IdentityStore(conn).token_by_secret(key)
        if row is None or row.revoked_at is not None or row.disabled:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_EVERY_MS:
            with self.db.write() as conn:
                IdentityStore(conn).set_token(row.id, last_used_at=now)
        return Actor(name=row.name, kind=row.kind, token_id=row.id)

    def authenticate_password(self, name: str, password: str) -> Actor | None:
        """The user a name and password stand for, or None; takes as long for a name that does
        not exist. A hash made with older costs is rehashed."""
        if not isinstance(name, str) or not isinstance(password, str) or not password:
            return None
        with self.db.read() as conn:
            row = IdentityStore(conn).user_row(name) if NAME.fullmatch(name) else None
        stored = None if row is None or row.disabled else row.password_hash
        if not credentials.verify_password(stored, password, self._hasher):
            return None
        assert row is not None and stored is not None
        if self._hasher.check_needs_rehash(stored):
            with self.db.write() as conn:
                IdentityStore(conn).set_user(row.id, password_hash=self._hasher.hash(password))
        return Actor(name=row.name, kind=row.kind)

    @retry_conflicts
    def login(self, name: str, password: str, ttl_s: int) -> tuple[str, Session] | None:
        """A browser session for a name and password: its secret (the cookie) and its CSRF
        token, or None."""
        actor = self.authenticate_password(name, password)
        if actor is None:
            return None
        with self.db.write() as conn:
            store = IdentityStore(conn)
            return open_session(conn, store, require_user(store, name), ttl_s, {})

    def session(self, secret: str) -> Session | None:
        if not isinstance(secret, str) or not credentials.well_formed(secret):
            return None
        with self.db.read() as conn:
            row = IdentityStore(conn).session(credentials.digest(secret))
        if row is None or row.disabled or row.expires_at <= now_ms():
            return None
        return Session(Actor(name=row.name, kind=row.kind), row.csrf_token)

    def logout(self, secret: str) -> None:
        if isinstance(secret, str) and credentials.well_formed(secret):
            with self.db.write() as conn:
                IdentityStore(conn).delete_session(credentials.digest(secret))


def open_session(
    conn: Any, store: IdentityStore, row: Any, ttl_s: int, details: dict[str, Any]
) -> tuple[str, Session]:
    """A new browser session for the user ``row``, in the caller's transaction, audited as
    ``session.login`` with ``details`` (how they logged in): its secret and the session. The
    one way every login (password, single sign-on) makes a session."""
    secret = credentials.new_token(credentials.SESSION_PREFIX)
    csrf = secrets.token_urlsafe(32)
    now = now_ms()
    store.add_session({"secret_sha256": credentials.digest(secret), "user_id": row.id,
                       "csrf_token": csrf, "created_at": now,
                       "expires_at": now + ttl_s * 1000})  # fmt: skip
    store.set_user(row.id, last_login_at=now)
    actor = Actor(name=row.name, kind=row.kind)
    audit.append(conn, actor, "session.login", "user", row.name, details)
    return secret, Session(actor, csrf)


def add_user(
    conn: Any,
    actor: Actor,
    name: str,
    kind: UserKind,
    hashed: str | None,
    admin: bool,
    display_name: str,
    email: str,
) -> User:
    """A user row and its ``user.create`` event, in the caller's transaction, with no
    permission check: for the service methods that made theirs, the first admin and single
    sign-on."""
    store = IdentityStore(conn)
    if store.user_row(name) is not None:
        raise AlreadyExists("A user with this name exists", name=name)
    now = now_ms()
    store.add_user({
        "id": new_id(), "name": name, "kind": kind.value, "display_name": display_name[:250],
        "email": email[:320], "password_hash": hashed, "is_admin": bool(admin),
        "disabled": False, "created_by": actor.name, "created_at": now, "updated_at": now,
    })  # fmt: skip
    audit.append(conn, actor, "user.create", "user", name,
                 {"kind": kind.value, "admin": bool(admin)})  # fmt: skip
    made = store.user(name)
    assert made is not None
    return made
