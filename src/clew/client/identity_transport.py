"""Identity on both transports (mixins of the local and HTTP transports): who am I, users,
tokens, teams, role bindings. Creating things is not retried (a replay would make a second
token, or fail as a duplicate); reads, revokes and role changes are idempotent and are."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from clew.governance.model import AccessToken, CreatedToken, RoleBinding, Team, User

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform


def _team(data: dict[str, Any]) -> Team:
    return Team(**{**data, "members": tuple(data["members"])})


def _token(data: dict[str, Any]) -> AccessToken:
    return AccessToken(**{k: v for k, v in data.items() if k != "secret"})


class LocalIdentity:
    platform: Platform
    actor: Actor

    def whoami(self) -> dict[str, Any]:
        return {"name": self.actor.name, "kind": self.actor.kind, "token_id": self.actor.token_id}

    def create_user(self, name: str, **options: Any) -> User:
        return self.platform.users.create_user(self.actor, name, **options)

    def list_users(self) -> list[User]:
        return self.platform.users.list_users(self.actor)

    def get_user(self, name: str) -> User:
        return self.platform.users.get_user(self.actor, name)

    def update_user(self, name: str, admin: bool | None, disabled: bool | None) -> User:
        return self.platform.users.update_user(self.actor, name, admin=admin, disabled=disabled)

    def set_password(self, name: str, password: str, current: str | None) -> None:
        self.platform.users.set_password(self.actor, name, password, current=current)

    def create_token(self, user: str, name: str, expires_in_s: int | None) -> CreatedToken:
        return self.platform.users.create_token(self.actor, user, name, expires_in_s=expires_in_s)

    def list_tokens(self, user: str | None) -> list[AccessToken]:
        return self.platform.users.list_tokens(self.actor, user)

    def revoke_token(self, token_id: str) -> AccessToken:
        return self.platform.users.revoke_token(self.actor, token_id)

    def create_team(self, name: str, description: str) -> Team:
        return self.platform.access.create_team(self.actor, name, description)

    def set_team_member(self, team: str, user: str, member: bool) -> Team:
        return self.platform.access.set_member(self.actor, team, user, member)

    def list_teams(self) -> list[Team]:
        return self.platform.access.list_teams(self.actor)

    def grant_role(
        self, principal: str, role: str, scope_type: str, scope_id: str, team: bool
    ) -> RoleBinding:
        return self.platform.access.grant(self.actor, principal, role, scope_type, scope_id,
                                          team=team)  # fmt: skip

    def revoke_role(self, principal: str, scope_type: str, scope_id: str, team: bool) -> None:
        self.platform.access.revoke(self.actor, principal, scope_type, scope_id, team=team)

    def list_role_bindings(self) -> list[RoleBinding]:
        return self.platform.access.list_bindings(self.actor)


class HttpIdentity:
    _json: Callable[..., Any]
    request: Callable[..., Any]

    def whoami(self) -> dict[str, Any]:
        return dict(self._json("GET", "/auth/me", idempotent=True))

    def create_user(self, name: str, **options: Any) -> User:
        return User(**self._json("POST", "/users", body={"name": name, **options}))

    def list_users(self) -> list[User]:
        return [User(**u) for u in self._json("GET", "/users", idempotent=True)["users"]]

    def get_user(self, name: str) -> User:
        return User(**self._json("GET", f"/users/{quote(name, safe='')}", idempotent=True))

    def update_user(self, name: str, admin: bool | None, disabled: bool | None) -> User:
        body = {k: v for k, v in (("admin", admin), ("disabled", disabled)) if v is not None}
        return User(**self._json("PATCH", f"/users/{quote(name, safe='')}", body=body,
                                 idempotent=True))  # fmt: skip

    def set_password(self, name: str, password: str, current: str | None) -> None:
        body = {"password": password, **({"current": current} if current is not None else {})}
        self.request("PUT", f"/users/{quote(name, safe='')}/password", body=body)

    def create_token(self, user: str, name: str, expires_in_s: int | None) -> CreatedToken:
        body = {"name": name, **({"expires_in_s": expires_in_s} if expires_in_s else {})}
        data = self._json("POST", f"/users/{quote(user, safe='')}/tokens", body=body)
        return CreatedToken(_token(data), data["secret"])

    def list_tokens(self, user: str | None) -> list[AccessToken]:
        params = {"user": user} if user else {}
        data = self._json("GET", "/tokens", params=params, idempotent=True)
        return [_token(t) for t in data["tokens"]]

    def revoke_token(self, token_id: str) -> AccessToken:
        return _token(self._json("DELETE", f"/tokens/{token_id}", idempotent=True))

    def create_team(self, name: str, description: str) -> Team:
        return _team(self._json("POST", "/teams", body={"name": name, "description": description}))

    def set_team_member(self, team: str, user: str, member: bool) -> Team:
        path = f"/teams/{quote(team, safe='')}/members/{quote(user, safe='')}"
        return _team(self._json("PUT" if member else "DELETE", path, idempotent=True))

    def list_teams(self) -> list[Team]:
        return [_team(t) for t in self._json("GET", "/teams", idempotent=True)["teams"]]

    def grant_role(
        self, principal: str, role: str, scope_type: str, scope_id: str, team: bool
    ) -> RoleBinding:
        body = {"principal": principal, "role": role, "scope_type": scope_type,
                "scope_id": scope_id, "team": team}  # fmt: skip
        return RoleBinding(**self._json("PUT", "/role-bindings", body=body, idempotent=True))

    def revoke_role(self, principal: str, scope_type: str, scope_id: str, team: bool) -> None:
        params = {"principal": principal, "scope_type": scope_type, "scope_id": scope_id,
                  "team": str(team).lower()}  # fmt: skip
        self.request("DELETE", "/role-bindings", params=params, idempotent=True)

    def list_role_bindings(self) -> list[RoleBinding]:
        data = self._json("GET", "/role-bindings", idempotent=True)
        return [RoleBinding(**b) for b in data["bindings"]]
