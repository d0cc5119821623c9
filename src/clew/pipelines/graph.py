"""A pipeline as plain data: tasks, where each input comes from, when each task runs.

The DSL (``pipelines.dsl``) traces a ``@pipeline`` function into these frozen objects; the
engine walks them; later the Kubeflow IR compiler and importer translate them both ways. So
nothing here holds a Python callable: a task names its step by import path (``module:qualname``)
and every value is JSON, and ``to_dict`` / ``from_dict`` round-trip a whole pipeline.

``PipelineSpec.validate`` is the one place the structural rules live (unique task names, known
producers, no cycles, collected outputs only outside their loop, ``finally`` tasks reading only
what is sure to exist), so a graph built by hand or read from a file is held to the same rules
as one the DSL traced.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clew.core.errors import InvalidInput

#: The output name of a step that returns a single value.
DEFAULT_OUTPUT = "output"


class PipelineDefinitionError(InvalidInput):
    """A pipeline that cannot run as written: names the pipeline and the step at fault."""

    code = "INVALID_PIPELINE"


# ---- where an input comes from ---------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    value: Any


@dataclass(frozen=True)
class PipelineParam:
    name: str


@dataclass(frozen=True)
class TaskOutput:
    task: str
    output: str = DEFAULT_OUTPUT


@dataclass(frozen=True)
class LoopItem:
    """The current item of the enclosing loop ``loop``."""

    loop: str


@dataclass(frozen=True)
class Collected:
    """Every iteration's ``output`` of ``task`` (inside a loop), as a list in item order."""

    task: str
    output: str = DEFAULT_OUTPUT


@dataclass(frozen=True)
class PipelineStatus:
    """The pipeline's state so far (``SUCCEEDED``, ``FAILED``, ``CANCELED``), for ``finally``
    tasks."""


Source = Constant | PipelineParam | TaskOutput | LoopItem | Collected | PipelineStatus


def producers(source: Source) -> tuple[str, ...]:
    return (source.task,) if isinstance(source, TaskOutput | Collected) else ()


# ---- when a task runs ------------------------------------------------------------------------


class Op(enum.StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True)
class Compare:
    op: Op
    left: Source
    right: Source


@dataclass(frozen=True)
class AllOf:
    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    term: Condition


Condition = Compare | AllOf | AnyOf | Not


def condition_sources(condition: Condition | None) -> Iterable[Source]:
    if condition is None:
        return
    if isinstance(condition, Compare):
        yield condition.left
        yield condition.right
    elif isinstance(condition, Not):
        yield from condition_sources(condition.term)
    else:
        for term in condition.terms:
            yield from condition_sources(term)


