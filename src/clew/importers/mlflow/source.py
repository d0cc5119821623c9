"""What the importer reads from an MLflow installation, whichever way it is reached.

Two sources implement ``MlflowSource``: ``RestSource`` (a tracking server over its REST API)
and ``SqlSource`` (the backend store's tables plus the artifact root). The importer sees only
the frozen records below, so the copy logic is written once and both sources are tested
against the same expectations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from clew.artifacts.blobstore import Source as ByteSource
from clew.registry.logged_model import LoggedModelMetric
from clew.tracking.model import DatasetInput, Metric

ACTIVE = "active"
DELETED = "deleted"


@dataclass(frozen=True)
class SourceExperiment:
    experiment_id: str
    name: str
    lifecycle_stage: str = ACTIVE
    artifact_location: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: Keys of the run's metrics; their full histories come from ``metric_history``.
    metric_keys: tuple[str, ...] = ()

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get("mlflow.parentRunId") or None


@dataclass(frozen=True)
class SourceLoggedModel:
    model_id: str
    experiment_id: str
    name: str
    status: str  # READY, PENDING or FAILED (Clew's names)
    lifecycle_stage: str
    artifact_location: str
    source_run_id: str | None = None
    model_type: str = ""
    status_message: str = ""
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: tuple[LoggedModelMetric, ...] = ()


@dataclass(frozen=True)
class SourceVersion:
    name: str
    version: int
    source: str
    status: str
    stage: str = "None"
    run_id: str | None = None
    model_id: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str = ""


@dataclass(frozen=True)
class SourceRegisteredModel:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    #: alias → MLflow version number
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceFile:
    """A file under an owner's artifact root: its path from that root and its size."""

    path: str
    size: int | None


class MlflowSource(Protocol):
    """Read-only access to one MLflow installation."""

    #: Where the data comes from, without credentials: recorded in ``clew.import.source``.
    label: str

    def experiments(self) -> Sequence[SourceExperiment]:
        """Every experiment, deleted ones included (the importer decides what to copy)."""
        ...

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        """Every run of the experiment, deleted ones included."""
        ...

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of a series: all steps, all timestamps, NaN and infinities as floats."""
        ...

    def inputs(self, run_id: str) -> list[DatasetInput]: ...

    def logged_models(self, experiment_id: str) -> Sequence[SourceLoggedModel]:
        """MLflow 3's LoggedModels of the experiment (none on a 2.x installation)."""
        ...

    def registered_models(self) -> Sequence[SourceRegisteredModel]: ...

    def versions(self, name: str) -> Sequence[SourceVersion]:
        """The registered model's versions, in ascending number."""
        ...

    def files(self, artifact_uri: str) -> Iterator[SourceFile]:
        """Every file (recursively) under an owner's artifact root.

        Raises:
            ArtifactsUnreachable: the root is somewhere this source cannot read.
        """
        ...

    def open(self, artifact_uri: str, path: str) -> AbstractContextManager[ByteSource]:
        """A file's bytes as a stream, never whole in memory."""
        ...

    def close(self) -> None: ...


class ArtifactsUnreachable(Exception):
    """An artifact root the source cannot read (e.g. ``s3://`` behind a non-proxying server)."""


def public_label(uri: str) -> str:
    """``uri`` without user and password: what may be written into tags and audit events."""
    parts = urlsplit(uri)
    if parts.password is None and parts.username is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def model_id_of(source: str) -> str | None:
    """The LoggedModel a version was registered from: MLflow 3 records ``models:/m-…``."""
    if source.startswith("models:/m-"):
        return source[len("models:/") :].strip("/") or None
    return None


def parse_stage(lifecycle: str | None) -> str:
    return DELETED if (lifecycle or "").lower() == DELETED else ACTIVE


#: MLflow's LoggedModel status names (REST enum names and the SQL integers) → Clew's.
LOGGED_MODEL_STATUS = {
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "PENDING",
    "1": "PENDING",
    "2": "READY",
    "3": "FAILED",
    "0": "PENDING",
}
