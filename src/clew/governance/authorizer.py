"""Role-based authorization, decided from stored data: the ``Authorizer`` a server with
authentication on gives every service.

A role on a scope grants permissions on what the scope holds: viewer reads, editor also
writes, maintainer also deletes and manages (``Permission.MANAGE``), admin does everything,
including managing identity and reading the audit log. Scopes are everything, one experiment
(and so its runs and logged models), one registered model, one pipeline. Which experiment a run
or a logged model is in comes from the database, never from the request, so naming another
experiment's run in a URL earns nothing. Deny by default: a resource of a type this does not
know is an admin's alone.

Each check reads the caller's grants (cached ``auth_cache_s``, so a change reaches a running
server within that) and, for a run or logged model, its experiment (cached for good: neither
ever moves).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from clew.core.actor import Actor
from clew.core.authz import Permission, Resource
from clew.core.db import Database
from clew.core.errors import PermissionDenied
from clew.governance.model import Role, ScopeType
from clew.governance.store import IdentityStore

#: The least role that grants each permission.
NEEDS: Final = {Permission.READ: Role.VIEWER, Permission.EDIT: Role.EDITOR,
                Permission.MANAGE: Role.MAINTAINER}  # fmt: skip
#: Resource types whose scope is themselves; runs and logged models are their experiment's.
_SCOPED: Final = {"experiment": ScopeType.EXPERIMENT, "registered_model":
                  ScopeType.REGISTERED_MODEL, "pipeline": ScopeType.PIPELINE}  # fmt: skip
#: Resource types that only a grant on everything reaches (there is nothing narrower).
_GLOBAL: Final = frozenset({"webhook"})
_OWNERS_KEPT: Final = 100_000


class _Grants:
    __slots__ = ("admin", "roles")

    def __init__(self, admin: bool, roles: dict[tuple[str, str], int]) -> None:
        self.admin, self.roles = admin, roles


class RoleAuthorizer:
    def __init__(
        self, db: Database, cache_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.cache_s = cache_s
        self.clock = clock
        self._grants: dict[str, tuple[_Grants | None, float]] = {}
        self._owners: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop cached grants (after a grant or revoke made in this process)."""
        with self._lock:
            self._grants.clear()

    def check(self, actor: Actor, permission: Permission, resource: Resource) -> None:
        if actor.kind == "system":
            return None  # Clew's own work: migrations, the pipeline worker's bookkeeping
        grants = self._grants_of(actor.name)
        if grants is None:
            raise PermissionDenied(
                f"{actor.name} may not {permission.value} this", resource=resource.type
            )
        if grants.admin:
            return None
        needed = NEEDS.get(permission)
        scopes = self._scopes(resource)
        if needed is not None and scopes is not None:
            best = max((grants.roles.get(s, -1) for s in scopes), default=-1)
            if best >= needed.rank:
                return None
        raise PermissionDenied(
            f"{actor.name} may not {permission.value} {resource.type} {resource.id}",
            resource=resource.type,
        )

    def readable(self, actor: Actor, resource_type: str) -> frozenset[str] | None:
        """The ids of ``resource_type`` the actor may read; None: all of them (an admin, a
        grant on everything, Clew itself)."""
        if actor.kind == "system":
            return None
        grants = self._grants_of(actor.name)
        if grants is None:
            return frozenset()
        viewer = Role.VIEWER.rank
        if grants.admin or grants.roles.get((ScopeType.ALL.value, ""), -1) >= viewer:
            return None
        scope = _SCOPED.get(resource_type)
        if scope is None:
            return frozenset()
        return frozenset(
            ident for (kind, ident), rank in grants.roles.items()
            if kind == scope.value and rank >= viewer
        )  # fmt: skip

    def _scopes(self, resource: Resource) -> list[tuple[str, str]] | None:
        """The scopes a grant on which covers ``resource``; None: only an admin's does."""
        everything = (ScopeType.ALL.value, "")
        if resource.type in _GLOBAL:
            return [everything]
        if resource.type in ("run", "logged_model"):
            experiment = self._owner(resource.type, resource.id)
            return [everything] if experiment is None else [
                everything, (ScopeType.EXPERIMENT.value, experiment)
            ]  # fmt: skip
        scope = _SCOPED.get(resource.type)
        if scope is None:
            return None  # identity, audit, and whatever this does not know
        if resource.id == "*":  # every one of them: creating, or listing across them all
            return [everything]
        return [everything, (scope.value, resource.id)]

    def _grants_of(self, name: str) -> _Grants | None:
        """The user's admin flag and best role per scope; None for no such (or a disabled)
        user. Cached ``cache_s``, the answer None included."""
        now = self.clock()
        with self._lock:
            cached = self._grants.get(name)
        if cached is not None and now - cached[1] < self.cache_s:
            return cached[0]
        with self.db.read() as conn:
            row = IdentityStore(conn).grants_of(name)
        grants: _Grants | None = None
        if row is not None and not row[0].disabled:
            user, bindings = row
            roles: dict[tuple[str, str], int] = {}
            for role, scope_type, scope_id in bindings:
                key = (scope_type, scope_id)
                roles[key] = max(roles.get(key, -1), Role(role).rank)
            grants = _Grants(bool(user.is_admin), roles)
        with self._lock:
            self._grants[name] = (grants, now)
        return grants

    def _owner(self, kind: str, resource_id: str) -> str | None:
        key = (kind, resource_id)
        with self._lock:
            if key in self._owners:
                return self._owners[key]
        with self.db.read() as conn:
            store = IdentityStore(conn)
            found = (
                store.experiment_of_run(resource_id)
                if kind == "run"
                else store.experiment_of_logged_model(resource_id)
            )
        if found is not None:  # an unknown id is not remembered: it may be made next
            with self._lock:
                self._owners[key] = found
                while len(self._owners) > _OWNERS_KEPT:
                    self._owners.popitem(last=False)
        return found
