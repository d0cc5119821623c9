"""The fluent model API: ``clew.log_model``, ``clew.register_model``, ``clew.set_model_alias``,
``clew.load_model`` (MLflow 3's ``mlflow.<flavor>.log_model``, ``mlflow.register_model``,
``mlflow.pyfunc.load_model``).

``log_model`` logs from the active run when there is one; without one it logs a model of the
active experiment with no source run and starts no run, as MLflow 3 does (models are
first-class there). Everything else goes to the current client (see :func:`clew.use_client`).

Example:
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> x = np.array([[0.0], [1.0]])
    >>> with clew.start_run() as run:
    ...     info = clew.log_model(LinearRegression().fit(x, [0, 1]), "reg", input_example=x)
    >>> info.run_id == run.info.run_id
    True
    >>> version = clew.register_model(info.model_uri, "doc-fluent-reg")
    >>> clew.set_model_alias("doc-fluent-reg", "champion", version.version)
    >>> model = clew.load_model("models:/doc-fluent-reg@champion")
    >>> model.predict(np.array([[2.0]])).round(3).tolist()
    [2.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clew.client import session as sessions
from clew.client.runs import active_run

if TYPE_CHECKING:
    from clew.client.model_info import LoggedModelInfo
    from clew.models.pyfunc_model import PyFuncModel
    from clew.models.signature import ModelSignature
    from clew.registry.model import ModelVersion

__all__ = ["load_model", "log_model", "register_model", "set_model_alias"]


def log_model(
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    signature: ModelSignature | bool | None = None,
    registered_model_name: str | None = None,
    flavor: str | None = None,
    **opts: Any,
) -> LoggedModelInfo:
    """Log ``model`` as a new logged model (``models:/m-…``) from the active run.

    Args:
        name: the logged model's name; ``runs:/<run_id>/<name>`` finds it again.
        input_example: saved with the model; the signature is inferred from it.
        registered_model_name: also register it as the next version of this model.
        flavor: force a flavor (``"sklearn"``, ``"lightgbm"``, ``"python_function"``).
        opts: ``pip_requirements``, ``metadata``, ``params``, ``tags``, ``model_type``, and the
            flavor's options (``serialization_format=`` …).

    Returns:
        ``LoggedModelInfo`` with ``model_uri``, ``model_id``, ``run_id``, ``signature``,
        ``flavors`` and ``registered_model_version``.
    """
    run = active_run()
    if run is not None:
        run.session.flush(run.run_id)
        client, run_id, experiment_id = run.session.client, run.run_id, None
    else:
        session = sessions.current()
        client, run_id, experiment_id = session.client, None, session.experiment_id or "0"
    return client.log_model(
        run_id,
        model,
        name,
        input_example=input_example,
        signature=signature,
        registered_model_name=registered_model_name,
        flavor=flavor,
        experiment_id=experiment_id,
        **opts,
    )


def register_model(
    model_uri: str,
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register ``model_uri`` (``models:/m-…`` or ``runs:/<run>/<path>``) as the next version of
    ``name``, creating the registered model if it does not exist."""
    return sessions.current().client.register_model(model_uri, name, tags, description)


def set_model_alias(name: str, alias: str, version: int | str) -> None:
    """Point ``alias`` of registered model ``name`` at ``version`` (creating or moving it)."""
    sessions.current().client.set_registered_model_alias(name, alias, version)


def load_model(
    model_uri: str,
    *,
    trust: bool = False,
    verify: bool = False,
    skops_trusted_types: tuple[str, ...] = (),
) -> PyFuncModel:
    """Load a model as a ``PyFuncModel`` from ``models:/name@alias``, ``models:/name/<version>``,
    ``models:/name/latest``, ``models:/name/<stage>``, ``models:/m-<id>``,
    ``runs:/<run_id>/<path>`` or a local directory, through the verified local cache.

    See :meth:`clew.Client.load_model` for ``trust`` and ``verify``.
    """
    client = sessions.current().client
    return client.load_model(
        model_uri, trust=trust, verify=verify, skops_trusted_types=skops_trusted_types
    )
