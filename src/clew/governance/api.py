"""The identity REST API: browser login, who am I, users, tokens. Parse → service → response.

``POST /auth/login`` is the one route that takes no credentials: it answers a session cookie
(HttpOnly, SameSite=Strict, Secure behind HTTPS) and the session's CSRF token, which every
state-changing request made with the cookie must echo in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from clew.core.actor import Actor
from clew.core.errors import Unauthenticated
from clew.governance.credentials import MAX_PASSWORD, SESSION_COOKIE
from clew.governance.model import AccessToken, RoleBinding, Team, User
from clew.governance.users import SESSION_TTL_S
from clew.server.deps import ActorDep, PlatformDep, get_actor
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["identity"])

Name = Annotated[str, Field(min_length=1, max_length=250)]
Password = Annotated[str, Field(max_length=1024)]


class Login(BaseModel):
    username: Name
    password: Password


class LoginOut(BaseModel):
    user: str
    csrf_token: str


class Me(BaseModel):
    name: str
    kind: str
    token_id: str | None
    #: With a browser session (a password or single sign-on login): the token its changes
    #: must carry in ``X-CSRF-Token``; a reloaded page, or one that arrived from a single
    #: sign-on redirect, learns it here or from ``/auth/config``.
    csrf_token: str | None = None


class CreateUser(BaseModel):
    name: Name
    password: Password | None = None
    kind: Annotated[str, Field(max_length=16)] = "user"
    admin: bool = False
    display_name: Annotated[str, Field(max_length=250)] = ""
    email: Annotated[str, Field(max_length=320)] = ""


class UsersOut(BaseModel):
    users: list[User]


class UpdateUser(BaseModel):
    admin: bool | None = None
    disabled: bool | None = None


class SetPassword(BaseModel):
    password: Password
    #: Your current password, when you change your own.
    current: Password | None = None


class CreateToken(BaseModel):
    name: Name
    expires_in_s: Annotated[int, Field(ge=1)] | None = None


class CreatedTokenOut(BaseModel):
    id: str
    user_id: str
    user_name: str
    name: str
    created_by: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None
    secret: str


class TokensOut(BaseModel):
    tokens: list[AccessToken]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


@router.post("/auth/login", response_model=LoginOut)
async def login(body: Login, request: Request, platform: PlatformDep) -> Response:
    """A browser session for a user name and password."""
    made = await run_in_threadpool(platform.users.login, body.username, body.password,
                                   SESSION_TTL_S)  # fmt: skip
    if made is None:
        raise Unauthenticated("Wrong user name or password")
    secret, session = made
    response = _json({"user": session.actor.name, "csrf_token": session.csrf_token})
    set_session_cookie(response, request, secret)
    return response


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    """The session cookie of every login (password or single sign-on)."""
    response.set_cookie(SESSION_COOKIE, secret, max_age=SESSION_TTL_S, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https",
                        path="/")  # fmt: skip


@router.post("/auth/logout", status_code=204)
def logout(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    platform.users.logout(request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class AuthConfig(BaseModel):
    auth: bool
    password: bool
    oidc: bool
    #: Who the request's credentials name, if any: the UI's first call, which never answers
    #: 401, so a signed-out page loads without an error.
    user: Me | None
    #: The password rules a form shows before the server refuses one.
    password_min_length: int
    password_max_length: int


@router.get("/auth/config", response_model=AuthConfig)
async def auth_config(request: Request) -> Response:
    """How to sign in here, and who is signed in already (public: the login page asks)."""
    settings = request.app.state.settings
    user = None
    try:
        actor = await get_actor(request)
    except Unauthenticated:
        pass
    else:
        user = _who(request, actor)
    oidc = getattr(request.app.state, "oidc", None) is not None
    return _json({"auth": settings.auth, "password": settings.auth, "oidc": oidc, "user": user,
                  "password_min_length": settings.password_min_length,
                  "password_max_length": MAX_PASSWORD})  # fmt: skip


@router.get("/auth/me", response_model=Me)
async def me(request: Request, actor: ActorDep) -> Response:
    """Who the request's credentials name (and, for a browser session, its CSRF token)."""
    return _json(_who(request, actor))


def _who(request: Request, actor: Actor) -> dict[str, Any]:
    """``Me`` for ``actor``; the CSRF token is there when a session cookie authenticated the
    request (``server.auth`` leaves it on the request's state)."""
    return {"name": actor.name, "kind": actor.kind, "token_id": actor.token_id,
            "csrf_token": getattr(request.state, "csrf_token", None)}  # fmt: skip


@router.post("/users", status_code=201, response_model=User)
def create_user(body: CreateUser, platform: PlatformDep, actor: ActorDep) -> Response:
    """A person or a service account (admins only)."""
    user = platform.users.create_user(actor, body.name, password=body.password, kind=body.kind,
                                      admin=body.admin, display_name=body.display_name,
                                      email=body.email)  # fmt: skip
    return _json(user.to_dict(), 201)


