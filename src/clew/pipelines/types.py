"""What a step returns and takes, from its annotations, and whether one may feed the other.

The check is deliberately shallow and never wrong in the strict direction: it refuses only what
cannot work (a ``str`` output into an ``int`` input, ``list`` into ``DataFrame``), and lets
through what it cannot judge (no annotation, ``Any``, a forward reference, type variables).
``int`` feeds ``float`` as Python's numeric tower does; ``list[int]`` feeds ``list[str]``
because element types are not checked.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import types
import typing
from typing import Any

import orjson

from clew.pipelines.graph import DEFAULT_OUTPUT


def output_types(annotation: Any) -> dict[str, Any]:
    """``{output name: type}``: a NamedTuple's or dataclass's fields, or one ``output``;
    nothing for ``-> None``; one untyped output when there is no annotation."""
    if annotation is None or annotation is type(None):
        return {}
    if annotation is inspect.Signature.empty:
        return {DEFAULT_OUTPUT: None}
    if (
        isinstance(annotation, type)
        and issubclass(annotation, tuple)
        and hasattr(annotation, "_fields")
    ):
        hints = typing.get_type_hints(annotation)
        return {f: hints.get(f) for f in annotation._fields}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        return {f.name: hints.get(f.name) for f in dataclasses.fields(annotation)}
    return {DEFAULT_OUTPUT: annotation}


def type_name(annotation: Any) -> str | None:
    """A readable, serializable name for an annotation (``int``, ``list[str]``)."""
    if annotation is None:
        return None
    if isinstance(annotation, type) and not typing.get_args(annotation):
        module = annotation.__module__
        return (
            annotation.__qualname__
            if module == "builtins"
            else f"{module}.{annotation.__qualname__}"
        )
    return str(annotation).replace("typing.", "")


def check_constant(value: Any) -> Any:
    """A literal argument must be JSON (it is stored in the definition); returns it."""
    try:
        orjson.dumps(value)
    except TypeError:
        raise ValueError(
            f"a literal argument must be JSON (str, number, bool, None, list, dict), "
            f"not {type(value).__name__}: pass it through a step instead"
        ) from None
    return value


def _origin(annotation: Any) -> Any:
    return typing.get_origin(annotation) or annotation


def _judgeable(annotation: Any) -> bool:
    if annotation is None or annotation is Any or isinstance(annotation, str | typing.TypeVar):
        return False
    return isinstance(_origin(annotation), type) or _is_union(annotation)


def _is_union(annotation: Any) -> bool:
    return _origin(annotation) in (typing.Union, types.UnionType)


def _accepts(wanted: Any, produced: Any) -> bool:
    if _is_union(wanted):
        return any(not _judgeable(w) or _accepts(w, produced) for w in typing.get_args(wanted))
    if _is_union(produced):
        return all(not _judgeable(p) or _accepts(wanted, p) for p in typing.get_args(produced))
    want, have = _origin(wanted), _origin(produced)
    if issubclass(have, want):
        return True
    # The numeric tower: an int is a fine float, a float a fine complex.
    return (
        issubclass(want, numbers.Number)
        and issubclass(have, numbers.Number)
        and ((want is float and have is int) or (want is complex and have in (int, float)))
    )


def check_flow(produced: Any, wanted: Any, value: Any, *, is_handle: bool) -> str | None:
    """Why ``value`` (a handle of type ``produced``, or a literal) cannot feed an input
    annotated ``wanted``; ``None`` when it can or when that cannot be told."""
    if not _judgeable(wanted):
        return None
    if is_handle:
        if _judgeable(produced) and not _accepts(wanted, produced):
            return f"takes {type_name(wanted)}, but is given {type_name(produced)}"
        return None
    if value is None:
        accepts_none = _is_union(wanted) and type(None) in typing.get_args(wanted)
        return None if accepts_none else f"takes {type_name(wanted)}, but is given None"
    if not _accepts(wanted, type(value)):
        return f"takes {type_name(wanted)}, but is given {type(value).__name__}"
    return None
