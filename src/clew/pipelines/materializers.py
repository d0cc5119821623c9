"""How a step's output becomes files, and files become the value again, chosen by its type.

Each materializer writes a value into an empty directory and reads it back; the engine stores
that directory in the content-addressed artifact store, so an output has a digest and can be
cached, shared and traced like any other artifact. Built in, most specific first:

=============  ============================================  ========================
name           values                                        files
=============  ============================================  ========================
``pandas``     ``pandas.DataFrame``                          ``data.parquet``
``polars``     ``polars.DataFrame``                          ``data.parquet``
``numpy``      ``numpy.ndarray`` (not of objects)            ``array.npy``
``model``      models a registry flavor saves (scikit-learn,  an MLflow model directory
               LightGBM)
``text``       ``str``                                       ``value.txt`` (UTF-8)
``bytes``      ``bytes``                                     ``value.bin``
``json``       ``None``, ``bool``, numbers, lists, dicts     ``value.json``
               that are JSON (NaN and infinities kept)
``pickle``     anything else, if allowed                     ``value.pkl``
=============  ============================================  ========================

``pickle`` is last and marked ``unsafe``: loading one runs whatever code it holds, so a store
that refuses pickles (``allow_pickle=False``) refuses the value at the step that produced it
instead. Others register through the ``clew.materializers`` entry-point group: an object with
``name``, ``handles(value)``, ``save(value, directory)`` and ``load(directory)``, tried before
the built-ins.
"""

from __future__ import annotations

import functools
import math
import pickle
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Protocol

import orjson

from clew.core.errors import InvalidInput

ENTRY_POINT_GROUP: Final = "clew.materializers"


class Materializer(Protocol):
    name: str
    #: Loading its files can run code (pickle): refused where pickles are not allowed.
    unsafe: bool

    def handles(self, value: Any) -> bool: ...

    def save(self, value: Any, directory: Path) -> None: ...

    def load(self, directory: Path) -> Any: ...


class PickleRefused(InvalidInput):
    code = "PICKLE_REFUSED"


def _module_type(value: Any, module: str, name: str) -> bool:
    """``isinstance`` without importing ``module`` when the value cannot be one of its types."""
    cls = type(value)
    return cls.__module__.split(".")[0] == module and any(
        klass.__name__ == name and klass.__module__.split(".")[0] == module for klass in cls.__mro__
    )


class PandasParquet:
    name, unsafe = "pandas", False

    def handles(self, value: Any) -> bool:
        return _module_type(value, "pandas", "DataFrame")

    def save(self, value: Any, directory: Path) -> None:
        value.to_parquet(directory / "data.parquet")

    def load(self, directory: Path) -> Any:
        import pandas as pd

        return pd.read_parquet(directory / "data.parquet")


class PolarsParquet:
    name, unsafe = "polars", False

    def handles(self, value: Any) -> bool:
        return _module_type(value, "polars", "DataFrame")

    def save(self, value: Any, directory: Path) -> None:
        value.write_parquet(directory / "data.parquet")

    def load(self, directory: Path) -> Any:
        import polars as pl

        return pl.read_parquet(directory / "data.parquet")


class NumpyArray:
    name, unsafe = "numpy", False

    def handles(self, value: Any) -> bool:
        return _module_type(value, "numpy", "ndarray") and value.dtype != object

    def save(self, value: Any, directory: Path) -> None:
        import numpy as np

        np.save(directory / "array.npy", value, allow_pickle=False)

    def load(self, directory: Path) -> Any:
        import numpy as np

        return np.load(directory / "array.npy", allow_pickle=False)


