"""What a pipeline run and its step runs are, as the engine reports them."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Mapping
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


class Deferred:
    """A stored step output not loaded yet (a cache hit's): ``load()`` reads it back, once,
    when something needs its value. The engine passes it on to the steps that read it, so a
    chain of hits loads nothing; a step that runs loads what it reads (``resolved``)."""

    __slots__ = ("_load", "_loaded", "_lock", "_value")

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load: Callable[[], Any] | None = load
        self._lock = threading.Lock()
        self._loaded = False
        self._value: Any = None

    def load(self) -> Any:
        with self._lock:
            if not self._loaded:
                assert self._load is not None
                self._value, self._load, self._loaded = self._load(), None, True
            return self._value

    def __repr__(self) -> str:
        return f"<Deferred {'loaded' if self._loaded else 'not loaded'}>"


def resolved(value: Any) -> Any:
    """``value``, with a ``Deferred`` (or a list holding some, from ``collect()``) loaded."""
    if isinstance(value, Deferred):
        return value.load()
    if isinstance(value, list) and any(isinstance(v, Deferred) for v in value):
        return [resolved(v) for v in value]
    return value


class Outputs(Mapping[str, Any]):
    """A step run's outputs by name. Reading one loads it if it is ``Deferred``; ``stored``
    gives it as it is held, without loading."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> Any:
        return resolved(self._values[name])

    def stored(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Outputs({self._values!r})"


@dataclass
class StepRun:
    """One run of a task: one per loop iteration for a task inside ``ParallelFor``."""

    task: str
    index: tuple[int, ...] = ()
    state: StepState = StepState.PENDING
    attempts: int = 0
    #: Why it failed (the last attempt's error), was skipped or canceled.
    reason: str | None = None
    outputs: Outputs = field(default_factory=Outputs)
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
