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
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, ParamSpec, TypeVar

from clew.pipelines import graph as g
from clew.pipelines.options import step_options
from clew.pipelines.types import check_constant, check_flow, output_types, type_name

P = ParamSpec("P")
R = TypeVar("R")


# ---- handles: what a pipeline function holds instead of values -------------------------------


class _Comparable:
    """Comparisons build ``graph.Compare``; truth-testing is refused with a pointer to If."""

    def _source(self) -> g.Source:
        raise NotImplementedError

    def _compare(self, op: g.Op, other: Any) -> Condition:
        return Condition(g.Compare(op, self._source(), _as_source(other)))

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


class Output(_Comparable):
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
        _trace().add_after(self.task, [t.task for t in tasks])
        return self


class Param(_Comparable):
    def __init__(self, name: str, type_: Any) -> None:
        self.name, self.type = name, type_

    def _source(self) -> g.Source:
        return g.PipelineParam(self.name)


class _LoopItem(_Comparable):
    def __init__(self, loop: str, type_: Any) -> None:
        self.loop, self.type = loop, type_

    def _source(self) -> g.Source:
        return g.LoopItem(self.loop)


@dataclasses.dataclass(frozen=True)
class _Special:
    source: g.Source
    type: Any = None


def collect(output: Output) -> Any:
    """Every iteration's ``output`` of a step inside a ``ParallelFor``, as one list."""
    if not isinstance(output, Output):
        raise TypeError("collect() takes a step's output from inside a ParallelFor")
    source = output._source()
    assert isinstance(source, g.TaskOutput)
    return _Special(g.Collected(source.task, source.output), list)


def pipeline_status() -> Any:
    """The pipeline's state so far, ``SUCCEEDED``, ``FAILED`` or ``CANCELED``: for a
    ``Finally`` step."""
    return _Special(g.PipelineStatus(), str)


class Condition:
    """A condition on outputs and parameters, for ``If`` and ``Elif``."""

    def __init__(self, spec: g.Condition) -> None:
        self.spec = spec

    def __and__(self, other: Condition) -> Condition:
        return Condition(g.AllOf((self.spec, _condition(other).spec)))

    def __or__(self, other: Condition) -> Condition:
        return Condition(g.AnyOf((self.spec, _condition(other).spec)))

    def __invert__(self) -> Condition:
        return Condition(g.Not(self.spec))

    def __bool__(self) -> bool:
        raise TypeError("a condition is decided when the pipeline runs: use `with If(...)`")


