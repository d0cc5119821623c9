"""Identity records: users and service accounts, access tokens, teams, role bindings.

None of them carries a secret: a token's secret exists only in the answer that created it.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any


class UserKind(enum.StrEnum):
    USER = "user"
    SERVICE = "service"  # a service account: tokens only, no password


class Role(enum.StrEnum):
    """From least to most: each role can do what the one before it can, and more."""

    VIEWER = "viewer"
    EDITOR = "editor"
    MAINTAINER = "maintainer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class ScopeType(enum.StrEnum):
    ALL = "all"
    EXPERIMENT = "experiment"
    REGISTERED_MODEL = "registered_model"
    PIPELINE = "pipeline"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    kind: str
    display_name: str
    email: str
    is_admin: bool
    disabled: bool
    has_password: bool
    created_by: str
    created_at: int
    updated_at: int
    last_login_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AccessToken:
    """A token's record; ``prefix`` is the start of its secret, enough to recognise it."""

    id: str
    user_id: str
    user_name: str
    name: str
    created_by: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CreatedToken:
    """What creating a token answers, once: the record and the secret."""

    token: AccessToken
    secret: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.token.to_dict(), "secret": self.secret}


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    description: str
    members: tuple[str, ...]  # user names
    created_by: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "members": list(self.members)}


@dataclass(frozen=True)
class RoleBinding:
    id: str
    principal_kind: str  # user, team
    principal: str  # the user's or the team's name
    role: str
    scope_type: str
    scope_id: str
    created_by: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
