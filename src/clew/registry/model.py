"""The registry's domain objects: registered models, versions, aliases and their history.

Field names follow MLflow's registry (``creation_timestamp``, ``current_stage``, ``aliases`` …)
so the MLflow adapter is a mapping, not a second model. Versions are integers here; MLflow's
wire shape makes them strings, which is the adapter's business.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Stage(enum.StrEnum):
    """MLflow's (deprecated but still used) stages; aliases are the modern way to promote."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class VersionStatus(enum.StrEnum):
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    READY = "READY"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"


# Not frozen, unlike the other domain models: a search page builds hundreds of these on the
# server and again in the client, and a frozen dataclass's __init__ (one object.__setattr__
# per field) took 2.3 us against 0.3 us, a tenth of a 100-version search. Treat it as
# immutable all the same; it was never hashable (``tags`` is a dict).
@dataclass(slots=True)
class ModelVersion:
    """One version of a registered model.

    ``digest`` is the tree digest over the files it was registered with (empty for an
    external source whose bytes Clew never saw); ``run_id`` is the producing run, if any.
    """

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str
    current_stage: str
    description: str
    source: str
    run_id: str | None
    status: str
    status_message: str = ""
    logged_model_id: str | None = None
    digest: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    #: A URL to the producing run, kept as an MLflow client registered it (Clew does not use it).
    run_link: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "user_id": self.user_id,
            "current_stage": self.current_stage,
            "description": self.description,
            "source": self.source,
            "run_id": self.run_id,
            "status": self.status,
            "status_message": self.status_message,
            "logged_model_id": self.logged_model_id,
            "digest": self.digest,
            "tags": self.tags,
            "aliases": list(self.aliases),
            "run_link": self.run_link,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelVersion:
        return cls(
            name=d["name"],
            version=int(d["version"]),
            creation_timestamp=d["creation_timestamp"],
            last_updated_timestamp=d["last_updated_timestamp"],
            user_id=d.get("user_id") or "",
            current_stage=d.get("current_stage") or Stage.NONE,
            description=d.get("description") or "",
            source=d["source"],
            run_id=d.get("run_id"),
            status=d["status"],
            status_message=d.get("status_message") or "",
            logged_model_id=d.get("logged_model_id"),
            digest=d.get("digest") or "",
            tags=dict(d.get("tags") or {}),
            aliases=tuple(d.get("aliases") or ()),
            run_link=d.get("run_link") or "",
        )


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model. ``aliases`` maps alias → version; ``latest_versions`` holds the newest
    version in each stage that has one (MLflow's shape)."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str = ""
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: tuple[ModelVersion, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "user_id": self.user_id,
            "description": self.description,
            "tags": self.tags,
            "aliases": self.aliases,
            "latest_versions": [v.to_dict() for v in self.latest_versions],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RegisteredModel:
        return cls(
            name=d["name"],
            creation_timestamp=d["creation_timestamp"],
            last_updated_timestamp=d["last_updated_timestamp"],
            user_id=d.get("user_id") or "",
            description=d.get("description") or "",
            tags=dict(d.get("tags") or {}),
            aliases={str(k): int(v) for k, v in (d.get("aliases") or {}).items()},
            latest_versions=tuple(
                ModelVersion.from_dict(v) for v in d.get("latest_versions") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class VersionFile:
    """A file a version was registered with, and the blob that holds its bytes."""

    path: str
    digest: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "digest": self.digest, "size": self.size}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VersionFile:
        return cls(path=d["path"], digest=d["digest"], size=int(d["size"]))


@dataclass(frozen=True, slots=True)
class VersionVerification:
    """What ``verify_version`` found: every file re-hashed, and the ones that did not match."""

    name: str
    version: int
    checked: int
    mismatched: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    #: False when the version's recorded tree digest no longer matches its file list.
    tree_ok: bool = True

    @property
    def ok(self) -> bool:
        return self.tree_ok and not self.mismatched and not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "ok": self.ok,
            "checked": self.checked,
            "mismatched": list(self.mismatched),
            "missing": list(self.missing),
            "tree_ok": self.tree_ok,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VersionVerification:
        return cls(
            name=d["name"],
            version=int(d["version"]),
            checked=int(d["checked"]),
            mismatched=tuple(d.get("mismatched") or ()),
            missing=tuple(d.get("missing") or ()),
            tree_ok=bool(d.get("tree_ok", True)),
        )


@dataclass(frozen=True, slots=True)
class AliasMove:
    """One change of an alias or a stage, read back from the audit log.

    ``version`` is what the alias points at afterwards (``None``: removed); ``previous`` what
    it pointed at before. For stage changes ``alias`` is empty and ``stage`` is set.
    """

    seq: int
    time: int
    actor: str
    action: str
    alias: str
    version: int | None
    previous: int | None
    stage: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "stage": self.stage,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AliasMove:
        return cls(
            seq=int(d["seq"]),
            time=int(d["time"]),
            actor=d["actor"],
            action=d["action"],
            alias=d.get("alias") or "",
            version=d.get("version"),
            previous=d.get("previous"),
            stage=d.get("stage") or "",
        )


@dataclass(frozen=True, slots=True)
class AliasHistory:
    """The moves of one model's aliases (or of one alias), oldest first.

    With ``at`` (ms), ``aliases_at`` is what every alias pointed at that moment; an alias absent
    from it pointed nowhere then.
    """

    name: str
    moves: tuple[AliasMove, ...]
    alias: str | None = None
    at: int | None = None
    aliases_at: dict[str, int] = field(default_factory=dict)

    @property
    def version_at(self) -> int | None:
        """The version ``alias`` held at ``at`` (``None``: none, or no alias/time asked)."""
        return None if self.alias is None else self.aliases_at.get(self.alias)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "at": self.at,
            "version_at": self.version_at,
            "aliases_at": self.aliases_at,
            "moves": [m.to_dict() for m in self.moves],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AliasHistory:
        return cls(
            name=d["name"],
            moves=tuple(AliasMove.from_dict(m) for m in d.get("moves") or ()),
            alias=d.get("alias"),
            at=d.get("at"),
            aliases_at={str(k): int(v) for k, v in (d.get("aliases_at") or {}).items()},
        )


def tree_digest(files: Sequence[VersionFile]) -> str:
    """One sha256 over a version's files (path, digest and size of each, in path order).

    Empty for no files: an external source whose bytes Clew never saw has no digest to claim.
    """
    if not files:
        return ""
    lines = sorted(f"{f.path}\x00{f.digest}\x00{f.size}\n" for f in files)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
