"""Who may do what: teams of users, and role bindings of a user or a team on a scope
(everything, one experiment, one registered model, one pipeline). Admins manage both.
"""

from __future__ import annotations

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission
from clew.core.db import Database, retry_conflicts
from clew.core.errors import AlreadyExists, InvalidInput, NotFound
from clew.core.ids import now_ms
from clew.governance.lookups import (
    IDENTITY,
    check_name,
    choice,
    new_id,
    require_team,
    require_user,
)
from clew.governance.model import Role, RoleBinding, ScopeType, Team
from clew.governance.store import IdentityStore


class AccessService:
    def __init__(self, db: Database, authz: Authorizer) -> None:
        self.db = db
        self.authz = authz

    def _changed(self) -> None:
        """Who holds what changed: this process's authorizer forgets what it remembered."""
        forget = getattr(self.authz, "forget", None)
        if forget is not None:
            forget()

    # ---- teams --------------------------------------------------------------------------------

    @retry_conflicts
    def create_team(self, actor: Actor, name: str, description: str = "") -> Team:
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        check_name("team", name)
        with self.db.write() as conn:
            store = IdentityStore(conn)
            if store.team_row(name) is not None:
                raise AlreadyExists("A team with this name exists", name=name)
            store.add_team({"id": new_id(), "name": name, "description": description[:2000],
                            "created_by": actor.name, "created_at": now_ms()})  # fmt: skip
            audit.append(conn, actor, "team.create", "team", name, {})
            return store.teams([name])[0]

    @retry_conflicts
    def set_member(self, actor: Actor, team: str, user: str, member: bool) -> Team:
        """Add ``user`` to ``team`` (``member``) or take them out; doing it twice is a no-op."""
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.write() as conn:
            store = IdentityStore(conn)
            team_row = require_team(store, team)
            user_row = require_user(store, user)
            changed = (
                store.add_member(team_row.id, user_row.id, now_ms())
                if member
                else store.remove_member(team_row.id, user_row.id)
            )
            if changed:
                self._changed()
                action = "team.member.add" if member else "team.member.remove"
                audit.append(conn, actor, action, "team", team, {"user": user})
            return store.teams([team])[0]

    @retry_conflicts
    def delete_team(self, actor: Actor, name: str) -> None:
        """The team and its role bindings go; its members stay."""
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.write() as conn:
            store = IdentityStore(conn)
            store.delete_team(require_team(store, name).id)
            self._changed()
            audit.append(conn, actor, "team.delete", "team", name, {})

    def list_teams(self, actor: Actor) -> list[Team]:
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.read() as conn:
            return IdentityStore(conn).teams()

    # ---- role bindings ------------------------------------------------------------------------

    @retry_conflicts
    def grant(
        self,
        actor: Actor,
        principal: str,
        role: str,
        scope_type: str = ScopeType.ALL,
        scope_id: str = "",
        *,
        team: bool = False,
    ) -> RoleBinding:
        """Give a user (or a ``team``) ``role`` on a scope: everything, or one experiment,
        registered model or pipeline. A principal holds one role per scope: granting another
        replaces it."""
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        checked_role = choice(Role, role, "role")
        scope = choice(ScopeType, scope_type, "scope")
        if (scope is ScopeType.ALL) != (scope_id == ""):
            raise InvalidInput("Scope 'all' takes no id; every other scope needs one")
        if not isinstance(scope_id, str) or len(scope_id) > 500:
            raise InvalidInput("A scope id has at most 500 characters")
        kind = "team" if team else "user"
        with self.db.write() as conn:
            store = IdentityStore(conn)
            principal_id = (
                require_team(store, principal).id if team else require_user(store, principal).id
            )
            store.set_binding({"id": new_id(), "principal_kind": kind,
                               "principal_id": principal_id, "role": checked_role.value,
                               "scope_type": scope.value, "scope_id": scope_id,
                               "created_by": actor.name, "created_at": now_ms()})  # fmt: skip
            self._changed()
            audit.append(conn, actor, "role.grant", kind, principal,
                         {"role": checked_role.value, "scope_type": scope.value,
                          "scope_id": scope_id})  # fmt: skip
            found = [
                b for b in store.bindings(scope_type=scope.value, scope_id=scope_id)
                if b.principal == principal and b.principal_kind == kind
            ]  # fmt: skip
        return found[0]

    @retry_conflicts
    def revoke(
        self,
        actor: Actor,
        principal: str,
        scope_type: str = ScopeType.ALL,
        scope_id: str = "",
        *,
        team: bool = False,
    ) -> None:
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        kind = "team" if team else "user"
        with self.db.write() as conn:
            store = IdentityStore(conn)
            principal_id = (
                require_team(store, principal).id if team else require_user(store, principal).id
            )
            if not store.delete_binding(kind, principal_id, scope_type, scope_id):
                raise NotFound("No such role binding", principal=principal, scope=scope_type)
            self._changed()
            audit.append(conn, actor, "role.revoke", kind, principal,
                         {"scope_type": scope_type, "scope_id": scope_id})  # fmt: skip

    def list_bindings(
        self, actor: Actor, scope_type: str | None = None, scope_id: str | None = None
    ) -> list[RoleBinding]:
        self.authz.check(actor, Permission.MANAGE, IDENTITY)
        with self.db.read() as conn:
            return IdentityStore(conn).bindings(scope_type=scope_type, scope_id=scope_id)
