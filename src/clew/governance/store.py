"""The SQL of identity: users, access tokens, sessions, teams and their members, role bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from clew.core import schema
from clew.governance.model import AccessToken, RoleBinding, Team, User

U, T, S = schema.users, schema.access_tokens, schema.sessions
TM, TMM, RB = schema.teams, schema.team_members, schema.role_bindings


def _user(row: Any) -> User:
    return User(
        id=row.id,
        name=row.name,
        kind=row.kind,
        display_name=row.display_name,
        email=row.email,
        is_admin=bool(row.is_admin),
        disabled=bool(row.disabled),
        has_password=row.password_hash is not None,
        created_by=row.created_by,
        created_at=int(row.created_at),
        updated_at=int(row.updated_at),
        last_login_at=row.last_login_at,
    )


def _token(row: Any) -> AccessToken:
    return AccessToken(
        id=row.id,
        user_id=row.user_id,
        user_name=row.user_name,
        name=row.name,
        created_by=row.created_by,
        created_at=int(row.created_at),
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class IdentityStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ---- users --------------------------------------------------------------------------------

    def add_user(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(U).values(**values))

    def user_row(self, name: str) -> Any:
        return self.conn.execute(select(U).where(U.c.name == name)).first()

    def user_row_by_id(self, user_id: str) -> Any:
        return self.conn.execute(select(U).where(U.c.id == user_id)).first()

    def user(self, name: str) -> User | None:
        row = self.user_row(name)
        return None if row is None else _user(row)

    def users(self, kind: str | None) -> list[User]:
        q = select(U).order_by(U.c.name)
        if kind is not None:
            q = q.where(U.c.kind == kind)
        return [_user(r) for r in self.conn.execute(q)]

    def count_admins(self) -> int:
        q = select(U.c.id).where(U.c.is_admin.is_(True), U.c.disabled.is_(False))
        return len(self.conn.execute(q).all())

    def set_user(self, user_id: str, **values: Any) -> None:
        self.conn.execute(update(U).where(U.c.id == user_id).values(**values))

    # ---- tokens -------------------------------------------------------------------------------

    def add_token(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(T).values(**values))

    def _tokens(self) -> Any:
        return select(T, U.c.name.label("user_name")).join(U, U.c.id == T.c.user_id)

    def token(self, token_id: str) -> AccessToken | None:
        row = self.conn.execute(self._tokens().where(T.c.id == token_id)).first()
        return None if row is None else _token(row)

    def tokens(self, user_id: str | None) -> list[AccessToken]:
        q = self._tokens().order_by(T.c.created_at, T.c.id)
        if user_id is not None:
            q = q.where(T.c.user_id == user_id)
        return [_token(r) for r in self.conn.execute(q)]

    def token_by_secret(self, secret_sha256: str) -> Any:
        """The token and its user's row, for authentication."""
        q = (
            select(T.c.id, T.c.expires_at, T.c.revoked_at, T.c.last_used_at,
                   U.c.id.label("user_id"), U.c.name, U.c.kind, U.c.is_admin, U.c.disabled)
            .join(U, U.c.id == T.c.user_id)
            .where(T.c.secret_sha256 == secret_sha256)
        )  # fmt: skip
        return self.conn.execute(q).first()

    def set_token(self, token_id: str, **values: Any) -> None:
        self.conn.execute(update(T).where(T.c.id == token_id).values(**values))

    def revoke_tokens_of(self, user_id: str, now: int) -> None:
        self.conn.execute(
            update(T).where(T.c.user_id == user_id, T.c.revoked_at.is_(None)).values(revoked_at=now)
        )

    # ---- sessions -----------------------------------------------------------------------------

    def add_session(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(S).values(**values))

    def session(self, secret_sha256: str) -> Any:
        q = (
            select(S.c.csrf_token, S.c.expires_at, U.c.id.label("user_id"), U.c.name, U.c.kind,
                   U.c.is_admin, U.c.disabled)
            .join(U, U.c.id == S.c.user_id)
            .where(S.c.secret_sha256 == secret_sha256)
        )  # fmt: skip
        return self.conn.execute(q).first()

    def delete_session(self, secret_sha256: str) -> None:
        self.conn.execute(delete(S).where(S.c.secret_sha256 == secret_sha256))

    def delete_sessions_of(self, user_id: str) -> None:
        self.conn.execute(delete(S).where(S.c.user_id == user_id))

    # ---- teams --------------------------------------------------------------------------------

    def add_team(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(TM).values(**values))

    def team_row(self, name: str) -> Any:
        return self.conn.execute(select(TM).where(TM.c.name == name)).first()

    def teams(self, names: Sequence[str] | None = None) -> list[Team]:
        q = select(TM).order_by(TM.c.name)
        if names is not None:
            q = q.where(TM.c.name.in_(list(names)))
        rows = list(self.conn.execute(q))
        members: dict[str, list[str]] = {r.id: [] for r in rows}
        if rows:
            m = (
                select(TMM.c.team_id, U.c.name)
                .join(U, U.c.id == TMM.c.user_id)
                .where(TMM.c.team_id.in_(list(members)))
                .order_by(U.c.name)
            )
            for team_id, user_name in self.conn.execute(m):
                members[team_id].append(user_name)
        return [
            Team(r.id, r.name, r.description, tuple(members[r.id]), r.created_by, int(r.created_at))
            for r in rows
        ]

    def add_member(self, team_id: str, user_id: str, now: int) -> bool:
        q = select(TMM.c.team_id).where(TMM.c.team_id == team_id, TMM.c.user_id == user_id)
        if self.conn.execute(q).first() is not None:
            return False
        self.conn.execute(insert(TMM).values(team_id=team_id, user_id=user_id, added_at=now))
        return True

    def remove_member(self, team_id: str, user_id: str) -> bool:
        gone = self.conn.execute(
            delete(TMM).where(TMM.c.team_id == team_id, TMM.c.user_id == user_id)
        )
        return bool(gone.rowcount)

    def delete_team(self, team_id: str) -> None:
        self.conn.execute(
            delete(RB).where(RB.c.principal_kind == "team", RB.c.principal_id == team_id)
        )
        self.conn.execute(delete(TM).where(TM.c.id == team_id))

    def team_ids_of(self, user_id: str) -> list[str]:
        q = select(TMM.c.team_id).where(TMM.c.user_id == user_id)
        return list(self.conn.execute(q).scalars())

    # ---- role bindings ------------------------------------------------------------------------

    def set_binding(self, values: dict[str, Any]) -> bool:
        """Insert, or change the role of the principal's binding on the scope; True if new."""
        key = (
            (RB.c.principal_kind == values["principal_kind"])
            & (RB.c.principal_id == values["principal_id"])
            & (RB.c.scope_type == values["scope_type"])
            & (RB.c.scope_id == values["scope_id"])
        )
        if self.conn.execute(select(RB.c.id).where(key)).first() is not None:
            self.conn.execute(update(RB).where(key).values(role=values["role"]))
            return False
        self.conn.execute(insert(RB).values(**values))
        return True

    def delete_binding(self, kind: str, principal_id: str, scope_type: str, scope_id: str) -> bool:
        gone = self.conn.execute(
            delete(RB).where(
                RB.c.principal_kind == kind,
                RB.c.principal_id == principal_id,
                RB.c.scope_type == scope_type,
                RB.c.scope_id == scope_id,
            )
        )
        return bool(gone.rowcount)

    def bindings(
        self, *, scope_type: str | None = None, scope_id: str | None = None
    ) -> list[RoleBinding]:
        principal = (
            select(U.c.id.label("pid"), U.c.name.label("pname"))
            .union_all(select(TM.c.id, TM.c.name))
            .subquery()
        )
        q = select(RB, principal.c.pname).join(principal, principal.c.pid == RB.c.principal_id)
        if scope_type is not None:
            q = q.where(RB.c.scope_type == scope_type)
        if scope_id is not None:
            q = q.where(RB.c.scope_id == scope_id)
        q = q.order_by(RB.c.scope_type, RB.c.scope_id, principal.c.pname)
        return [
            RoleBinding(
                r.id,
                r.principal_kind,
                r.pname,
                r.role,
                r.scope_type,
                r.scope_id,
                r.created_by,
                int(r.created_at),
            )
            for r in self.conn.execute(q)
        ]

    def roles_of(self, principal_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """``(role, scope_type, scope_id)`` of every binding of these users and teams."""
        q = select(RB.c.role, RB.c.scope_type, RB.c.scope_id).where(
            or_(*(RB.c.principal_id == p for p in principal_ids))
        )
        return [(r.role, r.scope_type, r.scope_id) for r in self.conn.execute(q)]

    # ---- what a resource belongs to (for authorization) ---------------------------------------

    def experiment_of_run(self, run_id: str) -> str | None:
        E = schema.executions
        found = self.conn.execute(select(E.c.context_id).where(E.c.id == run_id)).scalar()
        return None if found is None else str(found)

    def experiment_of_logged_model(self, model_id: str) -> str | None:
        L = schema.logged_models
        found = self.conn.execute(select(L.c.experiment_id).where(L.c.id == model_id)).scalar()
        return None if found is None else str(found)

    def grants_of(self, name: str) -> tuple[Any, list[tuple[str, str, str]]] | None:
        """A user's row and every ``(role, scope_type, scope_id)`` bound to them or to a team
        they are in; None if there is no such user."""
        row = self.user_row(name)
        if row is None:
            return None
        return row, self.roles_of([row.id, *self.team_ids_of(row.id)])
