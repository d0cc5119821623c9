"""Control flow inside a ``@pipeline``, as Python blocks: ``If`` / ``Elif`` / ``Else`` on
step outputs and parameters, ``ParallelFor`` over a list with a parallelism limit, and
``Finally`` for steps that run whatever happened. Each pushes onto the pipeline being defined
(``trace``) what the tasks added inside it are under.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from clew.pipelines import graph as g
from clew.pipelines.handles import Condition, LoopItem, as_condition, as_source, type_of
from clew.pipelines.trace import active


@contextmanager
def _branch(condition: g.Condition, chain: list[g.Condition] | None) -> Iterator[None]:
    trace = active()
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
    spec = as_condition(condition).spec
    return _branch(spec, [spec])


def Elif(condition: Condition) -> AbstractContextManager[None]:
    """Right after an ``If`` or ``Elif`` block: runs when none before it ran and this holds."""
    trace = active()
    chain = trace.chains.pop(len(trace.conditions), None)
    if chain is None:
        raise trace.error("Elif must follow an If or Elif block directly")
    spec = as_condition(condition).spec
    return _branch(g.AllOf((*(g.Not(c) for c in chain), spec)), [*chain, spec])


def Else() -> AbstractContextManager[None]:
    """Right after an ``If`` or ``Elif`` block: runs when none of them ran."""
    trace = active()
    chain = trace.chains.pop(len(trace.conditions), None)
    if chain is None:
        raise trace.error("Else must follow an If or Elif block directly")
    negated = [g.Not(c) for c in chain]
    return _branch(negated[0] if len(negated) == 1 else g.AllOf(tuple(negated)), None)


@contextmanager
def ParallelFor(items: Any, parallelism: int = 0) -> Iterator[Any]:
    """Run the block once per item (a list, a list parameter or a list output), at most
    ``parallelism`` iterations at a time (0: no limit); yields the current item's handle."""
    trace = active()
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 0:
        raise trace.error("parallelism must be a non-negative integer")
    source = as_source(items)
    if isinstance(source, g.Constant) and not isinstance(source.value, list):
        raise trace.error("ParallelFor takes a list")
    trace.counter += 1
    loop = g.Loop(f"loop-{trace.counter}", source, parallelism)
    item_type = typing.get_args(type_of(items))[:1] or (None,)
    trace.loops.append(loop)
    try:
        yield LoopItem(loop.id, item_type[0])
    finally:
        trace.loops.pop()


@contextmanager
def Finally() -> Iterator[None]:
    """The block's steps run after every other step, whatever happened to them."""
    trace = active()
    if trace.conditions or trace.loops or trace.in_finally:
        raise trace.error("Finally belongs at the top level of a pipeline")
    trace.in_finally = True
    try:
        yield
    finally:
        trace.in_finally = False
