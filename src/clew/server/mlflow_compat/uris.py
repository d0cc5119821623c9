"""``mlflow-artifacts:`` roots: what the adapter hands out, and what a proxied path names.

An MLflow client uploads through the server when a run's ``artifact_uri`` is
``mlflow-artifacts:/<experiment>/<run>/artifacts``: it PUTs
``/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<file>``. A LoggedModel's
root is ``mlflow-artifacts:/<experiment>/models/<model_id>/artifacts``. These are MLflow's own
layouts (``mlflow/server/handlers.py``), so paths an MLflow server handed out mean the same here.
Clew keeps its own ``clew-artifacts:`` URIs; only the MLflow shapes carry these.

``owner_of`` turns a proxied path back into (owner id, path inside the owner). It only splits
the path; the owner's artifact service validates what is left with the one path validator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from clew.core.errors import InvalidPath

SCHEME: Final = "mlflow-artifacts:"

_RUN_PATH = re.compile(r"([0-9]{1,18})/([0-9a-f]{32})/artifacts(?:/(.*))?", re.DOTALL)
_MODEL_PATH = re.compile(r"([0-9]{1,18})/models/(m-[0-9a-f]{32})/artifacts(?:/(.*))?", re.DOTALL)


def experiment_root(experiment_id: str) -> str:
    return f"{SCHEME}/{experiment_id}"


def run_root(experiment_id: str, run_id: str) -> str:
    return f"{SCHEME}/{experiment_id}/{run_id}/artifacts"


def model_root(experiment_id: str, model_id: str) -> str:
    return f"{SCHEME}/{experiment_id}/models/{model_id}/artifacts"


@dataclass(frozen=True, slots=True)
class ProxiedPath:
    experiment_id: str
    owner_id: str  # a run id, or a LoggedModel id (``m-…``)
    path: str  # inside the owner's artifacts; "" for its root


def owner_of(proxied: str) -> ProxiedPath:
    """``2/<run>/artifacts/model/MLmodel`` → (``2``, ``<run>``, ``model/MLmodel``).

    Raises ``InvalidPath`` for a path outside every run's and model's artifacts: the proxy
    serves Clew's artifact store, not a folder.
    """
    text = proxied.strip("/")
    match = _RUN_PATH.fullmatch(text) or _MODEL_PATH.fullmatch(text)
    if match is None:
        raise InvalidPath("Artifact path is not inside a run's or a logged model's artifacts")
    return ProxiedPath(match[1], match[2], match[3] or "")


def run_path_of(uri: str) -> tuple[str, str] | None:
    """A run's ``mlflow-artifacts:`` URI as (run id, path), or ``None`` if it names no run.
    Model versions registered from ``mlflow-artifacts:/…/<run>/artifacts/model`` need it."""
    if not uri.startswith(SCHEME):
        return None
    match = _RUN_PATH.fullmatch(uri[len(SCHEME) :].lstrip("/"))
    return (match[2], match[3] or "") if match else None
