"""``PyFuncModel``: the one object ``load_model`` returns, whatever the flavor.

It checks input against the signature, then calls the flavor's predictor. The native object is
there for whoever needs it (``raw_model``), and ``unwrap_python_model()`` returns the user's own
object for ``python_function`` models, as in MLflow.
"""

from __future__ import annotations

from typing import Any

from clew.models.enforce import enforce_schema
from clew.models.flavors.base import Predictor
from clew.models.mlmodel import ModelInfo


class PyFuncModel:
    """A loaded model with ``predict(data)``; build it with ``clew.models.load_model``."""

    def __init__(self, info: ModelInfo, predictor: Predictor, flavor: str) -> None:
        self._info = info
        self._predictor = predictor
        self.loader_flavor = flavor

    @property
    def metadata(self) -> ModelInfo:
        return self._info

    @property
    def raw_model(self) -> Any:
        return self._predictor.raw

    def unwrap_python_model(self) -> Any:
        """The object the model was saved from (the user's class, the estimator)."""
        return self._predictor.raw

    def predict(self, data: Any) -> Any:
        """Predict on ``data`` after checking it against the input schema.

        Raises:
            InvalidInput: a required column is missing, a value cannot be safely converted to
                its declared type, or a tensor has the wrong shape; the error names it.
        """
        signature = self._info.signature
        if signature is not None:
            data = enforce_schema(signature.inputs, data)
        return self._predictor.predict(data)

    def __repr__(self) -> str:
        return f"PyFuncModel(flavor={self.loader_flavor!r}, path={self._info.path!r})"