def _condition(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    if isinstance(value, _Comparable):  # a boolean output or parameter on its own
        return value == True  # noqa: E712
    raise TypeError("a condition compares step outputs or parameters (score > 0.9)")


def _as_source(value: Any) -> g.Source:
    if isinstance(value, _Comparable):
        return value._source()
    if isinstance(value, _Special):
        return value.source
    if isinstance(value, Condition):
        raise TypeError("a condition is not a value: use it in `with If(...)`")
    return g.Constant(check_constant(value))


def _type_of(value: Any) -> Any:
    return getattr(value, "type", None) if isinstance(value, _Comparable | _Special) else None


# ---- tracing ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Trace:
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
    steps: dict[str, Step[..., Any]] = dataclasses.field(default_factory=dict)

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


_current: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar("clew_pipeline_trace")


def _trace() -> _Trace:
    trace = _current.get(None)
    if trace is None:
        raise TypeError("If, Elif, Else, ParallelFor and Finally are for use inside a @pipeline")
    return trace


@contextmanager
def _branch(condition: g.Condition, chain: list[g.Condition] | None) -> Iterator[None]:
    trace = _trace()
    depth = len(trace.conditions)
    trace.conditions.append(condition)
    try:
        yield
    finally:
        trace.conditions.pop()
        if chain is not None:
            trace.chains[depth] = chain


def If(condition: Condition) -> AbstractContextManager[None]:
    """The block's steps run only when ``condition`` holds."""
    spec = _condition(condition).spec
    return _branch(spec, [spec])


def Elif(condition: Condition) -> AbstractContextManager[None]:
    """Right after an ``If`` or ``Elif`` block: runs when none before it ran and this holds."""
    trace = _trace()
    chain = trace.chains.pop(len(trace.conditions), None)
    if chain is None:
        raise trace.error("Elif must follow an If or Elif block directly")
    spec = _condition(condition).spec
    return _branch(g.AllOf((*(g.Not(c) for c in chain), spec)), [*chain, spec])


def Else() -> AbstractContextManager[None]:
    """Right after an ``If`` or ``Elif`` block: runs when none of them ran."""
    trace = _trace()
    chain = trace.chains.pop(len(trace.conditions), None)
    if chain is None:
        raise trace.error("Else must follow an If or Elif block directly")
    negated = [g.Not(c) for c in chain]
    return _branch(negated[0] if len(negated) == 1 else g.AllOf(tuple(negated)), None)


@contextmanager
def ParallelFor(items: Any, parallelism: int = 0) -> Iterator[Any]:
    """Run the block once per item (a list, a list parameter or a list output), at most
    ``parallelism`` iterations at a time (0: no limit); yields the current item's handle."""
    trace = _trace()
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 0:
        raise trace.error("parallelism must be a non-negative integer")
    source = _as_source(items)
    if isinstance(source, g.Constant) and not isinstance(source.value, list):
        raise trace.error("ParallelFor takes a list")
    trace.counter += 1
    loop = g.Loop(f"loop-{trace.counter}", source, parallelism)
    item_type = typing.get_args(_type_of(items))[:1] or (None,)
    trace.loops.append(loop)
    try:
        yield _LoopItem(loop.id, item_type[0])
    finally:
        trace.loops.pop()


@contextmanager
def Finally() -> Iterator[None]:
    """The block's steps run after every other step, whatever happened to them."""
    trace = _trace()
    if trace.conditions or trace.loops or trace.in_finally:
        raise trace.error("Finally belongs at the top level of a pipeline")
    trace.in_finally = True
    try:
        yield
    finally:
        trace.in_finally = False


# ---- steps and pipelines ---------------------------------------------------------------------


def _bind(
    trace: _Trace,
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
            inputs[key] = _as_source(value)
        except (TypeError, ValueError) as exc:
            raise trace.error(f"input {key!r}: {exc}", name) from None
        handle = isinstance(value, _Comparable | _Special)
        problem = check_flow(_type_of(value), hints.get(key), value, is_handle=handle)
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
        trace = _current.get(None)
        if trace is None:
            return self.fn(*args, **kwargs)
        return typing.cast(R, self._add_to(trace, args, kwargs))

    def _add_to(self, trace: _Trace, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task:
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
        trace = _Trace(self.name)
        token = _current.set(trace)
        try:
            returned = self.fn(**handles)
        finally:
            _current.reset(token)
        self.steps = trace.steps
        spec = g.PipelineSpec(
            self.name, tuple(params), tuple(trace.tasks), self._outputs(returned, trace),
            description or inspect.getdoc(self.fn),
        )  # fmt: skip
        return spec.validate()

    @staticmethod
    def _outputs(returned: Any, trace: _Trace) -> dict[str, g.Source]:
        if returned is None:
            return {}
        if isinstance(returned, Task) and g.DEFAULT_OUTPUT not in returned._outputs:
            items: list[tuple[str, Any]] = list(returned.named_outputs())
        elif isinstance(returned, Mapping):
            items = list(returned.items())
        elif isinstance(returned, tuple) and hasattr(returned, "_fields"):
            items = list(zip(returned._fields, returned, strict=True))
        elif isinstance(returned, _Comparable):
            items = [(g.DEFAULT_OUTPUT, returned)]
        else:
            raise trace.error("a pipeline returns step outputs: one, a dict or a NamedTuple")
        try:
            return {str(k): _as_source(v) for k, v in items}
        except (TypeError, ValueError) as exc:
            raise trace.error(f"its result: {exc}") from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = _current.get(None)
        if trace is None:
            raise TypeError(
                f"pipeline {self.name!r} is a definition: run it with the pipeline engine"
            )
        return self._add_to(trace, args, kwargs)

    def _add_to(self, trace: _Trace, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task:
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
