"""Handing the step runs a scheduler pass starts to the executor, all at once as the pass ends.

Most go one job each: the hooks' ``call`` with the step's bookkeeping around the function. The
ones the hooks look up in a cache together (``Hooks.batches``: a fan-out's iterations that
start in the same pass) go as one job per group (``Hooks.look_up``), which reports each step
run to the scheduler's queue as a hit or an error, like a finished ``call``, or as a ``Miss``:
the scheduler then submits that run's ``call``, told what the lookup found, unless the
pipeline run was canceled meanwhile.
"""

from __future__ import annotations

import functools
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clew.pipelines.executors import Executor
from clew.pipelines.hooks import Hooks, Missed, Start

Key = tuple[str, tuple[int, ...]]
#: What the scheduler's queue carries: a step run, its attempt, and its error or value.
Done = queue.Queue[tuple[Key, int, BaseException | None, Any]]


@dataclass(frozen=True)
class Miss:
    """A batched lookup's answer for a step run the cache did not hold: ``call`` runs it."""

    call: Callable[[], None]


@dataclass(frozen=True)
class _Starting:
    key: Key
    attempt: int
    start: Start
    #: The job that runs it: the hooks' ``call``, told what a batched lookup found.
    call: Callable[[Missed | None], None]


class Submissions:
    def __init__(self, executor: Executor, hooks: Hooks, done: Done) -> None:
        self.executor = executor
        self.hooks = hooks
        self.done = done
        self._starting: list[_Starting] = []

    def add(
        self, key: Key, attempt: int, start: Start, call: Callable[[Missed | None], None]
    ) -> None:
        """An attempt made ready, to go with the others of its pass."""
        self._starting.append(_Starting(key, attempt, start, call))

    def submit(self) -> None:
        """Submit what the pass made ready: each group the hooks look up together as one job,
        the rest one job each."""
        starting, self._starting = self._starting, []
        if not starting:
            return
        groups = self.hooks.batches([s.start for s in starting]) if len(starting) > 1 else []
        grouped: set[int] = set()
        for group in groups:
            grouped.update(group)
            self.executor.submit(functools.partial(self._look_up, [starting[i] for i in group]))
        for i, single in enumerate(starting):
            if i not in grouped:
                self.executor.submit(functools.partial(single.call, None))

    def _look_up(self, group: list[_Starting]) -> None:
        """On a worker: a group's cache lookup, each step run reported to the scheduler."""
        try:
            found = self.hooks.look_up([s.start for s in group])
        except BaseException as exc:  # reported to the loop, never lost on the thread
            found = [exc] * len(group)
        for single, outcome in zip(group, found, strict=True):
            if isinstance(outcome, Missed):
                miss = Miss(functools.partial(single.call, outcome))
                self.done.put((single.key, single.attempt, None, miss))
            elif isinstance(outcome, BaseException):
                self.done.put((single.key, single.attempt, outcome, None))
            else:
                self.done.put((single.key, single.attempt, None, outcome))
