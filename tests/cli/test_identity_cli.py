"""``clew users|tokens|teams|roles`` on the local store: the first admin, a token that then
authenticates, and a role that then decides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clew.cli.main import app
from clew.core.actor import Actor
from clew.core.authz import Permission
from clew.core.errors import PermissionDenied
from clew.core.settings import Settings
from clew.governance.authorizer import RoleAuthorizer
from clew.platform import Platform
from clew.tracking.service_base import experiment_resource

runner = CliRunner()
PASSWORD = "correct horse battery"


def _ok(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_operator_commands_make_users_tokens_teams_and_roles(
    clew_home: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEW_DATABASE_URL", database_url)
    monkeypatch.setenv("CLEW_PASSWORD_HASH_MEMORY_KIB", "1024")
    monkeypatch.setenv("CLEW_PASSWORD_HASH_TIME_COST", "1")
    assert "Created admin user root" in _ok("users", "create", "root", "--admin",
                                            "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    short = runner.invoke(app, ["users", "create", "eve", "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    _ok("users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    _ok("users", "create", "ci-bot", "--service")
    users = json.loads(_ok("users", "list", "--json"))
    assert [(u["name"], u["kind"], u["is_admin"]) for u in users] == [
        ("alice", "user", False), ("ci-bot", "service", False), ("root", "user", True)
    ]  # fmt: skip
    secret = _ok("tokens", "create", "ci-bot", "deploy", "--expires-in-days", "30").strip()
    _ok("teams", "create", "ml")
    _ok("teams", "add", "ml", "alice")
    platform = _open()
    try:
        eid = platform.tracking.create_experiment(Actor.system(), "governed")
    finally:
        platform.close()
    _ok("roles", "grant", "ml", "editor", "--scope", f"experiment:{eid}", "--team")
    _ok("roles", "grant", "ci-bot", "viewer")
    roles = json.loads(_ok("roles", "list", "--json"))
    assert {(r["principal"], r["role"], r["scope_type"]) for r in roles} == {
        ("ml", "editor", "experiment"), ("ci-bot", "viewer", "all")
    }  # fmt: skip
    platform = _open()
    try:
        bot = platform.users.authenticate_token(secret)
        assert bot is not None and bot.name == "ci-bot"
        authz = RoleAuthorizer(platform.db, cache_s=0)
        authz.check(bot, Permission.READ, experiment_resource(eid))
        with pytest.raises(PermissionDenied):
            authz.check(bot, Permission.EDIT, experiment_resource(eid))
        authz.check(Actor("alice"), Permission.EDIT, experiment_resource(eid))
    finally:
        platform.close()
    _ok("roles", "revoke", "ci-bot")
    _ok("teams", "remove", "ml", "alice")

    # an operator promotes, disables and resets a user; the last admin stays one
    assert "alice: admin, disabled" in _ok("users", "update", "alice", "--admin", "--disable")
    assert "not an admin, enabled" in _ok("users", "update", "alice", "--no-admin", "--enable")
    assert runner.invoke(app, ["users", "update", "root", "--no-admin"]).exit_code != 0
    assert runner.invoke(app, ["users", "update", "alice"]).exit_code != 0  # nothing to change
    _ok("users", "password", "alice", "--password-stdin", stdin="a brand new passphrase\n")
    platform = _open()
    try:
        assert platform.users.authenticate_password("alice", "a brand new passphrase")
        assert platform.users.authenticate_password("alice", PASSWORD) is None
    finally:
        platform.close()


def _open() -> Platform:
    return Platform.open(Settings())
