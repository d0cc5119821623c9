"""Clew: experiment tracking, a governed model registry and pipelines with lineage.

The public surface is what this module exports: the fluent API (``clew.start_run``,
``clew.log_metric`` …), ``Client`` for explicit calls, dataset helpers in ``clew.data``, the
domain models and the errors. Everything else is internal and may change.

Importing ``clew`` stays cheap: no pandas, matplotlib, database driver or web framework is
imported until a call needs it.

Example:
    >>> with clew.start_run() as run:
    ...     clew.log_metric("loss", 0.1)
    >>> clew.get_run(run.info.run_id).data.metrics["loss"].value
    0.1
"""

from __future__ import annotations

from typing import Any

from clew.client import data
from clew.client.client import Client
from clew.client.fluent import (
    ActiveRun,
    active_run,
    delete_tag,
    end_run,
    flush,
    get_metric_history,
    get_run,
    get_tracking_uri,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
    use_client,
)
from clew.client.fluent_models import load_model, log_model, register_model, set_model_alias
from clew.client.model_info import LoggedModelInfo
from clew.core.errors import (
    AlreadyExists,
    ClewError,
    Conflict,
    InvalidFilter,
    InvalidInput,
    InvalidModel,
    InvalidModelName,
    InvalidPageToken,
    InvalidPath,
    InvalidSource,
    LimitExceeded,
    ModelIntegrityError,
    NotFound,
    ParamOverwrite,
    PayloadTooLarge,
    PermissionDenied,
    TemporarilyUnavailable,
    Unauthenticated,
    UntrustedModel,
)
from clew.registry.logged_model import LoggedModel
from clew.registry.model import ModelVersion, RegisteredModel
from clew.tracking.model import (
    Dataset,
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    Page,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)

__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "ClewError",
    "Client",
    "Conflict",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "InvalidFilter",
    "InvalidInput",
    "InvalidModel",
    "InvalidModelName",
    "InvalidPageToken",
    "InvalidPath",
    "InvalidSource",
    "LimitExceeded",
    "LoggedModel",
    "LoggedModelInfo",
    "Metric",
    "MetricHistory",
    "ModelIntegrityError",
    "ModelVersion",
    "NotFound",
    "Page",
    "Param",
    "ParamOverwrite",
    "PayloadTooLarge",
    "PermissionDenied",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "TemporarilyUnavailable",
    "Unauthenticated",
    "UntrustedModel",
    "ViewType",
    "__version__",
    "active_run",
    "data",
    "delete_tag",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_model_alias",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "use_client",
]


#: Flavor modules (``clew.sklearn.log_model`` …), imported when first used.
_FLAVOR_MODULES = frozenset({"sklearn", "lightgbm", "pyfunc"})


def __getattr__(name: str) -> Any:
    if name in _FLAVOR_MODULES:
        import importlib

        return importlib.import_module(f"clew.{name}")
    # The version is read from the installed metadata on first use, not at import.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("clew")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'clew' has no attribute {name!r}")
