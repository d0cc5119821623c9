"""Authorization primitives: the check every service method makes before it writes.

Until the governance capability lands, the only policy is ``AllowAll``; services already call
``authorizer.check`` so that a real policy slots in without touching them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from clew.core.actor import Actor
from clew.core.errors import PermissionDenied


class Permission(enum.StrEnum):
    READ = "read"
    EDIT = "edit"
    MANAGE = "manage"


@dataclass(frozen=True, slots=True)
class Resource:
    """What is being touched: its type and id (e.g. ``experiment``/``"3"``, ``run``/``<hex>``)."""

    type: str
    id: str


class Authorizer(Protocol):
    def check(self, actor: Actor, permission: Permission, resource: Resource) -> None:
        """Return if allowed; raise ``PermissionDenied`` otherwise."""


class AllowAll:
    """Local mode and the pre-governance server: every actor may do everything."""

    def check(self, actor: Actor, permission: Permission, resource: Resource) -> None:
        return None


def allows(authz: Authorizer, actor: Actor, permission: Permission, resource: Resource) -> bool:
    """``authz.check`` as a yes or no, for what is shown or walked rather than refused."""
    try:
        authz.check(actor, permission, resource)
    except PermissionDenied:
        return False
    return True


def readable_scope(authz: Authorizer, actor: Actor, resource_type: str) -> frozenset[str] | None:
    """The ids of ``resource_type`` (``experiment``, ``registered_model``…) that ``actor`` may
    read, for a search to filter by in its query; None: every one. An authorizer without the
    notion (``AllowAll``) lets everyone read everything."""
    readable = getattr(authz, "readable", None)
    if readable is None:
        return None
    found: frozenset[str] | None = readable(actor, resource_type)
    return found
