"""A registered model's policy: what a promotion must show before a protected alias or stage
moves. A YAML document, kept in the registry by version (each ``policy set`` adds one)::

    protect:
      aliases: [champion]          # moved only by an applied promotion request
      stages: [Production]
    approvals:
      required: 2                  # distinct approvers, never the requester
      role: maintainer             # the least role an approver holds on the model
    metrics:                       # on the version's run, its latest value of each
      accuracy: ">= 0.9"
      loss: "<= 0.2"
    tags: [owner, model_card.intended_use]   # the version must carry these tags
    lineage:
      datasets: true               # the version's run read at least one logged data set
    digests: true                  # every file's bytes still match their recorded sha256
    expires_after_days: 14         # an undecided or unapplied request then EXPIRES

Parsing is strict: an unknown key, a bad threshold or a role that does not exist is an error
naming it, so a typo cannot quietly weaken a policy.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from clew.core.errors import InvalidInput
from clew.governance.model import Role

_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}  # fmt: skip
_THRESHOLD: Final = re.compile(r"\s*(>=|<=|==|>|<)\s*(-?\d+(\.\d+)?([eE][-+]?\d+)?)\s*")
_KEYS: Final = frozenset(
    {"protect", "approvals", "metrics", "tags", "lineage", "digests", "expires_after_days"}
)
MAX_DOCUMENT: Final = 64 * 1024


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float

    def holds(self, measured: float) -> bool:
        return _OPS[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class Policy:
    protected_aliases: frozenset[str] = frozenset()
    protected_stages: frozenset[str] = frozenset()
    approvals: int = 1
    approver_role: Role = Role.MAINTAINER
    metrics: Mapping[str, Threshold] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    datasets: bool = False
    digests: bool = True
    expires_after_days: float | None = None

    def protects(self, alias: str | None, stage: str | None) -> bool:
        return (alias is not None and alias in self.protected_aliases) or (
            stage is not None and stage in self.protected_stages
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "protect": {"aliases": sorted(self.protected_aliases),
                        "stages": sorted(self.protected_stages)},
            "approvals": {"required": self.approvals, "role": self.approver_role.value},
            "metrics": {k: str(t) for k, t in sorted(self.metrics.items())},
            "tags": list(self.tags),
            "lineage": {"datasets": self.datasets},
            "digests": self.digests,
            "expires_after_days": self.expires_after_days,
        }  # fmt: skip


def parse(document: str) -> Policy:
    """A validated ``Policy`` from its YAML; ``InvalidInput`` names what is wrong."""
    if not isinstance(document, str) or len(document) > MAX_DOCUMENT:
        raise InvalidInput(f"A policy is a YAML document of at most {MAX_DOCUMENT} bytes")
    try:
        raw = yaml.safe_load(document) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"The policy is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidInput("A policy is a mapping of protect, approvals, metrics, tags, …")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise InvalidInput(f"Unknown policy keys {unknown}; known: {sorted(_KEYS)}")
    protect = _mapping(raw.get("protect", {}), "protect")
    approvals = _mapping(raw.get("approvals", {}), "approvals")
    lineage = _mapping(raw.get("lineage", {}), "lineage")
    required = approvals.get("required", 1)
    if isinstance(required, bool) or not isinstance(required, int) or not 1 <= required <= 20:
        raise InvalidInput("approvals.required is a whole number from 1 to 20")
    role = approvals.get("role", Role.MAINTAINER.value)
    if role not in tuple(Role) or role == Role.VIEWER.value:
        raise InvalidInput("approvals.role is editor, maintainer or admin")
    expires = raw.get("expires_after_days")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int | float)
                                or expires <= 0):  # fmt: skip
        raise InvalidInput("expires_after_days is a positive number of days")
    return Policy(
        protected_aliases=frozenset(_names(protect.get("aliases", []), "protect.aliases")),
        protected_stages=frozenset(_names(protect.get("stages", []), "protect.stages")),
        approvals=required,
        approver_role=Role(role),
        metrics={
            k: _threshold(k, t) for k, t in _mapping(raw.get("metrics", {}), "metrics").items()
        },
        tags=tuple(_names(raw.get("tags", []), "tags")),
        datasets=_flag(lineage.get("datasets", False), "lineage.datasets"),
        digests=_flag(raw.get("digests", True), "digests"),
        expires_after_days=None if expires is None else float(expires),
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} is a mapping")
    return value


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{where} is a list of names")
    return list(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{where} is true or false")
    return value


def _threshold(key: str, raw: Any) -> Threshold:
    found = _THRESHOLD.fullmatch(str(raw)) if isinstance(raw, str | int | float) else None
    if not isinstance(key, str) or not key or found is None:
        raise InvalidInput(f"metrics.{key}: a threshold is like '>= 0.9'")
    return Threshold(found.group(1), float(found.group(2)))
