"""Who may do what, from Python: the identity half of :class:`~clew.client.client.Client`
(a mixin). Most of it is an admin's; anyone may ask who they are and manage their own tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clew.governance.model import AccessToken, CreatedToken, RoleBinding, Team, User

if TYPE_CHECKING:
    from clew.client.transport import Transport


class IdentityMethods:
    transport: Transport

    def whoami(self) -> dict[str, Any]:
        """``{name, kind, token_id}`` of whoever this client's credentials name."""
        return self.transport.whoami()

    def create_user(self, name: str, **options: Any) -> User:
        """``password``, ``kind`` (``user`` or ``service``), ``admin``, ``display_name``,
        ``email``."""
        return self.transport.create_user(name, **options)

    def list_users(self) -> list[User]:
        return self.transport.list_users()

    def get_user(self, name: str) -> User:
        """Yourself, or anyone as an admin."""
        return self.transport.get_user(name)

    def update_user(
        self, name: str, *, admin: bool | None = None, disabled: bool | None = None
    ) -> User:
        """Make or unmake an admin; disable (tokens revoked, sessions ended) or enable. Admins
        only; the last enabled admin can be neither demoted nor disabled."""
        return self.transport.update_user(name, admin, disabled)

    def set_password(self, name: str, password: str, *, current: str | None = None) -> None:
        """Yours (give ``current``), or anyone's as an admin; ends their sessions."""
        self.transport.set_password(name, password, current)

    def create_token(self, user: str, name: str, expires_in_s: int | None = None) -> CreatedToken:
        """A token for ``user``; ``.secret`` is its only showing."""
        return self.transport.create_token(user, name, expires_in_s)

    def list_tokens(self, user: str | None = None) -> list[AccessToken]:
        return self.transport.list_tokens(user)

    def revoke_token(self, token_id: str) -> AccessToken:
        return self.transport.revoke_token(token_id)

    def create_team(self, name: str, description: str = "") -> Team:
        return self.transport.create_team(name, description)

    def add_team_member(self, team: str, user: str) -> Team:
        return self.transport.set_team_member(team, user, True)

    def remove_team_member(self, team: str, user: str) -> Team:
        return self.transport.set_team_member(team, user, False)

    def list_teams(self) -> list[Team]:
        return self.transport.list_teams()

    def grant_role(
        self,
        principal: str,
        role: str,
        scope_type: str = "all",
        scope_id: str = "",
        *,
        team: bool = False,
    ) -> RoleBinding:
        """``role`` (viewer, editor, maintainer, admin) for a user (or ``team``) on a scope:
        ``all``, or ``experiment``/``registered_model``/``pipeline`` with its id."""
        return self.transport.grant_role(principal, role, scope_type, scope_id, team)

    def revoke_role(
        self, principal: str, scope_type: str = "all", scope_id: str = "", *, team: bool = False
    ) -> None:
        self.transport.revoke_role(principal, scope_type, scope_id, team)

    def list_role_bindings(self) -> list[RoleBinding]:
        return self.transport.list_role_bindings()
