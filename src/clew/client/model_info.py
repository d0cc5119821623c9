"""What the model API returns: ``LoggedModelInfo`` (``log_model``, MLflow 3's ``ModelInfo``) and
``ModelLineage`` (a version's upstream, for ``clew models lineage``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clew.models.mlmodel import ModelInfo
    from clew.models.signature import ModelSignature
    from clew.registry.logged_model import LoggedModel
    from clew.registry.model import ModelVersion, VersionFile
    from clew.tracking.model import Run


@dataclass(frozen=True)
class LoggedModelInfo:
    """What ``log_model`` returns (MLflow 3's ``ModelInfo``): where the model is and what it is.

    ``model_uri`` (``models:/m-…``) loads it; ``registered_model_version`` is set when
    ``registered_model_name`` was given. ``mlmodel`` is the full MLmodel as written.
    """

    model_id: str
    model_uri: str
    name: str
    run_id: str | None
    logged_model: LoggedModel
    mlmodel: ModelInfo
    digest: str
    registered_model_version: int | None = None

    @property
    def artifact_path(self) -> str:
        """MLflow 2's name for ``name``."""
        return self.name

    @property
    def flavors(self) -> dict[str, dict[str, Any]]:
        return self.mlmodel.flavors

    @property
    def signature(self) -> ModelSignature | None:
        return self.mlmodel.signature

    @property
    def model_uuid(self) -> str:
        return self.mlmodel.model_uuid

    @property
    def utc_time_created(self) -> str:
        return self.mlmodel.utc_time_created

    @property
    def saved_input_example_info(self) -> dict[str, Any] | None:
        return self.mlmodel.saved_input_example_info

    @property
    def metadata(self) -> dict[str, Any] | None:
        return self.mlmodel.metadata

    @property
    def model_digest(self) -> str:
        """``sha256:`` of MLmodel: what ``clew.models.load_model(expected_digest=…)`` pins."""
        return self.mlmodel.mlmodel_digest


@dataclass(frozen=True)
class ModelLineage:
    """A version and what it came from: model artifact → run → the run's dataset inputs."""

    version: ModelVersion
    files: list[VersionFile]
    logged_model: LoggedModel | None
    run: Run | None

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "version": self.version.to_dict(),
            "model_artifact": {
                "uri": self.version.source,
                "logged_model": None if self.logged_model is None else self.logged_model.to_dict(),
                "digest": self.version.digest,
                "files": [f.to_dict() for f in self.files],
                "size": sum(f.size for f in self.files),
            },
            "run": None
            if run is None
            else {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "experiment_id": run.info.experiment_id,
                "status": run.info.status,
                "parent_run_id": run.info.parent_run_id,
                "dataset_inputs": [i.to_dict() for i in run.inputs],
            },
        }
