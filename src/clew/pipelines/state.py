"""What a pipeline run and its step runs are, as the engine reports them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class StopBranch(Exception):
    """Raised by a step to end its branch (a quality gate that is not met): the step is SKIPPED
    with ``reason``, the steps reading its outputs are skipped, and the pipeline does not fail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PipelineState(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class StepState(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"
    CACHED = "CACHED"

    @property
    def is_terminal(self) -> bool:
        return self not in (StepState.PENDING, StepState.RUNNING)

    @property
    def produced(self) -> bool:
        """Whether the step's outputs exist."""
        return self in (StepState.SUCCEEDED, StepState.CACHED)


@dataclass
class StepRun:
    """One run of a task: one per loop iteration for a task inside ``ParallelFor``."""

    task: str
    index: tuple[int, ...] = ()
    state: StepState = StepState.PENDING
    attempts: int = 0
    #: Why it failed (the last attempt's error), was skipped or canceled.
    reason: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def key(self) -> str:
        """``fit`` or, inside loops, ``fit[2]`` / ``fit[2,0]``."""
        if not self.index:
            return self.task
        return f"{self.task}[{','.join(map(str, self.index))}]"


@dataclass
class PipelineRunResult:
    pipeline: str
    params: dict[str, Any]
    state: PipelineState
    steps: dict[str, StepRun]
    outputs: dict[str, Any]
    reason: str | None = None

    def step(self, key: str) -> StepRun:
        return self.steps[key]

    @property
    def output(self) -> Any:
        """The single output of a pipeline that returns one value."""
        return self.outputs.get("output")
