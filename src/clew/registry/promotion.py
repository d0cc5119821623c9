"""The seams governance plugs into: a guard in front of every promotion, and event listeners.

Every alias move (set, move, delete, or removal because its version or model was deleted) and
every stage change calls ``PromotionGuard.check`` inside the write transaction, after the
model row is locked and before anything is written. Raising (``PermissionDenied``,
``Conflict`` …) rolls the whole call back. Issue 6's promotion requests and protected aliases
are a guard; until then ``AllowAllPromotions`` lets everything through, as ``AllowAll`` does
for permissions.

``RegistryListener.on_event`` is called in the same transaction right after each audit event,
with the same action and summary: the place for an outbox (webhooks) that must commit or roll
back together with the change it reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection

from clew.core.actor import Actor


@dataclass(frozen=True, slots=True)
class Promotion:
    """A requested change of what an alias or a stage points at.

    Attributes:
        model: the registered model's name.
        version: the version the alias will name / that enters ``stage``; ``None`` when an
            alias is being removed.
        previous: the version the alias named before (``None``: it was unset); for a stage
            change, the newest version that held ``stage`` before.
        alias: set for alias changes.
        stage: set for stage changes (the target stage).
        archive_existing: a stage change that also archives the stage's other versions.
        reason: why, when it is a side effect: ``"version_deleted"``, ``"model_deleted"``.
    """

    model: str
    version: int | None
    previous: int | None
    alias: str | None = None
    stage: str | None = None
    archive_existing: bool = False
    reason: str = ""


class PromotionGuard(Protocol):
    def check(self, conn: Connection, actor: Actor, promotion: Promotion) -> None:
        """Return to allow; raise a ``ClewError`` to refuse (nothing of the call is written)."""


class AllowAllPromotions:
    """Until governance lands (issue 6): every promotion is allowed."""

    def check(self, conn: Connection, actor: Actor, promotion: Promotion) -> None:
        return None


class RegistryListener(Protocol):
    def on_event(
        self, conn: Connection, actor: Actor, action: str, summary: Mapping[str, Any]
    ) -> None:
        """Called after each registry audit event, inside its transaction."""
