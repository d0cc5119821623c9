"""What a ``@pipeline`` function holds instead of values: handles to parameters, step outputs
and loop items. Comparing them builds conditions; passing them to a step is an edge; testing
one for truth is refused with a pointer to ``If``, since nothing has a value yet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from clew.pipelines import graph as g
from clew.pipelines.trace import active
from clew.pipelines.types import check_constant


class Comparable:
    """Comparisons build ``graph.Compare``; truth-testing is refused with a pointer to If."""

    def _source(self) -> g.Source:
        raise NotImplementedError

    def _compare(self, op: g.Op, other: Any) -> Condition:
        return Condition(g.Compare(op, self._source(), as_source(other)))

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare(g.Op.EQ, other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare(g.Op.NE, other)

    def __lt__(self, other: Any) -> Condition:
        return self._compare(g.Op.LT, other)

    def __le__(self, other: Any) -> Condition:
        return self._compare(g.Op.LE, other)

    def __gt__(self, other: Any) -> Condition:
        return self._compare(g.Op.GT, other)

    def __ge__(self, other: Any) -> Condition:
        return self._compare(g.Op.GE, other)

    def __bool__(self) -> bool:
        raise TypeError(
            "a step's output has no value while the pipeline is defined: branch with "
            "`with If(...)`, not `if`"
        )

    __hash__ = object.__hash__


class Output(Comparable):
    """One output of a task in the pipeline being defined."""

    def __init__(self, task: str, name: str, type_: Any) -> None:
        self.task, self.name, self.type = task, name, type_

    def _source(self) -> g.Source:
        return g.TaskOutput(self.task, self.name)

    def __repr__(self) -> str:
        return f"<output {self.task}.{self.name}>"


class Task(Output):
    """A step's call in a pipeline: its single output itself, or its named outputs as
    attributes (``split(df).train``) and items (``split(df)["train"]``)."""

    def __init__(self, name: str, outputs: Mapping[str, Any]) -> None:
        super().__init__(name, g.DEFAULT_OUTPUT, outputs.get(g.DEFAULT_OUTPUT))
        self._outputs = dict(outputs)

    def __getitem__(self, output: str) -> Output:
        if output not in self._outputs:
            raise KeyError(f"step {self.task!r} has no output {output!r}: {list(self._outputs)}")
        return Output(self.task, output, self._outputs[output])

    def __getattr__(self, output: str) -> Output:
        if output.startswith("_") or output not in self.__dict__.get("_outputs", {}):
            raise AttributeError(output)
        return self[output]

    def _source(self) -> g.Source:
        if g.DEFAULT_OUTPUT not in self._outputs:
            names = list(self._outputs) or "none"
            raise TypeError(f"step {self.task!r} has named outputs ({names}): pick one")
        return super()._source()

    def named_outputs(self) -> list[tuple[str, Output]]:
        return [(name, self[name]) for name in self._outputs]

    def after(self, *tasks: Task) -> Task:
        """Run this task only once ``tasks`` have finished, without reading their outputs."""
        active().add_after(self.task, [t.task for t in tasks])
        return self


class Param(Comparable):
    def __init__(self, name: str, type_: Any) -> None:
        self.name, self.type = name, type_

    def _source(self) -> g.Source:
        return g.PipelineParam(self.name)


class LoopItem(Comparable):
    def __init__(self, loop: str, type_: Any) -> None:
        self.loop, self.type = loop, type_

    def _source(self) -> g.Source:
        return g.LoopItem(self.loop)


@dataclasses.dataclass(frozen=True)
class Special:
    source: g.Source
    type: Any = None


def collect(output: Output) -> Any:
    """Every iteration's ``output`` of a step inside a ``ParallelFor``, as one list."""
    if not isinstance(output, Output):
        raise TypeError("collect() takes a step's output from inside a ParallelFor")
    source = output._source()
    assert isinstance(source, g.TaskOutput)
    return Special(g.Collected(source.task, source.output), list)


def pipeline_status() -> Any:
    """The pipeline's state so far, ``SUCCEEDED``, ``FAILED`` or ``CANCELED``: for a
    ``Finally`` step."""
    return Special(g.PipelineStatus(), str)


class Condition:
    """A condition on outputs and parameters, for ``If`` and ``Elif``."""

    def __init__(self, spec: g.Condition) -> None:
        self.spec = spec

    def __and__(self, other: Condition) -> Condition:
        return Condition(g.AllOf((self.spec, as_condition(other).spec)))

    def __or__(self, other: Condition) -> Condition:
        return Condition(g.AnyOf((self.spec, as_condition(other).spec)))

    def __invert__(self) -> Condition:
        return Condition(g.Not(self.spec))

    def __bool__(self) -> bool:
        raise TypeError("a condition is decided when the pipeline runs: use `with If(...)`")


def as_condition(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    if isinstance(value, Comparable):  # a boolean output or parameter on its own
        return value == True  # noqa: E712
    raise TypeError("a condition compares step outputs or parameters (score > 0.9)")


def as_source(value: Any) -> g.Source:
    if isinstance(value, Comparable):
        return value._source()
    if isinstance(value, Special):
        return value.source
    if isinstance(value, Condition):
        raise TypeError("a condition is not a value: use it in `with If(...)`")
    return g.Constant(check_constant(value))


def type_of(value: Any) -> Any:
    return getattr(value, "type", None) if isinstance(value, Comparable | Special) else None
