"""The records pipeline lineage exchanges between the engine, the client and the service.

Plain dataclasses in a module of their own, so the client can name them without importing the
service (and SQLAlchemy with it): ``import clew`` stays light.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Inputs and outputs one ``record_step`` call takes; a fan-in over more is recorded in parts.
MAX_EDGES = 1000
#: The bytes of output files a step's end may carry itself (``record_step(files=...)``): the
#: files of small outputs commit with the end, where larger ones are uploaded first.
MAX_INLINE_BYTES = 256 * 1024
#: The output files a step's end may carry.
MAX_INLINE_FILES = 64
#: Cache lookups, or cached step runs, one batch call takes (``find_cached_steps``,
#: ``record_cached_pipeline_steps``); a batch's step runs have at most ``MAX_EDGES`` edges.
MAX_BATCH = 100


def manifest_digest(files: Mapping[str, str]) -> str:
    """One digest for a directory: sha256 over its ``path\\0digest`` lines in path order."""
    lines = "".join(f"{path}\0{files[path]}\n" for path in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass(frozen=True)
class StepOutput:
    name: str
    digest: str
    materializer: str


@dataclass(frozen=True)
class StepInput:
    """An input that came from another step run's output."""

    name: str
    producer_run_id: str
    output: str


@dataclass(frozen=True)
class CacheLookup:
    """One question of ``Client.find_cached_steps``: the newest finished step run under
    ``cache_key`` that started at ``started_since`` (UTC ms) or later and is not in
    ``exclude``; with ``run_id``, that step run if it is under the key, whatever its status."""

    cache_key: str
    started_since: int | None = None
    run_id: str | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class CachedStepRecord:
    """One step run that was a cache hit, for ``Client.record_cached_pipeline_steps``: a
    FINISHED run named ``run_name`` with its params and tags, the outputs it adopted and the
    step outputs it read."""

    run_name: str
    outputs: tuple[StepOutput, ...] = ()
    inputs: tuple[StepInput, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def edges(self) -> int:
        return len(self.outputs) + len(self.inputs)


#: A running pipeline run whose engine has not beaten for this many of its intervals is lost.
STALE_BEATS = 3
#: The interval assumed for a run whose engine was stopped before its first beat (the
#: default of ``CLEW_PIPELINE_HEARTBEAT_S``).
DEFAULT_HEARTBEAT_S = 5.0


def engine_lost(state: str, heartbeat_at: int | None, heartbeat_s: float | None, now: int) -> bool:
    """Whether a pipeline run in ``state`` whose engine last beat at ``heartbeat_at`` (every
    ``heartbeat_s`` seconds) has lost its engine by ``now`` (UTC ms)."""
    if state != "RUNNING" or heartbeat_at is None:
        return False  # ended, or recorded before engines beat: nothing to judge by
    return now - heartbeat_at > STALE_BEATS * (heartbeat_s or DEFAULT_HEARTBEAT_S) * 1000


@dataclass(frozen=True)
class PipelineRunInfo:
    pipeline: str
    run_id: str
    state: str
    digest: str
    #: When its engine last said it was alive (UTC ms), and how often it says so.
    heartbeat_at: int | None = None
    heartbeat_s: float | None = None
    #: RUNNING, but its engine has been silent for ``STALE_BEATS`` intervals: it stopped
    #: (killed, its machine gone) and will never end the run. Judged by the store's clock.
    engine_lost: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CachedStep:
    """A step run found by its cache key (``Client.find_cached_step``), with what a cache hit
    or a resume checks before adopting its outputs: no files are opened, none loaded."""

    run_id: str
    start_time: int
    tags: dict[str, str]
    params: dict[str, str]
    #: The run whose artifacts hold the outputs' files: the step run's own, or the run it was
    #: a cache hit of (its ``clew.pipeline.cached_from`` tag).
    files_run_id: str
    #: Per output (the step run's ``clew.output.<name>`` tags): ``{path: digest}`` of each file
    #: below ``outputs/<name>/`` of ``files_run_id``.
    files: dict[str, dict[str, str]]
    #: The outputs with a file whose blob is no longer in the blob store.
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "missing": list(self.missing)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CachedStep:
        return cls(
            data["run_id"],
            int(data["start_time"]),
            dict(data["tags"]),
            dict(data["params"]),
            data["files_run_id"],
            {name: dict(files) for name, files in data["files"].items()},
            tuple(data.get("missing", ())),
        )
