"""File digests of a model directory, and a reader that verifies what it hands to a loader.

Clew records ``sha256`` and size for every file beside ``MLmodel`` (key ``clew_files``; MLflow
ignores unknown keys). On load, every file the flavor does not read itself is hashed first; the
files it does read (``model.pkl`` …) are read once into memory, hashed, compared and only then
deserialized *from those same bytes*. So no file is hashed twice and nothing can be swapped
between the check and the use (a time-of-check/time-of-use gap a verify-then-open would leave).

A digest in the model's own MLmodel only proves the files agree with that MLmodel: whoever can
rewrite the files can rewrite it too. What makes it a guard is pinning the MLmodel's own digest
somewhere the attacker cannot write (the registry records ``model_digest`` when a version is
created and passes it back as ``expected_digest``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from clew.artifacts.paths import validate_artifact_path
from clew.core.errors import InvalidModel, ModelIntegrityError, UntrustedModel

MLMODEL = "MLmodel"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    digest: str  # "sha256:<hex>"
    size: int


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> FileDigest:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return FileDigest("sha256:" + h.hexdigest(), size)


def list_files(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under ``root`` except MLmodel, sorted.

    Symlinks and special files are refused: a link can point a verified name at unverified
    bytes anywhere on the machine.
    """
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames + filenames:
            full = base / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                raise InvalidModel(f"Model directory contains a symlink: {rel}", path=rel)
            if name in filenames:
                if not full.is_file():
                    raise InvalidModel(f"Model directory contains a special file: {rel}")
                if rel != MLMODEL:
                    out.append(rel)
    return sorted(out)


def digest_tree(root: Path) -> dict[str, FileDigest]:
    return {rel: sha256_file(root / rel) for rel in list_files(root)}


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify_model`` found. ``ok`` only when digests are recorded and all match."""

    path: str
    recorded: bool
    model_digest: str
    mismatched: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unrecorded: tuple[str, ...] = ()
    files: dict[str, FileDigest] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.recorded and not (self.mismatched or self.missing or self.unrecorded)

    def raise_for_problems(self) -> None:
        if self.mismatched or self.missing or self.unrecorded:
            parts = [
                f"{label}: {', '.join(names)}"
                for label, names in (
                    ("changed", self.mismatched),
                    ("missing", self.missing),
                    ("not recorded", self.unrecorded),
                )
                if names
            ]
            raise ModelIntegrityError(
                f"Model files do not match the digests in MLmodel ({'; '.join(parts)})",
                mismatched=list(self.mismatched),
                missing=list(self.missing),
                unrecorded=list(self.unrecorded),
            )


class ModelDir:
    """A model directory being loaded: checks names up front, digests as files are used.

    Args:
        root: the directory.
        recorded: ``clew_files`` from MLmodel, or ``None`` for a model without digests (MLflow).
        trust: the caller vouches for the source; allows pickle reads without digests.
        expected_digest: the MLmodel digest the registry pinned; a different MLmodel refuses.
        skops_trusted_types: types the caller allows a skops file to construct, beyond defaults.
    """

    def __init__(
        self,
        root: Path,
        recorded: dict[str, FileDigest] | None,
        *,
        mlmodel_digest: str,
        trust: bool = False,
        expected_digest: str | None = None,
        skops_trusted_types: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.recorded = recorded
        self.trust = trust
        self.skops_trusted_types = skops_trusted_types
        if expected_digest is not None and expected_digest != mlmodel_digest:
            raise ModelIntegrityError(
                "MLmodel differs from the pinned model digest",
                expected=expected_digest,
                got=mlmodel_digest,
            )
        if recorded is not None:
            present = set(list_files(root))
            VerifyReport(
                str(root),
                True,
                mlmodel_digest,
                missing=tuple(sorted(set(recorded) - present)),
                unrecorded=tuple(sorted(present - set(recorded))),
            ).raise_for_problems()

    def path(self, rel: str) -> Path:
        canonical = validate_artifact_path(rel)
        return self.root.joinpath(*canonical.split("/"))

    def verify_except(self, skip: Iterable[str]) -> None:
        """Hash every recorded file not in ``skip`` (those the flavor will read itself)."""
        if self.recorded is None:
            return
        skipped = {validate_artifact_path(s) for s in skip}
        bad = [
            rel
            for rel, want in self.recorded.items()
            if rel not in skipped and sha256_file(self.path(rel)) != want
        ]
        VerifyReport(str(self.root), True, "", mismatched=tuple(bad)).raise_for_problems()

    def read_bytes(self, rel: str, *, executes_code: bool) -> bytes:
        """The file's bytes, verified against its digest if one is recorded.

        Args:
            executes_code: deserializing these bytes can run code (pickle). Without recorded
                digests that needs ``trust``: nothing else says these bytes are the ones saved.
        """
        if executes_code and self.recorded is None and not self.trust:
            raise UntrustedModel(
                f"{rel} is a pickle and this model records no file digests (it was not saved "
                "by Clew); loading it runs code from the file. Pass trust=True only for a "
                "model from a source you trust.",
                path=rel,
            )
        data = self.path(rel).read_bytes()
        if self.recorded is not None:
            want = self.recorded.get(validate_artifact_path(rel))
            if want is None or FileDigest(sha256_bytes(data), len(data)) != want:
                VerifyReport(str(self.root), True, "", mismatched=(rel,)).raise_for_problems()
        return data


def verify_model(path: str | os.PathLike[str]) -> VerifyReport:
    """Re-hash every file of the model at ``path`` and compare with what its MLmodel records.

    Never raises for a mismatch (``clew models verify`` prints the report); check ``.ok``.
    A model without recorded digests (written by MLflow) reports ``recorded=False``.
    """
    from clew.models.mlmodel import read_mlmodel

    root = Path(path)
    info = read_mlmodel(root)
    present = digest_tree(root)
    recorded = info.files
    if recorded is None:
        return VerifyReport(str(root), False, info.mlmodel_digest, files=present)
    return VerifyReport(
        str(root),
        True,
        info.mlmodel_digest,
        mismatched=tuple(
            sorted(rel for rel in set(present) & set(recorded) if present[rel] != recorded[rel])
        ),
        missing=tuple(sorted(set(recorded) - set(present))),
        unrecorded=tuple(sorted(set(present) - set(recorded))),
        files=present,
    )
