"""cloudpickle in and out, and reading MLflow's pickled ``PythonModel`` without mlflow installed.

An MLflow pyfunc pickle refers to ``mlflow.pyfunc.model.PythonModel`` (the user's base class),
to ``mlflow.models.signature._TypeHints`` and to the wrapper MLflow puts around ``predict`` at
class creation. Clew does not depend on mlflow, so when it is not importable the unpickler maps
those names to small stand-ins here, then puts the user's own ``predict`` (kept by the wrapper
as ``__wrapped__``) back in place. MLflow's type-hint validation inside that wrapper is lost;
Clew checks input against the signature instead.

None of this makes a pickle safe: callers reach ``loads`` only through ``ModelDir.read_bytes``
(digests verified, or trust given).
"""

from __future__ import annotations

import importlib.util
import io
import pickle
import types
from typing import Any

_MLFLOW_BASES = {("mlflow.pyfunc.model", "PythonModel"), ("mlflow.pyfunc", "PythonModel")}


class PythonModelStandIn:
    """Stands in for ``mlflow.pyfunc.PythonModel`` as the base of an unpickled user class."""

    def load_context(self, context: Any) -> None:
        return None


class _TypeHintsStandIn:
    """Stands in for ``mlflow.models.signature._TypeHints`` (a cached attribute, unused here)."""

    def __init__(self, input: Any = None, output: Any = None) -> None:
        self.input = input
        self.output = output


def _missing(module: str, name: str) -> Any:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{module}.{name} needs mlflow, which is not installed")

    unavailable.__qualname__ = unavailable.__name__ = name
    return unavailable


class _CompatUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, *, have_mlflow: bool) -> None:
        super().__init__(file)
        self.have_mlflow = have_mlflow

    def find_class(self, module: str, name: str) -> Any:
        if self.have_mlflow or not (module == "mlflow" or module.startswith("mlflow.")):
            found = super().find_class(module, name)
            if (module, name) == ("cloudpickle.cloudpickle", "subimport") and not self.have_mlflow:
                return _subimport
            return found
        if (module, name) in _MLFLOW_BASES:
            return PythonModelStandIn
        if name == "_TypeHints":
            return _TypeHintsStandIn
        return _missing(module, name)


def _subimport(name: str) -> Any:
    """cloudpickle's module reference, with mlflow modules replaced by empty stand-ins."""
    if name == "mlflow" or name.startswith("mlflow."):
        return types.ModuleType(name)
    __import__(name)
    import sys

    return sys.modules[name]


def loads(data: bytes) -> Any:
    """Unpickle (cloudpickle output included: it is plain pickle with cloudpickle helpers)."""
    have_mlflow = importlib.util.find_spec("mlflow") is not None
    obj = _CompatUnpickler(io.BytesIO(data), have_mlflow=have_mlflow).load()
    if not have_mlflow:
        _unwrap_mlflow_predict(type(obj))
    return obj


def _unwrap_mlflow_predict(cls: type) -> None:
    for attr in ("predict", "predict_stream"):
        fn = cls.__dict__.get(attr)
        inner = getattr(fn, "__wrapped__", None)
        if getattr(fn, "_is_pyfunc", False) and callable(inner):
            setattr(cls, attr, inner)


def dumps(obj: Any) -> bytes:
    import cloudpickle

    return bytes(cloudpickle.dumps(obj))


def is_mlflow_python_model(obj: Any) -> bool:
    return any(
        (c.__module__, c.__name__) in _MLFLOW_BASES or c is PythonModelStandIn
        for c in type(obj).__mro__
    )
