"""The pipeline being defined: what a ``@pipeline`` function's calls and blocks add to.

``Pipeline`` (``dsl``) sets ``current`` while its function runs; steps add tasks, the control
blocks (``control``) push conditions and loops, and handles (``handles``) read it back.
"""

from __future__ import annotations

import contextvars
import dataclasses
from typing import Any

from clew.pipelines import graph as g


@dataclasses.dataclass
class Trace:
    name: str
    tasks: list[g.TaskSpec] = dataclasses.field(default_factory=list)
    conditions: list[g.Condition] = dataclasses.field(default_factory=list)
    loops: list[g.Loop] = dataclasses.field(default_factory=list)
    in_finally: bool = False
    #: The conditions of the If/Elif chain just closed at each depth, for Elif and Else.
    chains: dict[int, list[g.Condition]] = dataclasses.field(default_factory=dict)
    counter: int = 0
    #: Every step the pipeline calls (nested pipelines' too), by ``Step.ref``: the engine runs
    #: these functions, so steps defined where no import can reach them (a test) still run.
    steps: dict[str, Any] = dataclasses.field(default_factory=dict)

    def error(self, message: str, step: str | None = None) -> g.PipelineDefinitionError:
        where = f"pipeline {self.name!r}" + (f", step {step!r}" if step else "")
        return g.PipelineDefinitionError(f"{where}: {message}", pipeline=self.name, step=step)

    def unique(self, base: str) -> str:
        taken = {t.name for t in self.tasks}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        return name

    def add(self, task: g.TaskSpec) -> None:
        self.chains.pop(len(self.conditions), None)
        self.tasks.append(task)

    def add_after(self, name: str, upstream: list[str]) -> None:
        for i, task in enumerate(self.tasks):
            if task.name == name:
                after = tuple(dict.fromkeys((*task.after, *upstream)))
                self.tasks[i] = dataclasses.replace(task, after=after)

    def when(self) -> g.Condition | None:
        if not self.conditions:
            return None
        return self.conditions[0] if len(self.conditions) == 1 else g.AllOf(tuple(self.conditions))


current: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("clew_pipeline_trace")


def active() -> Trace:
    """The pipeline being defined; outside a ``@pipeline`` the control-flow blocks refuse."""
    trace = current.get(None)
    if trace is None:
        raise TypeError("If, Elif, Else, ParallelFor and Finally are for use inside a @pipeline")
    return trace