@router.get("/users", response_model=UsersOut)
def list_users(
    platform: PlatformDep,
    actor: ActorDep,
    kind: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    return _json({"users": [u.to_dict() for u in platform.users.list_users(actor, kind)]})


UserName = Annotated[str, Path(min_length=1, max_length=250)]


@router.get("/users/{name}", response_model=User)
def get_user(name: UserName, platform: PlatformDep, actor: ActorDep) -> Response:
    """One user: yourself, or anyone as an admin."""
    return _json(platform.users.get_user(actor, name).to_dict())


@router.patch("/users/{name}", response_model=User)
def update_user(
    name: UserName, body: UpdateUser, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Make or unmake an admin; disable (their tokens revoked, sessions ended) or enable
    (admins only). The last enabled admin can be neither demoted nor disabled: 409."""
    user = platform.users.update_user(actor, name, admin=body.admin, disabled=body.disabled)
    return _json(user.to_dict())


@router.put("/users/{name}/password", status_code=204)
def set_password(
    name: UserName, body: SetPassword, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Yours (with ``current``), or anyone's as an admin; ends their sessions."""
    platform.users.set_password(actor, name, body.password, current=body.current)
    return Response(status_code=204)


@router.post("/users/{name}/tokens", status_code=201, response_model=CreatedTokenOut)
def create_token(
    name: UserName,
    body: CreateToken,
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """A new token for yourself (or anyone, as an admin); the answer is the only place its
    secret ever appears."""
    made = platform.users.create_token(actor, name, body.name, expires_in_s=body.expires_in_s)
    return _json(made.to_dict(), 201)


@router.get("/tokens", response_model=TokensOut)
def list_tokens(
    platform: PlatformDep,
    actor: ActorDep,
    user: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    everyone: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """Your tokens; an admin may name a user, or ask for ``all=true``: everyone's (the admin
    page's list)."""
    found = platform.users.list_tokens(actor, None if everyone else (user or actor.name))
    return _json({"tokens": [t.to_dict() for t in found]})


@router.delete("/tokens/{token_id}", response_model=AccessToken)
def revoke_token(
    token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    return _json(platform.users.revoke_token(actor, token_id).to_dict())


# ---- teams and role bindings (admins) ---------------------------------------------------------


class CreateTeam(BaseModel):
    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""


class TeamsOut(BaseModel):
    teams: list[Team]


class Grant(BaseModel):
    principal: Name
    role: Annotated[str, Field(max_length=16)]
    scope_type: Annotated[str, Field(max_length=32)] = "all"
    scope_id: Annotated[str, Field(max_length=500)] = ""
    team: bool = False


class BindingsOut(BaseModel):
    bindings: list[RoleBinding]


TeamName = Annotated[str, Path(min_length=1, max_length=250)]


@router.post("/teams", status_code=201, response_model=Team)
def create_team(body: CreateTeam, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.access.create_team(actor, body.name, body.description).to_dict(), 201)


@router.get("/teams", response_model=TeamsOut)
def list_teams(platform: PlatformDep, actor: ActorDep) -> Response:
    return _json({"teams": [t.to_dict() for t in platform.access.list_teams(actor)]})


@router.put("/teams/{team}/members/{user}", response_model=Team)
def add_team_member(
    team: TeamName, user: TeamName, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Add a user to a team; adding them again changes nothing."""
    return _json(platform.access.set_member(actor, team, user, True).to_dict())


@router.delete("/teams/{team}/members/{user}", response_model=Team)
def remove_team_member(
    team: TeamName, user: TeamName, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _json(platform.access.set_member(actor, team, user, False).to_dict())


@router.delete("/teams/{team}", status_code=204)
def delete_team(team: TeamName, platform: PlatformDep, actor: ActorDep) -> Response:
    """The team and its role bindings go; its members stay."""
    platform.access.delete_team(actor, team)
    return Response(status_code=204)


@router.put("/role-bindings", response_model=RoleBinding)
def grant_role(body: Grant, platform: PlatformDep, actor: ActorDep) -> Response:
    """Give a user (or a team) a role on a scope; it replaces the role they held there."""
    made = platform.access.grant(actor, body.principal, body.role, body.scope_type,
                                 body.scope_id, team=body.team)  # fmt: skip
    return _json(made.to_dict())


@router.delete("/role-bindings", status_code=204)
def revoke_role(
    platform: PlatformDep,
    actor: ActorDep,
    principal: Annotated[str, Query(min_length=1, max_length=250)],
    scope_type: Annotated[str, Query(max_length=32)] = "all",
    scope_id: Annotated[str, Query(max_length=500)] = "",
    team: bool = False,
) -> Response:
    platform.access.revoke(actor, principal, scope_type, scope_id, team=team)
    return Response(status_code=204)


@router.get("/role-bindings", response_model=BindingsOut)
def list_role_bindings(
    platform: PlatformDep,
    actor: ActorDep,
    scope_type: Annotated[str | None, Query(max_length=32)] = None,
    scope_id: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    found = platform.access.list_bindings(actor, scope_type, scope_id)
    return _json({"bindings": [b.to_dict() for b in found]})
