"""``@step`` and ``@pipeline``: ordinary Python functions, traced once into a ``PipelineSpec``.

A ``@pipeline`` function runs once, when it is decorated, with a handle for each parameter.
Each ``@step`` it calls adds a task and returns a handle for the step's outputs; passing a
handle to another step is the edge between them. So a wrong pipeline (an unknown or missing
input, an output of one type fed to an input of another, a cycle) fails at import, naming the
step, instead of an hour into a run. Called anywhere else, a step is its plain function: unit
tests call it directly.

Control flow reads as Python blocks::

    with If(score > threshold): register(model)
    with Elif(score > 0.5):     review(model)
    with Else():                notify(score)

    with ParallelFor(learning_rates, parallelism=2) as lr:
        trained = train(data, lr)
    best = pick(collect(trained))

    with Finally():
        report(pipeline_status())

A handle is not a value, so ``if score > 0.9:`` inside a pipeline raises at definition with a
pointer to ``If``; comparisons build conditions, combined with ``&``, ``|`` and ``~``.

This module holds ``@step`` and ``@pipeline``; the handles are in ``handles``, the blocks in
``control``, and the pipeline being defined in ``trace``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar

from clew.pipelines import graph as g
from clew.pipelines.control import Elif, Else, Finally, If, ParallelFor
from clew.pipelines.handles import (
    Comparable,
    Condition,
    Param,
    Special,
    Task,
    as_source,
    collect,
    pipeline_status,
    type_of,
)
from clew.pipelines.options import step_options
from clew.pipelines.trace import Trace, current
from clew.pipelines.types import check_constant, check_flow, output_types, type_name

__all__ = [
    "Condition",
    "Elif",
    "Else",
    "Finally",
    "If",
    "ParallelFor",
    "Pipeline",
    "Step",
    "collect",
    "pipeline",
    "pipeline_status",
    "step",
]

P = ParamSpec("P")
R = TypeVar("R")


def _bind(
    trace: Trace,
    name: str,
    signature: inspect.Signature,
    hints: Mapping[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> dict[str, g.Source]:
    """A call's arguments as sources, each checked against its parameter's annotation."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise trace.error(str(exc), name) from None
    inputs: dict[str, g.Source] = {}
    for key, value in bound.arguments.items():
        try:
            inputs[key] = as_source(value)
        except (TypeError, ValueError) as exc:
            raise trace.error(f"input {key!r}: {exc}", name) from None
        handle = isinstance(value, Comparable | Special)
        problem = check_flow(type_of(value), hints.get(key), value, is_handle=handle)
        if problem:
            raise trace.error(f"input {key!r} {problem}", name)
    return inputs


