"""The flavor contract: how one kind of model object is saved into, and loaded from, a model
directory. Clew's built-in flavors and third-party ones register the same way, through the
``clew.model_flavors`` entry-point group (see ``registry.py`` and docs/models.md).

A flavor writes its block under ``flavors:`` in MLflow's shape and, when it can, the
``python_function`` block with an MLflow ``loader_module``, so MLflow loads Clew's files with its
own code; Clew maps that loader module back to the flavor when reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from clew.models.files import ModelDir


@runtime_checkable
class Predictor(Protocol):
    """What ``pyfunc`` returns: something with ``predict``; ``raw`` is the native object."""

    raw: Any

    def predict(self, data: Any) -> Any: ...


@dataclass(frozen=True)
class SavedFlavor:
    """What ``Flavor.save`` reports back.

    Attributes:
        config: the flavor's block under ``flavors:``.
        pyfunc: the ``python_function`` block (``loader_module`` and its keys), or ``None`` when
            the object cannot predict.
        requirements: distributions to pin in ``requirements.txt``.
        predict: the saved object's predict callable, used once to infer the output schema.
    """

    config: dict[str, Any]
    pyfunc: dict[str, Any] | None
    requirements: tuple[str, ...] = ()
    predict: Callable[[Any], Any] | None = field(default=None, compare=False)


class Flavor(Protocol):
    """One model flavor.

    Attributes:
        name: the key under ``flavors:`` (``sklearn``, ``lightgbm``, ``python_function``).
        loader_modules: ``python_function.loader_module`` values this flavor serves.
        priority: lower is asked first by auto-detection (specific before generic).
    """

    name: str
    loader_modules: tuple[str, ...]
    priority: int

    def can_save(self, obj: Any) -> bool:
        """Whether ``obj`` is this flavor's kind. Must not import heavy libraries to find out."""
        ...

    def save(self, obj: Any, path: Path, **opts: Any) -> SavedFlavor:
        """Write the object's files under ``path`` (which exists) and describe them."""
        ...

    def data_files(self, config: dict[str, Any]) -> list[str]:
        """Relative paths the loader reads itself through ``ModelDir.read_bytes``."""
        ...

    def load(self, model: ModelDir, config: dict[str, Any]) -> Any:
        """The native object (the estimator, the Booster, the user's Python model)."""
        ...

    def pyfunc(self, model: ModelDir, config: dict[str, Any]) -> Predictor:
        """A predictor over the native object."""
        ...


@dataclass
class MethodPredictor:
    """A predictor calling one method of a native object (``predict`` by default)."""

    raw: Any
    method: str = "predict"

    def predict(self, data: Any) -> Any:
        return getattr(self.raw, self.method)(data)
