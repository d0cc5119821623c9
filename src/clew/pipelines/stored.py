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

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clew.pipelines import graph as g
from clew.pipelines.hooks import outputs_of
from clew.pipelines.materializers import Materializers
from clew.pipelines.records import StepOutput


def manifest_digest(files: Mapping[str, str]) -> str:
    """One digest for a directory: sha256 over its ``path\\0digest`` lines in path order."""
    lines = "".join(f"{path}\0{files[path]}\n" for path in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


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


def store_output(
    client: Any, materializers: Materializers, run_id: str, name: str, value: Any, *, step: str
) -> StoredOutput:
    """Write ``value`` with its materializer and store it as run ``run_id``'s output ``name``."""
    materializer = materializers.for_value(value, step=step)
    with tempfile.TemporaryDirectory(prefix="clew-output-") as tmp:
        materializer.save(value, Path(tmp))
        files = client.log_artifacts(run_id, tmp, f"outputs/{name}")
    digest = manifest_digest({f.path: f.digest for f in files if f.digest})
    return StoredOutput(run_id, name, materializer.name, digest)


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
