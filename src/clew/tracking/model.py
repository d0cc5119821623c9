"""Tracking's domain objects: frozen dataclasses, converted to and from JSON in one place each.

Field names follow MLflow's (``experiment_id``, ``run_name``, ``start_time`` …) so the MLflow
adapter is a thin mapping, not a second model.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(enum.StrEnum):
    """Which lifecycle stages a search returns (MLflow's ``run_view_type``)."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    def stages(self) -> tuple[str, ...]:
        if self is ViewType.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE,)
        if self is ViewType.DELETED_ONLY:
            return (LifecycleStage.DELETED,)
        return (LifecycleStage.ACTIVE, LifecycleStage.DELETED)


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "tags": self.tags,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Experiment:
        return cls(
            experiment_id=str(d["experiment_id"]),
            name=d["name"],
            artifact_location=d.get("artifact_location") or "",
            lifecycle_stage=d["lifecycle_stage"],
            creation_time=d["creation_time"],
            last_update_time=d["last_update_time"],
            tags=dict(d.get("tags") or {}),
        )


def encode_float(value: float) -> float | str:
    """JSON has no NaN or Infinity: they travel as the strings ``"NaN"``, ``"Infinity"``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_float(value: float | int | str) -> float:
    return float(value)


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": encode_float(self.value),
            "timestamp": self.timestamp,
            "step": self.step,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Metric:
        return cls(
            key=d["key"],
            value=decode_float(d["value"]),
            timestamp=int(d["timestamp"]),
            step=int(d.get("step") or 0),
        )


def latest_points(points: Sequence[Metric]) -> dict[str, Metric]:
    """Each key's latest point: highest (step, timestamp, value), NaN counting as 0.

    The one rule for "latest": the store keeps ``latest_metrics`` by it and a new run's
    response is built with it.
    """
    latest: dict[str, tuple[tuple[int, int, float], Metric]] = {}
    for m in points:
        rank = (m.step, m.timestamp, 0.0 if math.isnan(m.value) else m.value)
        if m.key not in latest or rank > latest[m.key][0]:
            latest[m.key] = (rank, m)
    return {key: m for key, (_, m) in latest.items()}


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Dataset:
    """A data set a run read: an artifact node in the metadata graph, keyed by (name, digest)."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Dataset:
        return cls(
            name=d["name"],
            digest=d["digest"],
            source_type=d.get("source_type") or "",
            source=d.get("source") or "",
            schema=d.get("schema") or "",
            profile=d.get("profile") or "",
        )


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset and how the run used it; ``tags`` carries e.g. ``mlflow.data.context=training``."""

    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def context(self) -> str:
        return self.tags.get("mlflow.data.context", "")

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset.to_dict(), "tags": self.tags}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetInput:
        return cls(dataset=Dataset.from_dict(d["dataset"]), tags=dict(d.get("tags") or {}))


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """A dataset an experiment's runs read, in one context (``""`` when the input had none)."""

    experiment_id: str
    name: str
    digest: str
    context: str = ""


@dataclass(frozen=True, slots=True)
class ModelInput:
    """A logged model the run read (MLflow 3's ``log_inputs`` ``models``), e.g. to evaluate it."""

    model_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelInput:
        return cls(model_id=str(d["model_id"]))


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """A logged model the run declared as its output, at a training step (MLflow 3's
    ``log_outputs``). Creating a model with the run as its source is lineage, not this."""

    model_id: str
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "step": self.step}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelOutput:
        return cls(model_id=str(d["model_id"]), step=int(d.get("step") or 0))


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    parent_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "run_name": self.run_name,
            "user_id": self.user_id,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "artifact_uri": self.artifact_uri,
            "lifecycle_stage": self.lifecycle_stage,
            "parent_run_id": self.parent_run_id,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunInfo:
        return cls(
            run_id=d["run_id"],
            experiment_id=str(d["experiment_id"]),
            run_name=d.get("run_name") or "",
            user_id=d.get("user_id") or "",
            status=d["status"],
            start_time=d["start_time"],
            end_time=d.get("end_time"),
            artifact_uri=d.get("artifact_uri") or "",
            lifecycle_stage=d["lifecycle_stage"],
            parent_run_id=d.get("parent_run_id"),
        )


@dataclass(frozen=True, slots=True)
class RunData:
    """Params, tags and the latest value of every metric."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData = field(default_factory=RunData)
    inputs: tuple[DatasetInput, ...] = ()
    outputs: tuple[ModelOutput, ...] = ()
    model_inputs: tuple[ModelInput, ...] = ()

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": self.info.to_dict(),
            "data": {
                "params": self.data.params,
                "metrics": [m.to_dict() for m in self.data.metrics.values()],
                "tags": self.data.tags,
            },
            "inputs": [i.to_dict() for i in self.inputs],
            "outputs": [o.to_dict() for o in self.outputs],
            "model_inputs": [m.to_dict() for m in self.model_inputs],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Run:
        data = d.get("data") or {}
        metrics = [Metric.from_dict(m) for m in data.get("metrics") or []]
        return cls(
            info=RunInfo.from_dict(d["info"]),
            data=RunData(
                params=dict(data.get("params") or {}),
                metrics={m.key: m for m in metrics},
                tags=dict(data.get("tags") or {}),
            ),
            inputs=tuple(DatasetInput.from_dict(i) for i in d.get("inputs") or []),
            outputs=tuple(ModelOutput.from_dict(o) for o in d.get("outputs") or []),
            model_inputs=tuple(ModelInput.from_dict(m) for m in d.get("model_inputs") or []),
        )


@dataclass(frozen=True, slots=True)
class MetricHistory:
    """Every point of one metric, as columns: 100,000 points are three lists, not 100,000 objects."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Metric]:
        for step, ts, value in zip(self.steps, self.timestamps, self.values, strict=True):
            yield Metric(self.key, value, ts, step)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "steps": self.steps,
            "timestamps": self.timestamps,
            "values": [encode_float(v) if not math.isfinite(v) else v for v in self.values],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricHistory:
        values = d["values"]
        return cls(
            key=d["key"],
            steps=list(d["steps"]),
            timestamps=list(d["timestamps"]),
            values=[v if type(v) is float else float(v) for v in values],
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the opaque cursor of the next (``None`` on the last page)."""

    items: list[T]
    next_page_token: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
