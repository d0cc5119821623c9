"""``clew users …`` and ``clew tokens …``: identity on this machine's store, as its operator.

These act on the database directly (``CLEW_DATABASE_URL`` or ``CLEW_HOME``), as Clew itself:
whoever can open the database can already change anything in it, and the first admin has to
come from somewhere. ``clew users create root --admin`` is that somewhere.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from clew.cli.output import console, emit, table, when
from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.platform import Platform

users_app = typer.Typer(help="Users and service accounts (on this machine's store).",
                        no_args_is_help=True)  # fmt: skip
tokens_app = typer.Typer(help="Access tokens (on this machine's store).", no_args_is_help=True)
OPERATOR = Actor.system()


@contextmanager
def _platform() -> Iterator[Platform]:
    platform = Platform.open(Settings())
    try:
        yield platform
    finally:
        platform.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make an admin.")] = False,
    service: Annotated[
        bool, typer.Option("--service", help="A service account: tokens only, no password.")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user (asks for the password) or a service account."""
    password = None if service else _read_password(password_stdin)
    with _platform() as platform:
        user = platform.users.create_user(OPERATOR, name, password=password, admin=admin,
                                          kind="service" if service else "user")  # fmt: skip
    console.print(f"Created {'admin ' if user.is_admin else ''}{user.kind} {user.name}")


@users_app.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every user and service account."""
    with _platform() as platform:
        found = platform.users.list_users(OPERATOR)
    emit(as_json, [u.to_dict() for u in found], lambda: table(
        "users", ["name", "kind", "admin", "disabled", "created", "last login"],
        [(u.name, u.kind, u.is_admin, u.disabled, when(u.created_at), when(u.last_login_at))
         for u in found],
    ))  # fmt: skip


@users_app.command("update")
def update_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    admin: Annotated[
        bool | None, typer.Option("--admin/--no-admin", help="Make or unmake an admin.")
    ] = None,
    disabled: Annotated[
        bool | None,
        typer.Option("--disable/--enable", help="Disable (tokens revoked, sessions ended)."),
    ] = None,
) -> None:
    """Make or unmake an admin, disable or enable a user (the last admin stays one)."""
    with _platform() as platform:
        user = platform.users.update_user(OPERATOR, name, admin=admin, disabled=disabled)
    state = "disabled" if user.disabled else "enabled"
    console.print(f"{user.name}: {'admin' if user.is_admin else 'not an admin'}, {state}")


@users_app.command("password")
def set_password(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password (asks for it); their sessions end."""
    password = _read_password(password_stdin)
    with _platform() as platform:
        platform.users.set_password(OPERATOR, name, password)
    console.print(f"Set the password of {name}; their sessions ended")


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Argument(help="Whose token.")],
    name: Annotated[str, typer.Argument(help="What it is for, e.g. laptop or ci.")],
    expires_in_days: Annotated[int | None, typer.Option(help="Days until it expires.")] = None,
) -> None:
    """Create an access token and print its secret: the only time it is shown."""
    expires = None if expires_in_days is None else expires_in_days * 86_400
    with _platform() as platform:
        made = platform.users.create_token(OPERATOR, user, name, expires_in_s=expires)
    console.print(made.secret, highlight=False, soft_wrap=True)


@tokens_app.command("revoke")
def revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    with _platform() as platform:
        platform.users.revoke_token(OPERATOR, token_id)
    console.print(f"Revoked token {token_id}")


teams_app = typer.Typer(help="Teams of users (on this machine's store).", no_args_is_help=True)
roles_app = typer.Typer(
    help="Role bindings: viewer, editor, maintainer or admin of a user or team on a scope.",
    no_args_is_help=True,
)


@teams_app.command("create")
def create_team(
    name: Annotated[str, typer.Argument()],
    description: Annotated[str, typer.Option(help="What the team is.")] = "",
) -> None:
    with _platform() as platform:
        platform.access.create_team(OPERATOR, name, description)
    console.print(f"Created team {name}")


@teams_app.command("add")
def add_member(
    team: Annotated[str, typer.Argument()], user: Annotated[str, typer.Argument()]
) -> None:
    with _platform() as platform:
        made = platform.access.set_member(OPERATOR, team, user, True)
    console.print(f"{team}: {', '.join(made.members)}")


@teams_app.command("remove")
def remove_member(
    team: Annotated[str, typer.Argument()], user: Annotated[str, typer.Argument()]
) -> None:
    with _platform() as platform:
        made = platform.access.set_member(OPERATOR, team, user, False)
    console.print(f"{team}: {', '.join(made.members) or '(nobody)'}")


@teams_app.command("list")
def list_teams(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with _platform() as platform:
        found = platform.access.list_teams(OPERATOR)
    emit(as_json, [t.to_dict() for t in found], lambda: table(
        "teams", ["name", "members", "description"],
        [(t.name, ", ".join(t.members), t.description) for t in found],
    ))  # fmt: skip


ScopeOpt = Annotated[
    str, typer.Option(help="all, or experiment:ID, registered_model:NAME, pipeline:NAME.")
]


def _scope(scope: str) -> tuple[str, str]:
    kind, _, ident = scope.partition(":")
    return kind, ident


@roles_app.command("grant")
def grant(
    principal: Annotated[str, typer.Argument(help="A user's name, or a team's with --team.")],
    role: Annotated[str, typer.Argument(help="viewer, editor, maintainer or admin.")],
    scope: ScopeOpt = "all",
    team: Annotated[bool, typer.Option("--team", help="PRINCIPAL is a team.")] = False,
) -> None:
    """Give a role on a scope; a principal holds one role per scope (this replaces it)."""
    kind, ident = _scope(scope)
    with _platform() as platform:
        made = platform.access.grant(OPERATOR, principal, role, kind, ident, team=team)
    console.print(f"{made.principal_kind} {made.principal}: {made.role} on {scope}")


@roles_app.command("revoke")
def revoke(
    principal: Annotated[str, typer.Argument()],
    scope: ScopeOpt = "all",
    team: Annotated[bool, typer.Option("--team")] = False,
) -> None:
    kind, ident = _scope(scope)
    with _platform() as platform:
        platform.access.revoke(OPERATOR, principal, kind, ident, team=team)
    console.print(f"Revoked {principal}'s role on {scope}")


@roles_app.command("list")
def list_roles(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with _platform() as platform:
        found = platform.access.list_bindings(OPERATOR)
    emit(as_json, [b.to_dict() for b in found], lambda: table(
        "role bindings", ["principal", "role", "scope"],
        [(f"{b.principal_kind} {b.principal}", b.role,
          b.scope_type + (f":{b.scope_id}" if b.scope_id else "")) for b in found],
    ))  # fmt: skip