class RegistryModel:
    """A model in MLflow's format through the registry's flavors (skops, not pickle, for
    scikit-learn), so a step's model output loads, serves and registers like a logged one."""

    name, unsafe = "model", False

    def handles(self, value: Any) -> bool:
        if type(value).__module__.split(".")[0] not in ("sklearn", "lightgbm"):
            return False
        from clew.models.flavors.registry import flavor_for_object

        try:
            return flavor_for_object(value).name != "python_function"
        except InvalidInput:
            return False

    def save(self, value: Any, directory: Path) -> None:
        from clew.models.api import save_model

        save_model(value, directory / "model", signature=False)

    def load(self, directory: Path) -> Any:
        from clew.models.api import load_native

        return load_native(directory / "model")


class Text:
    name, unsafe = "text", False

    def handles(self, value: Any) -> bool:
        return isinstance(value, str)

    def save(self, value: Any, directory: Path) -> None:
        (directory / "value.txt").write_text(value, encoding="utf-8")

    def load(self, directory: Path) -> Any:
        return (directory / "value.txt").read_text(encoding="utf-8")


class Bytes:
    name, unsafe = "bytes", False

    def handles(self, value: Any) -> bool:
        return isinstance(value, bytes)

    def save(self, value: Any, directory: Path) -> None:
        (directory / "value.bin").write_bytes(value)

    def load(self, directory: Path) -> Any:
        return (directory / "value.bin").read_bytes()


_NON_FINITE: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def _encode(value: Any) -> Any:
    """JSON has no NaN or infinities: they travel as ``{"$float": "NaN"}``."""
    if isinstance(value, float) and not math.isfinite(value):
        return {
            "$float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        }
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if value.keys() == {"$float"} and value["$float"] in _NON_FINITE:
            return _NON_FINITE[value["$float"]]
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class Json:
    name, unsafe = "json", False

    def handles(self, value: Any) -> bool:
        return _json_safe(value)

    def save(self, value: Any, directory: Path) -> None:
        (directory / "value.json").write_bytes(orjson.dumps(_encode(value)))

    def load(self, directory: Path) -> Any:
        return _decode(orjson.loads((directory / "value.json").read_bytes()))


class Pickle:
    name, unsafe = "pickle", True

    def handles(self, value: Any) -> bool:
        return True

    def save(self, value: Any, directory: Path) -> None:
        with (directory / "value.pkl").open("wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, directory: Path) -> Any:
        with (directory / "value.pkl").open("rb") as src:
            return pickle.load(src)


BUILT_IN: Final[tuple[Materializer, ...]] = (
    PandasParquet(),
    PolarsParquet(),
    NumpyArray(),
    RegistryModel(),
    Text(),
    Bytes(),
    Json(),
    Pickle(),
)


@functools.cache
def _plugins() -> tuple[Materializer, ...]:
    found = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        found.append(loaded() if isinstance(loaded, type) else loaded)
    return tuple(found)


class Materializers:
    """The materializers in the order they are tried: plugins, then the built-ins."""

    def __init__(self, extra: Iterable[Materializer] = (), *, allow_pickle: bool = True) -> None:
        self.allow_pickle = allow_pickle
        self.ordered = (*extra, *_plugins(), *BUILT_IN)
        self.by_name = {m.name: m for m in reversed(self.ordered)}

    def for_value(self, value: Any, *, step: str = "?") -> Materializer:
        for materializer in self.ordered:
            if materializer.handles(value):
                if materializer.unsafe and not self.allow_pickle:
                    raise PickleRefused(
                        f"step {step!r} returned a {type(value).__module__}."
                        f"{type(value).__qualname__}, which only pickle can store, and pickles "
                        "are not allowed here: return a DataFrame, array, model, text or JSON, "
                        f"or register a materializer ({ENTRY_POINT_GROUP})",
                        step=step,
                    )
                return materializer
        raise AssertionError("the pickle materializer handles everything")

    def named(self, name: str) -> Materializer:
        found = self.by_name.get(name)
        if found is None:
            raise InvalidInput(f"no materializer {name!r} is installed", materializer=name)
        if found.unsafe and not self.allow_pickle:
            raise PickleRefused(f"materializer {name!r} loads pickles, which are not allowed here")
        return found
