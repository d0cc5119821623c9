"""Artifacts' domain objects: a stored blob and a file (or directory) in an owner's tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BlobRef:
    """An immutable blob: its sha256 (64 lowercase hex) and its size in bytes."""

    digest: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BlobRef:
        return cls(digest=str(d["digest"]), size=int(d["size"]))


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One entry of an owner's artifact tree.

    ``path`` is the full canonical path from the owner's root (MLflow's ``FileInfo.path``
    convention), not just the last segment. Directories exist only implicitly, as prefixes of
    file paths, so they carry no size or digest.
    """

    path: str
    is_dir: bool
    size: int | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "is_dir": self.is_dir, "size": self.size, "digest": self.digest}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileInfo:
        size = d.get("size")
        return cls(
            path=str(d["path"]),
            is_dir=bool(d.get("is_dir", False)),
            size=None if size is None else int(size),
            digest=d.get("digest"),
        )
