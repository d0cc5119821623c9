"""``clew.pyfunc``: log, save and load generic Python models (MLflow's ``mlflow.pyfunc``).

A Python model is any object with ``predict(model_input)`` (or ``predict(context,
model_input)``); ``artifacts={"name": "local/path"}`` are copied in and reach
``load_context(context)`` as ``context.artifacts``. ``load_model`` returns a ``PyFuncModel``
for a model of *any* flavor, as ``mlflow.pyfunc.load_model`` does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from clew.client import fluent_models

if TYPE_CHECKING:
    from clew.client.model_info import LoggedModelInfo
    from clew.models.mlmodel import ModelInfo
    from clew.models.pyfunc_model import PyFuncModel

FLAVOR = "python_function"


def log_model(
    python_model: Any = None,
    name: str = "model",
    *,
    artifacts: dict[str, str] | None = None,
    **kwargs: Any,
) -> LoggedModelInfo:
    """Log a Python model from the active run; see :func:`clew.log_model` for the arguments."""
    if artifacts is not None:
        kwargs["artifacts"] = artifacts
    return fluent_models.log_model(python_model, name, flavor=FLAVOR, **kwargs)


def save_model(python_model: Any, path: str | os.PathLike[str], **kwargs: Any) -> ModelInfo:
    """Write a Python model as a model directory; see :func:`clew.models.save_model`."""
    from clew.models.api import save_model as save

    return save(python_model, path, flavor=FLAVOR, **kwargs)


def load_model(model_uri: str, **kwargs: Any) -> PyFuncModel:
    """Any model, as a ``PyFuncModel``; the same as :func:`clew.load_model`."""
    return fluent_models.load_model(model_uri, **kwargs)
