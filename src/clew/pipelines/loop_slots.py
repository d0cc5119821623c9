"""A loop's parallelism: at most ``parallelism`` of its iterations under way at once.

An iteration is under way from the start of its first step run to the end of its last one,
so a slot is held by an iteration, not by a step: the steps of one iteration never wait for
each other's slots. A step run refused a slot waits here, filed under the iteration it
belongs to, and is handed back to the engine to be tried again when that iteration starts
(its other steps are admitted) or when any iteration of the loop ends (a slot freed).

The engine's scheduler thread is the only one that calls this: no locks.
"""

from __future__ import annotations

from clew.pipelines import graph as g

Key = tuple[str, tuple[int, ...]]
#: A loop run at one index of the loops around it: ``(loop id, outer index)``.
Where = tuple[str, tuple[int, ...]]


class LoopSlots:
    def __init__(self) -> None:
        #: Per loop iteration (``(loop id, index up to and with the iteration)``), its step
        #: runs that are not terminal.
        self._open: dict[Where, int] = {}
        #: Per loop run, the iterations that have started and not finished.
        self._busy: dict[Where, set[int]] = {}
        #: Step runs refused a slot: per loop run, then iteration.
        self._waiting: dict[Where, dict[int, dict[Key, None]]] = {}

    def made(self, task: g.TaskSpec, index: tuple[int, ...]) -> None:
        """A step run of ``task`` at ``index`` exists, and is not terminal."""
        for depth, loop in enumerate(task.loops):
            here = (loop.id, index[: depth + 1])
            self._open[here] = self._open.get(here, 0) + 1

    def refuse(self, task: g.TaskSpec, index: tuple[int, ...]) -> bool:
        """Whether the step run at ``index`` has to wait for a slot; it is then filed to be
        handed back by ``started`` or ``ended``."""
        for depth, loop in enumerate(task.loops):
            if loop.parallelism <= 0:
                continue
            where = (loop.id, index[:depth])
            busy = self._busy.get(where, set())
            if index[depth] not in busy and len(busy) >= loop.parallelism:
                waiting = self._waiting.setdefault(where, {}).setdefault(index[depth], {})
                waiting[(task.name, index)] = None
                return True
        return False

    def started(self, task: g.TaskSpec, index: tuple[int, ...]) -> list[Key]:
        """The step run at ``index`` starts, and its iterations with it: the step runs that
        waited for those iterations to start, to try again."""
        woken: list[Key] = []
        for depth, loop in enumerate(task.loops):
            where = (loop.id, index[:depth])
            busy = self._busy.setdefault(where, set())
            if index[depth] not in busy:
                busy.add(index[depth])
                woken.extend(self._waiting.get(where, {}).pop(index[depth], {}))
        return woken

    def ended(self, task: g.TaskSpec, index: tuple[int, ...]) -> list[Key]:
        """The step run at ``index`` is terminal: if that ends an iteration, its slot is
        free, and every step run waiting for a slot of that loop is to try again."""
        woken: list[Key] = []
        for depth, loop in enumerate(task.loops):
            here = (loop.id, index[: depth + 1])
            self._open[here] -= 1
            if self._open[here]:
                continue
            where = (loop.id, index[:depth])
            busy = self._busy.get(where)
            if busy is not None and index[depth] in busy:
                busy.discard(index[depth])
                waiting = self._waiting.pop(where, {})
                for keys in waiting.values():
                    woken.extend(keys)
        return woken
