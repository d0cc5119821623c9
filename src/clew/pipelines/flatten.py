"""Nested pipelines inlined: one flat graph for the engine.

A task that runs a pipeline becomes that pipeline's tasks, named ``outer.inner`` (loop ids
likewise), reading their parameters from the outer task's inputs (or the defaults), inheriting
its condition, loops and ``after``; whoever read the outer task's outputs reads the inner
sources those outputs name. The engine then schedules every step of every depth on one pool,
so a nested pipeline never holds a worker while it waits for its own steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from clew.pipelines import graph as g

Rename = Callable[[g.Source], g.Source]


def flatten(spec: g.PipelineSpec) -> g.PipelineSpec:
    if all(task.pipeline is None for task in spec.tasks):
        return spec
    tasks: list[g.TaskSpec] = []
    #: For each inlined task: its outputs as sources in the flat graph, and its tasks' names.
    outputs: dict[str, Mapping[str, g.Source]] = {}
    members: dict[str, tuple[str, ...]] = {}
    for task in spec.tasks:
        task = _rewire(task, outputs, members)
        if task.pipeline is None:
            tasks.append(task)
            continue
        inner, produced = _inline(spec, task)
        tasks.extend(inner)
        outputs[task.name] = produced
        members[task.name] = tuple(t.name for t in inner)
    flat_outputs = {k: _read(v, outputs) for k, v in spec.outputs.items()}
    return g.PipelineSpec(spec.name, spec.params, tuple(tasks), flat_outputs, spec.description)


def _read(source: g.Source, outputs: Mapping[str, Mapping[str, g.Source]]) -> g.Source:
    """``source`` with reads of an inlined task's outputs replaced by what those name."""
    if isinstance(source, g.TaskOutput) and source.task in outputs:
        return outputs[source.task][source.output]
    if isinstance(source, g.Collected) and source.task in outputs:
        inner = outputs[source.task][source.output]
        if not isinstance(inner, g.TaskOutput):
            raise g.PipelineDefinitionError(
                f"output {source.output!r} of nested pipeline {source.task!r} is not a step's "
                "output, so it cannot be collected",
                step=source.task,
            )
        return g.Collected(inner.task, inner.output)
    return source


def _rewire(
    task: g.TaskSpec,
    outputs: Mapping[str, Mapping[str, g.Source]],
    members: Mapping[str, tuple[str, ...]],
) -> g.TaskSpec:
    """A task of the outer graph, reading inlined tasks' outputs where they now live."""
    if not outputs:
        return task
    after: list[str] = []
    for name in task.after:
        after.extend(members.get(name, (name,)))
    return _map_sources(task, lambda s: _read(s, outputs), after=tuple(dict.fromkeys(after)))


def _inline(
    outer: g.PipelineSpec, task: g.TaskSpec
) -> tuple[list[g.TaskSpec], dict[str, g.Source]]:
    assert task.pipeline is not None
    nested = flatten(task.pipeline)
    prefix = task.name + "."
    params: dict[str, g.Source] = {}
    for param in nested.params:
        if param.name in task.inputs:
            params[param.name] = task.inputs[param.name]
        elif param.has_default:
            params[param.name] = g.Constant(param.default)
        else:  # the DSL binds every parameter; a hand-built graph may not
            raise g.PipelineDefinitionError(
                f"pipeline {outer.name!r}, step {task.name!r}: nested pipeline parameter "
                f"{param.name!r} has no value",
                pipeline=outer.name,
                step=task.name,
            )

    def rename(source: g.Source) -> g.Source:
        if isinstance(source, g.PipelineParam):
            return params[source.name]
        if isinstance(source, g.TaskOutput):
            return g.TaskOutput(prefix + source.task, source.output)
        if isinstance(source, g.Collected):
            return g.Collected(prefix + source.task, source.output)
        if isinstance(source, g.LoopItem):
            return g.LoopItem(prefix + source.loop)
        return source

    inner: list[g.TaskSpec] = []
    for sub in nested.tasks:
        if sub.is_finally and (task.loops or task.when is not None):
            raise g.PipelineDefinitionError(
                f"pipeline {outer.name!r}, step {task.name!r}: a nested pipeline with a "
                "Finally block cannot run inside a loop or a condition",
                pipeline=outer.name,
                step=task.name,
            )
        renamed = _map_sources(sub, rename, after=tuple(prefix + a for a in sub.after))
        when = task.when if renamed.when is None else renamed.when
        if task.when is not None and renamed.when is not None:
            when = g.AllOf((task.when, renamed.when))
        inner.append(
            dataclasses.replace(
                renamed,
                name=prefix + sub.name,
                when=when,
                loops=task.loops + renamed.loops,
                after=tuple(dict.fromkeys((*task.after, *renamed.after))),
            )
        )
    return inner, {k: rename(v) for k, v in nested.outputs.items()}


def _map_sources(task: g.TaskSpec, fn: Rename, *, after: tuple[str, ...]) -> g.TaskSpec:
    loops = tuple(
        dataclasses.replace(
            loop,
            id=_loop_id(fn, loop.id),
            items=fn(loop.items),
        )
        for loop in task.loops
    )
    return dataclasses.replace(
        task,
        inputs={k: fn(v) for k, v in task.inputs.items()},
        when=_map_condition(task.when, fn),
        loops=loops,
        after=after,
    )


def _loop_id(fn: Rename, loop: str) -> str:
    renamed = fn(g.LoopItem(loop))
    return renamed.loop if isinstance(renamed, g.LoopItem) else loop


def _map_condition(condition: g.Condition | None, fn: Rename) -> g.Condition | None:
    if condition is None:
        return None
    if isinstance(condition, g.Compare):
        return g.Compare(condition.op, fn(condition.left), fn(condition.right))
    if isinstance(condition, g.Not):
        term = _map_condition(condition.term, fn)
        assert term is not None
        return g.Not(term)
    terms = tuple(t for t in (_map_condition(c, fn) for c in condition.terms) if t is not None)
    return type(condition)(terms)
