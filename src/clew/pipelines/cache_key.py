"""The cache key of a step run: what would have to change for its outputs to change.

It covers the step's code (its source, and what it closes over or reads from its module:
constants by value, functions by their source), each input (the content digest of an upstream
output, the JSON of a literal or parameter), and the environment (the Python version and every
installed distribution's version). Two runs with the same key may share outputs; KFP's key,
by contrast, names input artifacts by id, so identical bytes from a rerun upstream still miss.

A value that has neither a digest nor a JSON form (an object passed as a pipeline parameter)
makes the step uncacheable: ``None``, never a key that could match the wrong thing.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import marshal
import sys
import threading
import types
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import orjson


@functools.cache
def environment_fingerprint() -> str:
    """Python's version and the installed distributions' versions, once per process."""
    dists = []
    for dist in metadata.distributions():
        name, version = _name_and_version(dist)
        if name:
            dists.append(f"{name}=={version}".lower())
    return hashlib.sha256("\n".join([sys.version, *sorted(dists)]).encode()).hexdigest()


def _name_and_version(dist: metadata.Distribution) -> tuple[str | None, str | None]:
    """``dist.metadata["Name"]`` and ``dist.version``, read from the metadata's header lines.

    ``Distribution.metadata`` runs the whole file through the ``email`` parser, and each of
    ``["Name"]`` and ``.version`` parses it again: ~280 ms for 150 distributions, paid by the
    first step of every pipeline process (a 200-step chain's first run, ~1.4 ms a step). The
    two headers come first, before the first blank line, and are never folded (core metadata
    spec); reading them off the lines gives the same values in a tenth of the time.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("") or ""
    name = version = None
    for line in text.splitlines():
        if not line:
            break  # the end of the headers
        field = line[:8].lower()
        if name is None and field.startswith("name:"):
            name = line[5:].strip()
        elif version is None and field == "version:":
            version = line[8:].strip()
    return name, version


def _json(value: Any) -> str | None:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return None


#: ``inspect.getsource`` of a class parses its module, and on Python 3.11 ``ast.parse`` on two
#: threads at once can raise ``SystemError: AST constructor recursion depth mismatch``
#: (CPython gh-106905): two iterations of a loop fingerprinting together then got different
#: keys, and a rerun missed the cache. Source reads here take turns; a clash with a parse
#: elsewhere is retried.
_READING = threading.Lock()
_ATTEMPTS = 3


def _read_source(fn: Any) -> str | None:
    for _ in range(_ATTEMPTS):
        try:
            with _READING:
                return inspect.getsource(fn)
        except SystemError:
            continue
        except Exception:  # exec'd, built at run time, or in C: no source file to read
            return None
    return None


def _source(fn: Any) -> str:
    text = _read_source(fn)
    if text is None:
        code = getattr(fn, "__code__", None)
        if code is not None:  # the compiled code itself, which changes when the code does
            return hashlib.sha256(marshal.dumps(code)).hexdigest()
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    return text


def _captured(value: Any, depth: int) -> str:
    if isinstance(value, types.FunctionType):
        return code_fingerprint(value, depth + 1) if depth < 2 else _source(value)
    if isinstance(value, types.ModuleType):
        module = value.__name__.split(".")[0]
        try:
            return f"module {value.__name__} {metadata.version(module)}"
        except metadata.PackageNotFoundError:
            return f"module {value.__name__}"
    if inspect.isclass(value):
        return _source(value)
    text = _json(value)
    return text if text is not None else f"<{type(value).__qualname__}>"


def code_fingerprint(fn: Any, depth: int = 0) -> str:
    """sha256 over the function's source, its closure and the module globals it names."""
    fn = getattr(fn, "fn", fn)  # a Step: its function
    parts = [_source(fn)]
    code = getattr(fn, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
            try:
                parts.append(f"closure {name}={_captured(cell.cell_contents, depth)}")
            except ValueError:  # an empty cell
                parts.append(f"closure {name}=<empty>")
        module_globals = getattr(fn, "__globals__", {})
        for name in sorted(set(code.co_names)):
            if name in module_globals:
                parts.append(f"global {name}={_captured(module_globals[name], depth)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_key(
    step_ref: str, fn: Any, inputs: Mapping[str, str | None], code: str | None = None
) -> str | None:
    """The key, or ``None`` when an input has no fingerprint (``inputs`` maps each input to
    its fingerprint: a digest or JSON text). ``code`` is ``code_fingerprint(fn)`` when the
    caller has it already (reading the source is most of the cost)."""
    if any(v is None for v in inputs.values()):
        return None
    document = {
        "step": step_ref,
        "code": code or code_fingerprint(fn),
        "inputs": dict(sorted(inputs.items())),
        "environment": environment_fingerprint(),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
