"""``clew.lightgbm``: log, save and load LightGBM models (MLflow's ``mlflow.lightgbm``).

Thin wrappers that force the ``lightgbm`` flavor: a ``Booster`` is saved as LightGBM's text
format, the scikit-learn API models (``LGBMClassifier`` …) through skops. Importing this module
does not import LightGBM.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from clew.client import fluent_models
from clew.client import session as sessions

if TYPE_CHECKING:
    from clew.client.model_info import LoggedModelInfo
    from clew.models.mlmodel import ModelInfo

FLAVOR = "lightgbm"


def log_model(lgb_model: Any, name: str = "model", **kwargs: Any) -> LoggedModelInfo:
    """Log a LightGBM model from the active run; see :func:`clew.log_model` for the arguments."""
    return fluent_models.log_model(lgb_model, name, flavor=FLAVOR, **kwargs)


def save_model(lgb_model: Any, path: str | os.PathLike[str], **kwargs: Any) -> ModelInfo:
    """Write a LightGBM model as a model directory; see :func:`clew.models.save_model`."""
    from clew.models.api import save_model as save

    return save(lgb_model, path, flavor=FLAVOR, **kwargs)


def load_model(model_uri: str, **kwargs: Any) -> Any:
    """The ``Booster`` or ``LGBM*`` object itself, from any model URI or a local path."""
    return sessions.current().client.load_native_model(model_uri, FLAVOR, **kwargs)
