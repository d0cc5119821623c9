"""A task's condition decided on the values its sources have when the task is ready."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Final

from clew.pipelines import graph as g

_OPS: Final[dict[g.Op, Callable[[Any, Any], Any]]] = {
    g.Op.EQ: operator.eq,
    g.Op.NE: operator.ne,
    g.Op.LT: operator.lt,
    g.Op.LE: operator.le,
    g.Op.GT: operator.gt,
    g.Op.GE: operator.ge,
}


class ConditionError(Exception):
    """Two values a condition cannot compare (``"a" > 1``): the task fails with this."""


def evaluate(condition: g.Condition, value: Callable[[g.Source], Any]) -> bool:
    """Whether ``condition`` holds, reading each source through ``value`` (which raises when
    an input is not there: the caller decides what that means)."""
    if isinstance(condition, g.Compare):
        left, right = value(condition.left), value(condition.right)
        try:
            return bool(_OPS[condition.op](left, right))
        except TypeError:
            raise ConditionError(
                f"cannot compare {type(left).__name__} {condition.op.value} {type(right).__name__}"
            ) from None
    if isinstance(condition, g.Not):
        return not evaluate(condition.term, value)
    if isinstance(condition, g.AllOf):
        return all(evaluate(term, value) for term in condition.terms)
    return any(evaluate(term, value) for term in condition.terms)