class Step(Generic[P, R]):
    """A function made a step by ``@step``. In a ``@pipeline`` a call adds a task and returns
    its ``Task`` handle; anywhere else it calls the function."""

    def __init__(self, fn: Callable[P, R], name: str, options: g.StepOptions) -> None:
        self.fn, self.name, self.options_ = fn, name, options
        self.signature = inspect.signature(fn)
        self.hints = typing.get_type_hints(fn)
        self.outputs = output_types(self.hints.get("return", inspect.Signature.empty))
        for param in self.signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"step {name!r}: *args and **kwargs cannot be wired as inputs")
        functools.update_wrapper(self, fn)

    @property
    def ref(self) -> str:
        """Where the engine imports the function from."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def options(self, *, name: str | None = None, **given: Any) -> Step[P, R]:
        """A copy with other options (``train.options(retries=3, name="train-big")(...)``)."""
        return Step(self.fn, name or self.name, step_options(self.options_, **given))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        trace = current.get(None)
        if trace is None:
            return self.fn(*args, **kwargs)
        return typing.cast(R, self._add_to(trace, args, kwargs))

    def _add_to(self, trace: Trace, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task:
        name = trace.unique(self.name)
        inputs = _bind(trace, name, self.signature, self.hints, args, kwargs)
        trace.steps[self.ref] = self
        trace.add(
            g.TaskSpec(
                name=name,
                inputs=inputs,
                outputs=tuple(self.outputs),
                step=self.ref,
                options=self.options_,
                when=trace.when(),
                loops=tuple(trace.loops),
                is_finally=trace.in_finally,
            )
        )
        return Task(name, self.outputs)


def step(fn: Callable[P, R] | None = None, *, name: str | None = None, **options: Any) -> Any:
    """Make a function a pipeline step: ``@step`` or ``@step(retries=2, timeout_s=600, cpu=2,
    memory="4Gi", gpu=1, cache=False, cache_expiry_s=86400)``."""

    def make(f: Callable[P, R]) -> Step[P, R]:
        return Step(f, name or f.__name__, step_options(g.StepOptions(), **options))

    return make(fn) if fn is not None else make


class Pipeline:
    """A traced pipeline: ``spec`` is the frozen, validated graph."""

    def __init__(self, fn: Callable[..., Any], name: str, description: str | None) -> None:
        self.fn, self.name = fn, name
        self.hints = typing.get_type_hints(fn)
        self.steps: dict[str, Step[..., Any]] = {}
        self.spec = self._trace(description)
        functools.update_wrapper(self, fn)

    def _trace(self, description: str | None) -> g.PipelineSpec:
        params, handles = [], {}
        for param in inspect.signature(self.fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"pipeline {self.name!r}: parameters must be named")
            has_default = param.default is not inspect.Parameter.empty
            default = check_constant(param.default) if has_default else None
            hint = self.hints.get(param.name)
            params.append(g.ParamSpec(param.name, type_name(hint), default, has_default))
            handles[param.name] = Param(param.name, hint)
        trace = Trace(self.name)
        token = current.set(trace)
        try:
            returned = self.fn(**handles)
        finally:
            current.reset(token)
        self.steps = trace.steps
        spec = g.PipelineSpec(
            self.name, tuple(params), tuple(trace.tasks), self._outputs(returned, trace),
            description or inspect.getdoc(self.fn),
        )  # fmt: skip
        return spec.validate()

    @staticmethod
    def _outputs(returned: Any, trace: Trace) -> dict[str, g.Source]:
        if returned is None:
            return {}
        if isinstance(returned, Task) and g.DEFAULT_OUTPUT not in returned._outputs:
            items: list[tuple[str, Any]] = list(returned.named_outputs())
        elif isinstance(returned, Mapping):
            items = list(returned.items())
        elif isinstance(returned, tuple) and hasattr(returned, "_fields"):
            items = list(zip(returned._fields, returned, strict=True))
        elif isinstance(returned, Comparable):
            items = [(g.DEFAULT_OUTPUT, returned)]
        else:
            raise trace.error("a pipeline returns step outputs: one, a dict or a NamedTuple")
        try:
            return {str(k): as_source(v) for k, v in items}
        except (TypeError, ValueError) as exc:
            raise trace.error(f"its result: {exc}") from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = current.get(None)
        if trace is None:
            raise TypeError(
                f"pipeline {self.name!r} is a definition: run it with the pipeline engine"
            )
        return self._add_to(trace, args, kwargs)

    def _add_to(self, trace: Trace, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task:
        name = trace.unique(self.name)
        inputs = _bind(trace, name, inspect.signature(self.fn), self.hints, args, kwargs)
        trace.steps.update(self.steps)
        outputs = {key: None for key in self.spec.outputs}
        trace.add(
            g.TaskSpec(
                name=name,
                inputs=inputs,
                outputs=tuple(outputs),
                pipeline=self.spec,
                when=trace.when(),
                loops=tuple(trace.loops),
                is_finally=trace.in_finally,
            )
        )
        return Task(name, outputs)


def pipeline(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """Trace a function into a pipeline: ``@pipeline`` or ``@pipeline(name="training")``."""

    def make(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name or f.__name__, description)

    return make(fn) if fn is not None else make
