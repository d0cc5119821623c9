"""``clew.sklearn``: log, save and load scikit-learn models (MLflow's ``mlflow.sklearn``).

Thin wrappers that force the ``sklearn`` flavor (skops by default; pass
``serialization_format="cloudpickle"`` for estimators skops cannot build). Importing this
module does not import scikit-learn.

Example:
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> x = np.array([[0.0], [1.0]])
    >>> with clew.start_run():
    ...     info = clew.sklearn.log_model(DecisionTreeClassifier().fit(x, [0, 1]),
    ...                                   name="tree", input_example=x)
    >>> type(clew.sklearn.load_model(info.model_uri)).__name__
    'DecisionTreeClassifier'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from clew.client import fluent_models
from clew.client import session as sessions

if TYPE_CHECKING:
    from clew.client.model_info import LoggedModelInfo
    from clew.models.mlmodel import ModelInfo

FLAVOR = "sklearn"


def log_model(sk_model: Any, name: str = "model", **kwargs: Any) -> LoggedModelInfo:
    """Log an estimator from the active run; see :func:`clew.log_model` for the arguments."""
    return fluent_models.log_model(sk_model, name, flavor=FLAVOR, **kwargs)


def save_model(sk_model: Any, path: str | os.PathLike[str], **kwargs: Any) -> ModelInfo:
    """Write an estimator as a model directory; see :func:`clew.models.save_model`."""
    from clew.models.api import save_model as save

    return save(sk_model, path, flavor=FLAVOR, **kwargs)


def load_model(model_uri: str, **kwargs: Any) -> Any:
    """The estimator itself (not a ``PyFuncModel``), from any model URI or a local path."""
    return sessions.current().client.load_native_model(model_uri, FLAVOR, **kwargs)
