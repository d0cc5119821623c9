"""Step outputs as artifacts: written by their materializer, read back, passed by reference.

A tracked step's outputs are stored in its run's artifacts (``outputs/<name>/``), so each has a
content digest. The threads and processes executors hand a step's value back to the driver,
whose tracking stores it there. An executor whose steps run elsewhere (Ray) should not ship
values through the driver (issue 5: "outputs travel through the artifact store"): its worker
stores them (``store_outputs``) and returns a ``StoredOutput`` per output, and the worker of a
step that reads them loads them from the store (``resolve``). The driver loads a value only
where it must decide on it itself: a condition, a loop's items, the pipeline's outputs.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clew.artifacts.local_tree import walk_local_tree
from clew.artifacts.paths import join_artifact_path
from clew.pipelines import graph as g
from clew.pipelines.hooks import outputs_of
from clew.pipelines.materializers import Materializers
from clew.pipelines.records import MAX_INLINE_BYTES, MAX_INLINE_FILES, StepOutput, manifest_digest


@dataclass(frozen=True)
class StoredOutput:
    """Output ``name`` by reference: its files are run ``run_id``'s ``outputs/<name>/``,
    written by ``materializer``, with content digest ``digest``."""

    run_id: str
    name: str
    materializer: str
    digest: str

    @property
    def record(self) -> StepOutput:
        return StepOutput(self.name, self.digest, self.materializer)

    @property
    def tag(self) -> str:
        return f"{self.materializer}:{self.digest}"


@dataclass(frozen=True)
class OutputStore:
    """How to store a step's outputs where it runs (``RunContext.store``): ``key`` names the
    step run in errors; ``materializers`` are the driver's (its plugins and pickle policy)."""

    task: g.TaskSpec
    key: str
    materializers: Materializers


@dataclass(frozen=True)
class Stored:
    """What a ``by_reference`` invoker returns: the outputs it stored, by name."""

    outputs: dict[str, StoredOutput]


@dataclass
class HeldFiles:
    """Small outputs' files, held in memory to go with the step's end
    (``Client.record_pipeline_step(files=...)``): their rows then commit in the end's
    transaction instead of one upload transaction each. At most ``MAX_INLINE_FILES`` files
    and ``MAX_INLINE_BYTES`` bytes in all; an output that does not fit is uploaded."""

    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    size: int = 0
    count: int = 0

    def take(self, name: str, root: Path) -> dict[str, str] | None:
        """Hold the files below ``root`` as output ``name``'s and return their digests by
        artifact path; None (nothing held) if they do not fit."""
        found = [(local, rel, local.stat().st_size) for local, rel in walk_local_tree(root)]
        size = sum(bytes_ for _, _, bytes_ in found)
        if not found or self.count + len(found) > MAX_INLINE_FILES:
            return None
        if self.size + size > MAX_INLINE_BYTES:
            return None
        files = {rel: local.read_bytes() for local, rel, _ in found}
        self.files[name] = files
        self.size += sum(len(data) for data in files.values())
        self.count += len(files)
        base = f"outputs/{name}"
        return {
            join_artifact_path(base, rel): hashlib.sha256(data).hexdigest()
            for rel, data in files.items()
        }


def store_output(
    client: Any,
    materializers: Materializers,
    run_id: str,
    name: str,
    value: Any,
    *,
    step: str,
    held: HeldFiles | None = None,
) -> StoredOutput:
    """Write ``value`` with its materializer and store it as run ``run_id``'s output ``name``:
    uploaded now, or (small, with ``held``) held to be stored with the step's end."""
    materializer = materializers.for_value(value, step=step)
    with scratch_dir() as tmp:
        materializer.save(value, tmp)
        digests = None if held is None else held.take(name, tmp)
        if digests is None:
            files = client.log_artifacts(run_id, tmp, f"outputs/{name}")
            digests = {f.path: f.digest for f in files if f.digest}
    return StoredOutput(run_id, name, materializer.name, manifest_digest(digests))


_scratch = threading.local()


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """An empty directory to write an output into: the calling thread's own, emptied after
    each use, instead of a new temporary directory per output. Making and removing one per
    output cost ~0.1 ms a step on a quiet disk and several ms on a busy one (``rmdir`` waits
    for the journal commits that the blobs' fsyncs keep starting). A directory that cannot be
    emptied is given up for a new one: a materializer always starts from an empty directory."""
    path: Path | None = getattr(_scratch, "path", None)
    if path is None or not path.is_dir() or any(path.iterdir()):
        path = Path(tempfile.mkdtemp(prefix="clew-output-")).resolve()
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _scratch.path = path
    try:
        yield path
    finally:
        try:
            for entry in os.scandir(path):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        except OSError:
            _scratch.path = None
            shutil.rmtree(path, ignore_errors=True)


def store_outputs(client: Any, store: OutputStore, run_id: str, value: Any) -> Stored:
    """A step's return value, stored output by output."""
    return Stored(
        {
            name: store_output(client, store.materializers, run_id, name, output, step=store.key)
            for name, output in outputs_of(store.task, value).items()
        }
    )


def load_output(client: Any, materializers: Materializers, ref: StoredOutput) -> Any:
    """The value ``ref`` names, read back by its materializer."""
    materializer = materializers.named(ref.materializer)
    with tempfile.TemporaryDirectory(prefix="clew-input-") as tmp:
        where = client.download_artifacts(ref.run_id, f"outputs/{ref.name}", tmp)
        return materializer.load(Path(where))


def holds_reference(value: Any) -> bool:
    """A reference, or a fan-in's list of them."""
    return isinstance(value, StoredOutput) or (
        isinstance(value, list) and any(isinstance(v, StoredOutput) for v in value)
    )


def resolve(client: Any, materializers: Materializers, value: Any) -> Any:
    """``value`` with references loaded (a fan-in's list item by item); others as they are."""
    if isinstance(value, StoredOutput):
        return load_output(client, materializers, value)
    if holds_reference(value):
        return [resolve(client, materializers, v) for v in value]
    return value
