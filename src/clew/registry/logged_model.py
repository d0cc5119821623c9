"""Logged models' domain objects (MLflow 3's ``LoggedModel``), converted to JSON in one place.

A logged model is what ``log_model`` produces: an id of its own (``m-<32 hex>``), files under its
own artifact root, and a status that says whether those files are complete. It belongs to an
experiment, usually comes from a run, and can later be registered as a model version, which
then points at it instead of at a run's folder.

Field names follow MLflow's entity (``model_id``, ``creation_timestamp``,
``last_updated_timestamp`` …) so that the MLflow adapter is a mapping, not a second model.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clew.core.errors import InvalidInput
from clew.tracking.model import decode_float, encode_float

RESOURCE_TYPE = "logged_model"


def artifact_location(model_id: str) -> str:
    """Where a logged model's files live: its own owner key in the artifact store."""
    return f"clew-artifacts:/logged-models/{model_id}"


class LoggedModelStatus(enum.StrEnum):
    """PENDING while files upload; READY (complete, files frozen) or FAILED, once."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    @classmethod
    def parse(cls, value: object) -> LoggedModelStatus:
        """Also takes MLflow's wire names (``LOGGED_MODEL_READY``, ``LOGGED_MODEL_UPLOAD_FAILED``)."""
        text = str(value.value if isinstance(value, enum.Enum) else value)
        text = _MLFLOW_NAMES.get(text, text)
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(
                f"Unknown logged model status; expected one of {[s.value for s in cls]}"
            ) from None


_MLFLOW_NAMES = {
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
}


@dataclass(frozen=True, slots=True)
class LoggedModelMetric:
    """One point of a logged model's metric; a series is (key, dataset_name, dataset_digest).

    ``run_id`` names the run that computed it (an evaluation run, say), when there is one.
    """

    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": encode_float(self.value),
            "timestamp": self.timestamp,
            "step": self.step,
            "run_id": self.run_id,
            "dataset_name": self.dataset_name,
            "dataset_digest": self.dataset_digest,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LoggedModelMetric:
        return cls(
            key=d["key"],
            value=decode_float(d["value"]),
            timestamp=int(d["timestamp"]),
            step=int(d.get("step") or 0),
            run_id=d.get("run_id") or None,
            dataset_name=d.get("dataset_name") or None,
            dataset_digest=d.get("dataset_digest") or None,
        )


def latest_of_series(
    points: Sequence[LoggedModelMetric],
) -> dict[tuple[str, str, str], LoggedModelMetric]:
    """Each series' latest point: highest (step, timestamp, value), NaN counting as 0.

    The same rule as runs' ``latest_points``, applied per (key, dataset name, dataset digest).
    """
    latest: dict[tuple[str, str, str], tuple[tuple[int, int, float], LoggedModelMetric]] = {}
    for m in points:
        series = (m.key, m.dataset_name or "", m.dataset_digest or "")
        rank = (m.step, m.timestamp, 0.0 if math.isnan(m.value) else m.value)
        if series not in latest or rank > latest[series][0]:
            latest[series] = (rank, m)
    return {series: m for series, (_, m) in latest.items()}


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A logged model; ``metrics`` holds the latest point of each series."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str
    status_message: str = ""
    model_type: str = ""
    source_run_id: str | None = None
    user_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[LoggedModelMetric, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "status": self.status,
            "status_message": self.status_message,
            "model_type": self.model_type,
            "source_run_id": self.source_run_id,
            "user_id": self.user_id,
            "tags": self.tags,
            "params": self.params,
            "metrics": [m.to_dict() for m in self.metrics],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LoggedModel:
        return cls(
            model_id=d["model_id"],
            experiment_id=str(d["experiment_id"]),
            name=d["name"],
            artifact_location=d.get("artifact_location") or "",
            creation_timestamp=int(d["creation_timestamp"]),
            last_updated_timestamp=int(d["last_updated_timestamp"]),
            status=d["status"],
            status_message=d.get("status_message") or "",
            model_type=d.get("model_type") or "",
            source_run_id=d.get("source_run_id") or None,
            user_id=d.get("user_id") or "",
            tags=dict(d.get("tags") or {}),
            params=dict(d.get("params") or {}),
            metrics=tuple(LoggedModelMetric.from_dict(m) for m in d.get("metrics") or []),
        )


@dataclass(frozen=True, slots=True)
class LoggedModelOrder:
    """One ``order_by`` term of a logged-model search, MLflow's object form.

    ``field_name`` is an attribute (``creation_timestamp``, ``name`` …) or ``metrics.<key>``,
    ``params.<key>``, ``tags.<key>``. For a metric, ``dataset_name`` (and ``dataset_digest``)
    pick the series to sort by; without them the latest point of any series counts.
    """

    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "ascending": self.ascending,
            "dataset_name": self.dataset_name,
            "dataset_digest": self.dataset_digest,
        }

    @classmethod
    def of(cls, term: str | Mapping[str, Any] | LoggedModelOrder) -> LoggedModelOrder:
        """From an object, a mapping or a clause such as ``"metrics.acc DESC"``."""
        if isinstance(term, LoggedModelOrder):
            return term
        if isinstance(term, str):
            text = term.strip()
            head, _, direction = text.rpartition(" ")
            if direction.upper() in ("ASC", "DESC") and head.strip():
                return cls(head.strip(), direction.upper() == "ASC")
            return cls(text)
        if not isinstance(term, Mapping) or not isinstance(term.get("field_name"), str):
            raise InvalidInput("An order_by term needs a field_name")
        ascending = term.get("ascending", True)
        if not isinstance(ascending, bool):
            raise InvalidInput("order_by 'ascending' must be true or false")
        name, digest = term.get("dataset_name"), term.get("dataset_digest")
        if digest and not name:
            raise InvalidInput("order_by dataset_digest needs a dataset_name")
        return cls(term["field_name"], ascending, name or None, digest or None)


@dataclass(frozen=True, slots=True)
class DatasetFilter:
    """Restricts a search's metric conditions (and ordering) to metrics on these datasets."""

    dataset_name: str
    dataset_digest: str | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any] | DatasetFilter) -> DatasetFilter:
        if isinstance(item, DatasetFilter):
            return item
        name = item.get("dataset_name")
        if not isinstance(name, str) or not name:
            raise InvalidInput("A dataset filter needs a dataset_name")
        digest = item.get("dataset_digest")
        if digest is not None and not isinstance(digest, str):
            raise InvalidInput("A dataset filter's dataset_digest must be a string")
        return cls(name, digest or None)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset_name": self.dataset_name, "dataset_digest": self.dataset_digest}
