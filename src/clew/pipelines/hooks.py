"""What happens around each step besides running it, and the shape of a step's return value.

``Hooks`` is the engine's one extension point (``pipelines.tracking.TrackingHooks`` makes
each step a tracked run through it); ``Cached`` is what a hook returns for a cache hit, and
``Missed`` what a batched lookup (``Hooks.look_up``) says of a step run it did not find.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from clew.pipelines import graph as g
from clew.pipelines.attempts import Attempt
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

    A hook that finds steps in a cache can look several up at once: the engine offers the
    step runs a pass starts to ``batches``, runs each group it returns through ``look_up`` on
    one worker, and calls ``call`` (with ``looked_up``) only for the misses. A fan-out's
    hits then cost one read and one write between them, not one each, and do not crowd
    the interpreter's lock as many threads each making its own small calls do.
    """

    def started(self) -> None:
        return None

    def before(self, task: g.TaskSpec, run: StepRun, kwargs: dict[str, Any]) -> None:
        return None

    def call(
        self,
        task: g.TaskSpec,
        run: StepRun,
        invoker: Invoker,
        kwargs: dict[str, Any],
        looked_up: Missed | None = None,
    ) -> Any:
        return invoker({name: resolved(value) for name, value in kwargs.items()})

    def batches(self, starting: Sequence[Start]) -> list[list[int]]:
        """Which of the step runs being started to look up together, as groups of their
        indexes in ``starting``; the others go to ``call`` one by one. None by default."""
        return []

    def look_up(self, group: Sequence[Start]) -> list[Cached | Missed | BaseException]:
        """On a worker, for each step run of a group ``batches`` made: a cache hit, recorded
        and its attempt settled (``Cached``); a miss (``Missed``), which the engine then
        runs through ``call``; or the error that fails it."""
        raise NotImplementedError

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


@dataclasses.dataclass(frozen=True)
class Start:
    """A step run's attempt that the engine is starting, as ``Hooks.batches`` and
    ``Hooks.look_up`` see it: what ``call`` would get, and the attempt to settle."""

    task: g.TaskSpec
    run: StepRun
    invoker: Invoker
    kwargs: dict[str, Any]
    attempt: Attempt


@dataclasses.dataclass(frozen=True)
class Missed:
    """A step run ``Hooks.look_up`` did not find in the cache, under ``key`` (None: it has
    none): it runs, and ``Hooks.call`` is told the lookup was made."""

    key: str | None


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
