"""Users, service accounts, tokens, sessions, teams and role bindings on both databases: the
password and token rules, what authentication accepts and refuses, and that no secret reaches
the store or the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from clew.core import schema
from clew.core.actor import Actor
from clew.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from clew.core.settings import Settings
from clew.governance import credentials
from clew.platform import Platform

ADMIN = Actor("root")
PASSWORD = "correct horse battery"


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    cheap = settings.model_copy(update={"password_hash_memory_kib": 1024,
                                        "password_hash_time_cost": 1})  # fmt: skip
    opened = Platform.open(cheap)
    yield opened
    opened.close()


def _rows(platform: Platform, table: Any) -> list[Any]:
    with platform.db.read() as conn:
        return list(conn.execute(select(table)))


def _audit_text(platform: Platform) -> str:
    return json.dumps([e.to_dict() for e in platform.audit.list(ADMIN, limit=1000)])


# ---- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [("", "empty or blank"), ("   \t  ", "empty or blank"), ("short", "at least 12"),
     ("x" * 1025, "at most 1024")],
)  # fmt: skip
def test_weak_passwords_are_refused_for_everyone(
    platform: Platform, password: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        platform.users.create_user(ADMIN, "alice", password=password, admin=True)
    with pytest.raises(InvalidInput, match=message):
        platform.users.bootstrap_admin("root", password)
    assert _rows(platform, schema.users) == []


def test_a_password_is_stored_as_argon2id_and_checked(platform: Platform) -> None:
    user = platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    assert user.has_password and not user.is_admin
    (row,) = _rows(platform, schema.users)
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert platform.users.authenticate_password("alice", PASSWORD) == Actor("alice")
    assert platform.users.authenticate_password("alice", PASSWORD + "!") is None
    assert platform.users.authenticate_password("nobody", PASSWORD) is None
    assert platform.users.authenticate_password("alice", "") is None
    assert PASSWORD not in _audit_text(platform)


def test_a_hash_made_with_older_costs_is_rehashed_at_login(
    platform: Platform, settings: Settings
) -> None:
    platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    stronger = Platform.open(settings.model_copy(update={"password_hash_memory_kib": 2048,
                                                         "password_hash_time_cost": 1}))  # fmt: skip
    try:
        assert stronger.users.authenticate_password("alice", PASSWORD) == Actor("alice")
    finally:
        stronger.close()
    (row,) = _rows(platform, schema.users)
    assert "m=2048" in row.password_hash


def test_changing_your_own_password_needs_the_current_one(platform: Platform) -> None:
    platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    alice = Actor("alice")
    with pytest.raises(PermissionDenied):
        platform.users.set_password(alice, "alice", "another long password", current="wrong")
    platform.users.set_password(alice, "alice", "another long password", current=PASSWORD)
    assert platform.users.authenticate_password("alice", "another long password") == alice
    assert platform.users.authenticate_password("alice", PASSWORD) is None
    platform.users.set_password(ADMIN, "alice", "set by the admin!")  # no current needed
    assert platform.users.authenticate_password("alice", "set by the admin!") == alice


def test_bootstrap_makes_the_first_admin_once(platform: Platform) -> None:
    made = platform.users.bootstrap_admin("root", PASSWORD)
    assert made is not None and made.is_admin and made.created_by == "clew"
    assert platform.users.bootstrap_admin("other", PASSWORD) is None
    assert [u.name for u in platform.users.list_users(ADMIN)] == ["root"]


def test_the_last_admin_can_be_neither_demoted_nor_disabled(platform: Platform) -> None:
    platform.users.bootstrap_admin("root", PASSWORD)
    with pytest.raises(Conflict, match="last admin"):
        platform.users.update_user(ADMIN, "root", admin=False)
    with pytest.raises(Conflict, match="last admin"):
        platform.users.update_user(ADMIN, "root", disabled=True)
    platform.users.create_user(ADMIN, "second", password=PASSWORD, admin=True)
    assert not platform.users.update_user(ADMIN, "root", admin=False).is_admin


def test_names_and_kinds_are_checked(platform: Platform) -> None:
    for bad in ("", "-x", "a b", "x" * 251, "é"):
        with pytest.raises(InvalidInput):
            platform.users.create_user(ADMIN, bad)
    with pytest.raises(InvalidInput, match="kind must be one of"):
        platform.users.create_user(ADMIN, "bot", kind="robot")
    with pytest.raises(InvalidInput, match="service account has no password"):
        platform.users.create_user(ADMIN, "bot", kind="service", password=PASSWORD)
    platform.users.create_user(ADMIN, "alice")
    with pytest.raises(AlreadyExists):
        platform.users.create_user(ADMIN, "alice")


# ---- tokens ------------------------------------------------------------------------------------


def test_a_token_is_shown_once_stored_as_a_hash_and_authenticates(platform: Platform) -> None:
    platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    made = platform.users.create_token(Actor("alice"), "alice", "laptop")
    secret = made.secret
    assert secret.startswith(credentials.PERSONAL_PREFIX) and credentials.well_formed(secret)
    (row,) = _rows(platform, schema.access_tokens)
    assert row.secret_sha256 == credentials.digest(secret) and secret not in str(tuple(row))
    assert secret not in _audit_text(platform)
    assert "secret" not in platform.users.list_tokens(Actor("alice"), "alice")[0].to_dict()
    actor = platform.users.authenticate_token(secret)
    assert actor == Actor("alice", token_id=made.token.id)
    assert platform.users.list_tokens(ADMIN)[0].last_used_at is not None


def test_bad_tokens_are_refused(platform: Platform) -> None:
    platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    secret = platform.users.create_token(ADMIN, "alice", "ci").secret
    flipped = secret[:20] + ("A" if secret[20] != "A" else "B") + secret[21:]
    for bad in ("", "clew_pat_", secret[:-1], flipped, secret + "x", "Bearer " + secret, 42):
        assert platform.users.authenticate_token(bad) is None  # type: ignore[arg-type]
    made = platform.users.create_token(ADMIN, "alice", "short-lived", expires_in_s=1)
    with platform.db.write() as conn:  # its expiry passed
        conn.execute(schema.access_tokens.update().values(expires_at=1))
    assert platform.users.authenticate_token(made.secret) is None


def test_revoking_a_token_or_disabling_its_user_stops_it(platform: Platform) -> None:
    platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    platform.users.create_user(ADMIN, "root", password=PASSWORD, admin=True)
    one = platform.users.create_token(Actor("alice"), "alice", "one")
    two = platform.users.create_token(Actor("alice"), "alice", "two")
    revoked = platform.users.revoke_token(Actor("alice"), one.token.id)
    assert revoked.revoked_at is not None
    assert platform.users.revoke_token(Actor("alice"), one.token.id) == revoked  # idempotent
    assert platform.users.authenticate_token(one.secret) is None
    assert platform.users.authenticate_token(two.secret) is not None
    platform.users.update_user(ADMIN, "alice", disabled=True)
    assert platform.users.authenticate_token(two.secret) is None
    assert platform.users.authenticate_password("alice", PASSWORD) is None
    with pytest.raises(Conflict, match="disabled"):
        platform.users.create_token(ADMIN, "alice", "three")
    with pytest.raises(NotFound):
        platform.users.revoke_token(ADMIN, "0" * 32)


def test_a_service_account_gets_service_tokens(platform: Platform) -> None:
    bot = platform.users.create_user(ADMIN, "ci-bot", kind="service")
    assert not bot.has_password
    secret = platform.users.create_token(ADMIN, "ci-bot", "deploy").secret
    assert secret.startswith(credentials.SERVICE_PREFIX)
    assert platform.users.authenticate_token(secret) == Actor(
        "ci-bot", kind="service", token_id=platform.users.list_tokens(ADMIN)[0].id
    )
    with pytest.raises(InvalidInput):
        platform.users.set_password(ADMIN, "ci-bot", PASSWORD)


# ---- sessions ----------------------------------------------------------------------------------


def test_a_session_lives_until_logout_expiry_or_a_password_change(platform: Platform) -> None:
    platform.users.create_user(ADMIN, "alice", password=PASSWORD)
    assert platform.users.login("alice", "wrong password!", 3600) is None
    made = platform.users.login("alice", PASSWORD, 3600)
    assert made is not None
    secret, session = made
    assert platform.users.session(secret) == session and len(session.csrf_token) >= 40
    platform.users.logout(secret)
    assert platform.users.session(secret) is None
    made = platform.users.login("alice", PASSWORD, 3600)
    assert made is not None
    platform.users.set_password(ADMIN, "alice", "a brand new password")
    assert platform.users.session(made[0]) is None
    expired = platform.users.login("alice", "a brand new password", 3600)
    assert expired is not None
    with platform.db.write() as conn:
        conn.execute(schema.sessions.update().values(expires_at=1))
    assert platform.users.session(expired[0]) is None


# ---- teams and roles ---------------------------------------------------------------------------


def test_teams_and_role_bindings(platform: Platform) -> None:
    for name in ("alice", "bob"):
        platform.users.create_user(ADMIN, name, password=PASSWORD)
    platform.access.create_team(ADMIN, "ml", "the ML team")
    platform.access.set_member(ADMIN, "ml", "alice", True)
    team = platform.access.set_member(ADMIN, "ml", "bob", True)
    assert team.members == ("alice", "bob")
    assert platform.access.set_member(ADMIN, "ml", "bob", True).members == ("alice", "bob")
    assert platform.access.set_member(ADMIN, "ml", "bob", False).members == ("alice",)

    platform.access.grant(ADMIN, "ml", "editor", "experiment", "3", team=True)
    platform.access.grant(ADMIN, "bob", "viewer")
    replaced = platform.access.grant(ADMIN, "bob", "maintainer")
    assert replaced.role == "maintainer"
    listed = [(b.principal_kind, b.principal, b.role, b.scope_type, b.scope_id)
              for b in platform.access.list_bindings(ADMIN)]  # fmt: skip
    assert listed == [("user", "bob", "maintainer", "all", ""),
                      ("team", "ml", "editor", "experiment", "3")]  # fmt: skip
    with pytest.raises(InvalidInput, match="role must be one of"):
        platform.access.grant(ADMIN, "bob", "owner")
    with pytest.raises(InvalidInput, match="scope must be one of"):
        platform.access.grant(ADMIN, "bob", "viewer", "bucket", "x")
    with pytest.raises(InvalidInput, match="takes no id"):
        platform.access.grant(ADMIN, "bob", "viewer", "all", "x")
    with pytest.raises(InvalidInput, match="needs one"):
        platform.access.grant(ADMIN, "bob", "viewer", "experiment", "")
    platform.access.revoke(ADMIN, "bob")
    with pytest.raises(NotFound):
        platform.access.revoke(ADMIN, "bob")
    platform.access.delete_team(ADMIN, "ml")  # its bindings go with it
    assert platform.access.list_bindings(ADMIN) == []
    actions = {e.action for e in platform.audit.list(ADMIN, limit=1000)}
    assert {"team.create", "team.member.add", "team.member.remove", "role.grant",
            "role.revoke", "team.delete"} <= actions  # fmt: skip
