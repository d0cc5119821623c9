"""What the audit log hands out: events and verification results, free of the database layer
so that clients can use them without importing SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    time: int
    actor: str
    actor_kind: str
    action: str
    resource_type: str
    resource_id: str
    summary: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "action": self.action,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "summary": self.summary,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None = None
    reason: str = ""
    #: The hash of the last event that verified (the chain's head when ``ok``): what a
    #: reader compares with an earlier reading or an export's head line.
    head_hash: str = ""
