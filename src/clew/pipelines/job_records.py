"""What the job API returns: pipeline versions, jobs and schedules as plain records.

Kept free of the engine and the database so that the client imports them cheaply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


class JobState:
    QUEUED: Final = "QUEUED"
    RUNNING: Final = "RUNNING"
    SUCCEEDED: Final = "SUCCEEDED"
    FAILED: Final = "FAILED"
    CANCELED: Final = "CANCELED"

    ALL: Final = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)
    TERMINAL: Final = (SUCCEEDED, FAILED, CANCELED)


@dataclass(frozen=True)
class PipelineVersion:
    """A registered pipeline definition, named by its graph's digest."""

    pipeline: str
    digest: str
    created_at: int
    created_by: str
    spec: dict[str, Any] | None = None  # left out of listings

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if self.spec is None:
            del out["spec"]
        return out


@dataclass(frozen=True)
class Job:
    """A request to run a pipeline version; ``run_id`` is its pipeline run once it started."""

    id: str
    pipeline: str
    digest: str
    params: dict[str, Any]
    options: dict[str, Any]
    state: str
    message: str
    requested_by: str
    created_at: int
    started_at: int | None = None
    ended_at: int | None = None
    worker: str | None = None
    run_id: str | None = None
    resume_from: str | None = None
    schedule_id: str | None = None
    fire_at: int | None = None
    cancel_requested: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Schedule:
    """Jobs on a cron expression or an interval, made by whichever scheduler fires first."""

    id: str
    name: str
    pipeline: str
    digest: str | None
    params: dict[str, Any]
    options: dict[str, Any]
    cron: str | None
    interval_s: int | None
    catchup: bool
    max_concurrency: int
    enabled: bool
    next_fire_at: int
    last_fire_at: int | None
    created_by: str
    created_at: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
