"""The local model cache: verified, read-only copies of model files, keyed by their tree digest.

``CLEW_HOME/cache/models/<digest>/`` holds ``model/`` (the files) and ``verified.json`` (the
marker). ``<digest>`` is the tree digest the registry pinned for a version (or computed from a
logged model's file list), so whatever URI reaches the same bytes reaches the same entry.

Why an entry can be trusted without re-hashing it on every load:

1. It is created only by :meth:`ModelCache.fill` (or :meth:`ModelCache.adopt`): every file is
   downloaded into a private temp dir while being hashed, and compared with the digest and size
   the *server* recorded (the registry's version files, a logged model's manifest); the list
   must add up to the pinned tree digest; MLmodel's own ``clew_files`` must agree with them.
   Only then is the marker written, every file made read-only, and the temp dir renamed into
   place in one step, so a half-written entry is never visible and concurrent fills are safe.
2. The marker records each file's size and mtime. A hit checks those with ``lstat`` and that
   the directory holds exactly the recorded files: an edit, a replaced file or a dropped-in
   extra (``sitecustomize.py``) makes the entry invalid, and it is thrown away and fetched
   again. Re-fetching (rather than refusing) is deliberate: the cache is a disposable copy and
   the server's pinned digests are the truth, so a damaged copy costs one download, not an
   outage. (A tampered *server* blob is refused: nothing trustworthy is left to fetch.)
3. Bytes that loading deserializes (``model.skops``, ``model.pkl``…) are hashed anyway, when
   read, against the digest MLmodel records (``ModelDir.read_bytes``): reading them is needed
   to load, hashing in memory is cheap, and it closes the gap a forged mtime would leave for
   the bytes that matter. What a hit skips is re-hashing the inert side files (environment
   files, input examples) and parsing MLmodel's YAML: the marker keeps it as JSON.

``load_model(..., verify=True)`` ignores all this and re-verifies every file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clew.client.model_uri import MLMODEL, MODEL_DIR
from clew.core.errors import InvalidModel, ModelIntegrityError
from clew.models.files import ModelDir
from clew.registry.model import VersionFile, tree_digest

if TYPE_CHECKING:
    from clew.models.pyfunc_model import PyFuncModel

log = logging.getLogger(__name__)

MARKER = "verified.json"
FORMAT = 1
STALE_TMP_SECONDS = 24 * 3600
_DIGEST = re.compile(r"[0-9a-f]{64}")
#: Files no loader executes or deserializes: a verified entry's are not re-hashed on a hit.
INERT_FILES = frozenset(
    {
        "requirements.txt",
        "conda.yaml",
        "python_env.yaml",
        "input_example.json",
        "serving_input_example.json",
        "registered_model_meta",
    }
)

Fetch = Callable[[VersionFile], AbstractContextManager[Iterator[bytes]]]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class CacheEntry:
    """A verified cache entry: ``path`` is the model directory to load."""

    digest: str
    path: Path
    mlmodel_digest: str
    mlmodel: dict[str, Any] | None


def integrity_error(message: str, **details: Any) -> ModelIntegrityError:
    return ModelIntegrityError(message, **details)


class ModelCache:
    """Content-addressed model directories under ``root`` (``CLEW_HOME/cache/models``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ModelCache({str(self.root)!r})"

    def _base(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise InvalidModel("A cache key is a 64-hex tree digest", digest=digest)
        return self.root / digest

    # ---- hits ----------------------------------------------------------------------------------

    def lookup(self, digest: str) -> CacheEntry | None:
        """The verified entry for ``digest``, or ``None`` (missing, or found damaged: evicted)."""
        base = self._base(digest)
        try:
            marker = json.loads((base / MARKER).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._discard(digest, "unreadable marker")
            return None
        problem = _check_marker(marker, digest, base / MODEL_DIR)
        if problem:
            self._discard(digest, problem)
            return None
        return CacheEntry(digest, base / MODEL_DIR, marker["mlmodel_digest"], marker.get("mlmodel"))

    def _discard(self, digest: str, why: str) -> None:
        log.warning("Model cache entry %s is damaged (%s); fetching it again", digest, why)
        self.evict(digest)

    def evict(self, digest: str) -> None:
        """Remove an entry (read-only files and all); a missing one is fine."""
        _remove_tree(self._base(digest))

    # ---- misses --------------------------------------------------------------------------------

    def fill(
        self,
        digest: str,
        files: Sequence[VersionFile],
        fetch: Fetch,
        progress: Progress | None = None,
    ) -> CacheEntry:
        """Download ``files`` (verifying each), then publish them atomically as ``digest``.

        Raises:
            ModelIntegrityError: a file's bytes, or the list, do not match what was pinned;
                nothing is left in the cache.
        """
        if tree_digest(list(files)) != digest:
            raise integrity_error(
                "The model's file list does not add up to its pinned digest", digest=digest
            )
        with self.staging() as tmp:
            fetch_verified(files, fetch, tmp / MODEL_DIR, progress)
            return self._publish(tmp, digest, files)

    def adopt(
        self, staged: Path, digest: str, files: Sequence[VersionFile], local_digests: dict[str, str]
    ) -> CacheEntry | None:
        """Publish a model just saved and uploaded (``staged/model``) without downloading it.

        ``local_digests`` (path → ``sha256:<hex>``, as the saver computed them) must equal what
        the server recorded for every file; otherwise nothing is adopted.
        """
        server = {f.path: "sha256:" + f.digest for f in files}
        if server != local_digests or tree_digest(list(files)) != digest:
            return None
        return self._publish(staged, digest, files)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private temp dir on the cache's filesystem (so publishing is one rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep()
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            yield tmp
        finally:
            _remove_tree(tmp)

    def _publish(self, tmp: Path, digest: str, files: Sequence[VersionFile]) -> CacheEntry:
        from clew.models.mlmodel import read_mlmodel

        model_dir = tmp / MODEL_DIR
        info = read_mlmodel(model_dir)
        by_path = {f.path: f for f in files}
        mlmodel = by_path.get(MLMODEL)
        if mlmodel is None or info.mlmodel_digest != "sha256:" + mlmodel.digest:
            raise integrity_error("MLmodel is missing or differs from the pinned one")
        if info.files is not None:
            own = {rel: (d.digest, d.size) for rel, d in info.files.items()}
            pinned = {p: ("sha256:" + f.digest, f.size) for p, f in by_path.items() if p != MLMODEL}
            if own != pinned:
                raise integrity_error("MLmodel's clew_files disagree with the pinned files")
        _make_read_only(model_dir)
        doc = _jsonable(info.to_dict())
        marker = {
            "format": FORMAT,
            "digest": digest,
            "mlmodel_digest": info.mlmodel_digest,
            "files": _fingerprints(model_dir, by_path),
            "mlmodel": doc,
            "created": int(time.time() * 1000),
        }
        (tmp / MARKER).write_text(json.dumps(marker, separators=(",", ":")), encoding="utf-8")
        os.chmod(tmp / MARKER, 0o444)
        base = self._base(digest)
        try:
            os.rename(tmp, base)
        except OSError:
            # Another process published the same digest first: its entry is as good as ours.
            # Anything else there (a half-evicted leftover) goes, and ours takes its place.
            found = self.lookup(digest)
            if found is not None:
                return found
            self.evict(digest)
            os.rename(tmp, base)
        os.chmod(base, 0o555)
        return CacheEntry(digest, base / MODEL_DIR, info.mlmodel_digest, doc)

    def _sweep(self) -> None:
        """Remove temp dirs a crashed fill left behind (older than a day)."""
        cutoff = time.time() - STALE_TMP_SECONDS
        for tmp in self.root.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if tmp.lstat().st_mtime < cutoff:
                    _remove_tree(tmp)


def fetch_verified(
    files: Sequence[VersionFile], fetch: Fetch, dest: Path, progress: Progress | None = None
) -> None:
    """Stream each file into ``dest`` while hashing it; refuse on the first mismatch.

    Raises:
        ModelIntegrityError: (code ``MODEL_DIGEST_MISMATCH``) bytes or size differ from the pin.
    """
    from clew.artifacts.paths import local_target, validate_artifact_path

    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    for f in files:
        target = local_target(root, validate_artifact_path(f.path))
        target.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        with fetch(f) as chunks, open(target, "xb") as out:
            for chunk in chunks:
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        if size != f.size or h.hexdigest() != f.digest:
            raise integrity_error(
                f"Downloaded bytes of {f.path} do not match the digest the server recorded",
                mismatched=[f.path],
                expected=f.digest,
                got=h.hexdigest(),
            )


def _check_marker(marker: Any, digest: str, model_dir: Path) -> str:
    """Why the entry cannot be used, or ``""``."""
    if not isinstance(marker, dict) or marker.get("format") != FORMAT:
        return "unknown marker format"
    if marker.get("digest") != digest:
        return "marker names another digest"
    recorded = marker.get("files")
    if not isinstance(recorded, dict):
        return "marker has no file list"
    present: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(model_dir):
        base = Path(dirpath)
        for name in dirnames:
            if (base / name).is_symlink():
                return "a symlink appeared"
        for name in filenames:
            present.add((base / name).relative_to(model_dir).as_posix())
    if present != set(recorded):
        return "files were added or removed"
    for rel, (size, mtime_ns) in recorded.items():
        try:
            st = os.lstat(model_dir / rel)
        except OSError:
            return f"{rel} is unreadable"
        if not stat.S_ISREG(st.st_mode) or st.st_size != size or st.st_mtime_ns != mtime_ns:
            return f"{rel} changed"
    return ""


def _fingerprints(model_dir: Path, files: dict[str, VersionFile]) -> dict[str, list[int]]:
    out = {}
    for rel in files:
        st = os.lstat(model_dir / rel)
        out[rel] = [st.st_size, st.st_mtime_ns]
    return out


def _jsonable(doc: dict[str, Any]) -> dict[str, Any] | None:
    """MLmodel as JSON, if it round-trips exactly (else a hit parses the YAML instead)."""
    try:
        back = json.loads(json.dumps(doc))
    except (TypeError, ValueError):
        return None
    return doc if back == doc else None


def _make_read_only(model_dir: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(model_dir, topdown=False):
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o444)
        for name in dirnames:
            os.chmod(Path(dirpath) / name, 0o555)
    os.chmod(model_dir, 0o555)


def _remove_tree(path: Path) -> None:
    """Delete an entry or temp dir: directories are made writable first (read-only files
    can be unlinked from a writable directory)."""
    if not path.exists():
        return
    with contextlib.suppress(OSError):
        os.chmod(path, 0o755)
    for dirpath, dirnames, _files in os.walk(path):
        for name in dirnames:
            with contextlib.suppress(OSError):
                os.chmod(Path(dirpath) / name, 0o755)
    shutil.rmtree(path)


# ---- loading a verified entry --------------------------------------------------------------------


class VerifiedDir(ModelDir):
    """A ``ModelDir`` over a verified cache entry: inert side files are not re-hashed.

    Everything else is ``ModelDir``'s: exact file names, the pinned MLmodel digest, other
    side files hashed, and model bytes hashed as they are read.
    """

    def verify_except(self, skip: Iterable[str]) -> None:
        super().verify_except({*skip, *(INERT_FILES & set(self.recorded or ()))})


def load_entry(
    entry: CacheEntry, *, trust: bool = False, skops_trusted_types: tuple[str, ...] = ()
) -> PyFuncModel:
    """Load a verified entry as a ``PyFuncModel``: MLmodel from the marker's JSON, inert side
    files not re-hashed, model bytes hashed as they are read (see the module docstring)."""
    from clew.models.flavors.registry import flavor_for_loader
    from clew.models.mlmodel import _from_dict, read_mlmodel
    from clew.models.pyfunc_model import PyFuncModel

    if entry.mlmodel is not None:
        # _from_dict is read_mlmodel's own conversion, minus the YAML parse (asked the models
        # owner for a public name).
        info = _from_dict(dict(entry.mlmodel), str(entry.path), entry.mlmodel_digest)
    else:
        info = read_mlmodel(entry.path)
    model = VerifiedDir(
        entry.path,
        info.files,
        mlmodel_digest=info.mlmodel_digest,
        trust=trust,
        expected_digest=entry.mlmodel_digest,
        skops_trusted_types=skops_trusted_types,
    )
    # The same steps as clew.models.load_model, on a ModelDir that skips inert files.
    pyfunc = info.pyfunc_config
    if pyfunc is None:
        raise InvalidModel("This model has no python_function flavor to predict with")
    loader = str(pyfunc.get("loader_module") or "")
    chosen = flavor_for_loader(loader)
    if chosen is None:
        raise InvalidModel(f"No installed flavor serves loader_module {loader!r}", loader=loader)
    config = {**pyfunc, **info.flavors.get(chosen.name, {})}
    model.verify_except(chosen.data_files(config))
    return PyFuncModel(info, chosen.pyfunc(model, config), chosen.name)