# ---- tasks and pipelines ---------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """``retries`` more attempts after a failure, the n-th waiting
    ``min(backoff_s * backoff_factor ** (n - 1), max_backoff_s)``."""

    retries: int = 0
    backoff_s: float = 1.0
    backoff_factor: float = 2.0
    max_backoff_s: float = 3600.0


@dataclass(frozen=True)
class Resources:
    """Hints for the executor: cores, bytes of memory, GPUs (the Ray executor passes them on)."""

    cpu: float | None = None
    memory: int | None = None
    gpu: int | None = None


@dataclass(frozen=True)
class Caching:
    enabled: bool = True
    expiry_s: float | None = None


@dataclass(frozen=True)
class StepOptions:
    retry: Retry = Retry()
    timeout_s: float | None = None
    resources: Resources = Resources()
    caching: Caching = Caching()


@dataclass(frozen=True)
class Loop:
    """A fan-out: the tasks inside run once per item, at most ``parallelism`` at a time
    (0: no limit)."""

    id: str
    items: Source
    parallelism: int = 0


@dataclass(frozen=True)
class TaskSpec:
    """One node: a step (``step``, ``module:qualname``) or a nested pipeline (``pipeline``)."""

    name: str
    inputs: Mapping[str, Source]
    outputs: tuple[str, ...]
    step: str | None = None
    pipeline: PipelineSpec | None = None
    options: StepOptions = StepOptions()
    when: Condition | None = None
    loops: tuple[Loop, ...] = ()
    after: tuple[str, ...] = ()
    is_finally: bool = False

    def upstream(self) -> set[str]:
        """The tasks this one waits for (finally tasks also wait for every other task)."""
        names = set(self.after)
        for source in self.inputs.values():
            names.update(producers(source))
        for source in condition_sources(self.when):
            names.update(producers(source))
        for loop in self.loops:
            names.update(producers(loop.items))
        return names


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str | None = None
    default: Any = None
    has_default: bool = False


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    params: tuple[ParamSpec, ...]
    tasks: tuple[TaskSpec, ...]
    #: The pipeline's own outputs (a nested pipeline's, as a step's), by name.
    outputs: Mapping[str, Source] = field(default_factory=dict)
    description: str | None = None

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def order(self) -> list[str]:
        """Task names in an order where every task comes after its upstream (finally tasks
        last); ``PipelineDefinitionError`` naming a task on a cycle if there is none."""
        # Kahn's algorithm in rounds: each round, in name order, the tasks whose last
        # upstream came in the round before (a scan of every pending task per round cost
        # O(n²) set differences: seconds for a 1,000-step chain).
        unmet: dict[str, int] = {}
        readers: dict[str, list[str]] = {}
        for task in self.tasks:
            if not task.is_finally:
                ups = task.upstream()
                unmet[task.name] = len(ups)
                for up in ups:
                    readers.setdefault(up, []).append(task.name)
        ordered: list[str] = []
        ready = sorted(name for name, count in unmet.items() if not count)
        while ready:
            ordered.extend(ready)
            after: list[str] = []
            for name in ready:
                for reader in readers.get(name, ()):
                    unmet[reader] -= 1
                    if not unmet[reader]:
                        after.append(reader)
            ready = sorted(after)
        if len(ordered) < len(unmet):
            stuck = sorted(set(unmet) - set(ordered))[0]
            raise self._error(f"steps form a cycle through {stuck!r}", stuck)
        return ordered + [t.name for t in self.tasks if t.is_finally]

    def validate(self) -> PipelineSpec:
        names = [t.name for t in self.tasks]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise self._error(f"two steps are named {name!r}", name)
            seen.add(name)
        params = {p.name for p in self.params}
        by_name = {t.name: t for t in self.tasks}
        for task in self.tasks:
            if (task.step is None) == (task.pipeline is None):
                raise self._error("a task runs exactly one step or one pipeline", task.name)
            self._check_sources(task, by_name, params)
        for name, source in self.outputs.items():
            self._check_source(None, f"output {name!r}", source, by_name, params)
        self.order()
        return self

    def _check_sources(
        self, task: TaskSpec, by_name: dict[str, TaskSpec], params: set[str]
    ) -> None:
        loop_ids = {loop.id for loop in task.loops}
        sources = [(f"input {k!r}", s) for k, s in task.inputs.items()]
        sources += [("its condition", s) for s in condition_sources(task.when)]
        sources += [(f"loop {loop.id!r}", loop.items) for loop in task.loops]
        for what, source in sources:
            self._check_source(task, what, source, by_name, params)
            if isinstance(source, LoopItem) and source.loop not in loop_ids:
                raise self._error(f"{what} reads loop {source.loop!r} outside it", task.name)
            if task.is_finally and isinstance(source, TaskOutput | Collected | LoopItem):
                raise self._error(
                    f"{what} of a finally step may read only parameters, constants and the "
                    "pipeline status (an upstream step may not have produced it)",
                    task.name,
                )
            if isinstance(source, PipelineStatus) and not task.is_finally:
                raise self._error("only finally steps can read the pipeline status", task.name)
        for upstream in task.after:
            if upstream not in by_name:
                raise self._error(f"runs after unknown step {upstream!r}", task.name)

    def _check_source(
        self,
        task: TaskSpec | None,
        what: str,
        source: Source,
        by_name: dict[str, TaskSpec],
        params: set[str],
    ) -> None:
        at = task.name if task else None
        if isinstance(source, PipelineParam) and source.name not in params:
            raise self._error(f"{what} reads unknown parameter {source.name!r}", at)
        if not isinstance(source, TaskOutput | Collected):
            return
        producer = by_name.get(source.task)
        if producer is None:
            raise self._error(f"{what} reads unknown step {source.task!r}", at)
        if source.output not in producer.outputs:
            raise self._error(
                f"{what} reads {source.task!r}.{source.output}, which is not one of its "
                f"outputs {list(producer.outputs)}",
                at,
            )
        inner = [loop.id for loop in producer.loops]
        outer = [loop.id for loop in task.loops] if task else []
        if isinstance(source, TaskOutput) and inner != outer[: len(inner)]:
            raise self._error(
                f"{what} reads {source.task!r} from outside its loop: use collect()", at
            )
        # A collect gathers the producer's innermost loop, from within its other loops.
        if isinstance(source, Collected) and (
            not inner or inner[:-1] != outer[: len(inner) - 1] or inner == outer[: len(inner)]
        ):
            raise self._error(
                f"{what} collects {source.task!r}, which is not in a loop this step is "
                "just outside of",
                at,
            )

    def _error(self, message: str, task: str | None) -> PipelineDefinitionError:
        where = f"pipeline {self.name!r}" + (f", step {task!r}" if task else "")
        return PipelineDefinitionError(f"{where}: {message}", pipeline=self.name, step=task)


def bind_params(spec: PipelineSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of ``spec`` with its value: ``given``, else its default."""
    known = {p.name for p in spec.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise PipelineDefinitionError(
            f"pipeline {spec.name!r} has no parameters {unknown}; it takes {sorted(known)}",
            pipeline=spec.name,
        )
    params: dict[str, Any] = {}
    for p in spec.params:
        if p.name in given:
            params[p.name] = given[p.name]
        elif p.has_default:
            params[p.name] = p.default
        else:
            raise PipelineDefinitionError(
                f"pipeline {spec.name!r} needs a value for parameter {p.name!r}",
                pipeline=spec.name,
            )
    return params
