"""What happens around each step besides running it, and the shape of a step's return value.

``Hooks`` is the engine's one extension point (``pipelines.tracking.TrackingHooks`` makes
each step a tracked run through it); ``Cached`` is what a hook returns for a cache hit.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

from clew.pipelines import graph as g
from clew.pipelines.executors import Invoker
from clew.pipelines.state import PipelineRunResult, StepRun, resolved


class Hooks:
    """What happens around each step besides running it; the default is nothing.

    ``started`` runs once before the first step, ``before`` on the scheduler thread before each attempt, ``call`` on the worker (it
    must call ``invoker(kwargs, context)``, which runs the step's function where the executor
    runs steps, and return its result; ``kwargs`` may hold ``Deferred`` outputs of cache hits,
    which it loads with ``state.resolved`` if the step runs), ``changed`` on the scheduler
    thread whenever a step run changes state, ``finished`` once at the end. ``resolve``
    turns an output the executor left in a store (a ``stored.StoredOutput``) into its value,
    where the engine itself needs it: a condition, a loop's items, the pipeline's outputs.
    ``pipelines.tracking.TrackingHooks`` makes each step a tracked run this way.
    """

    def started(self) -> None:
        return None

    def before(self, task: g.TaskSpec, run: StepRun, kwargs: dict[str, Any]) -> None:
        return None

    def call(self, task: g.TaskSpec, run: StepRun, invoker: Invoker, kwargs: dict[str, Any]) -> Any:
        return invoker({name: resolved(value) for name, value in kwargs.items()})

    def changed(self, run: StepRun) -> None:
        return None

    def finished(self, result: PipelineRunResult) -> None:
        return None

    def resolve(self, value: Any) -> Any:
        return value


@dataclasses.dataclass(frozen=True)
class Cached:
    """What ``Hooks.call`` returns for a cache hit: the outputs of an earlier step run
    (``source`` says which), so this step run is CACHED, not SUCCEEDED. They may be
    ``Deferred``: loaded only when something reads them."""

    value: Any
    source: str


def outputs_of(task: g.TaskSpec, value: Any) -> dict[str, Any]:
    """A step's return value as ``{output name: value}``."""
    if not task.outputs:
        return {}
    if task.outputs == (g.DEFAULT_OUTPUT,):
        return {g.DEFAULT_OUTPUT: value}
    missing = [name for name in task.outputs if not hasattr(value, name)]
    if missing:
        raise TypeError(f"step {task.name!r} returned {type(value).__name__} without {missing}")
    return {name: getattr(value, name) for name in task.outputs}


def as_return(task: g.TaskSpec, values: dict[str, Any]) -> Any:
    """Loaded outputs in the shape the step returns (``outputs_of`` reads it back)."""
    if task.outputs == (g.DEFAULT_OUTPUT,):
        return values[g.DEFAULT_OUTPUT]
    return SimpleNamespace(**values) if values else None
