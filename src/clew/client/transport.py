"""The one interface both transports implement: local (services in-process) and HTTP (REST).

``Client`` talks only to this protocol, so the SDK test suite runs unchanged on both. Methods
mirror the services minus the ``actor`` argument: the local transport supplies the OS user, the
HTTP transport's server derives the actor from the request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from clew.artifacts.model import FileInfo
from clew.core.audit_model import AuditEvent, Verification
from clew.lineage.model import LineageGraph
from clew.pipelines.job_records import Job, PipelineVersion, Schedule
from clew.pipelines.records import PipelineRunInfo, StepInput, StepOutput
from clew.registry.logged_model import (
    DatasetFilter,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOrder,
)
from clew.registry.model import (
    AliasHistory,
    ModelVersion,
    RegisteredModel,
    VersionFile,
    VersionVerification,
)
from clew.tracking.model import (
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    Page,
    Run,
    RunInfo,
    ViewType,
)


class Transport(Protocol):
    # experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def search_experiments(
        self,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> Page[Experiment]: ...

    # runs
    def create_run(
        self,
        experiment_id: str = "0",
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        params: Sequence[tuple[str, str]] = (),
        metrics: Sequence[Metric] = (),
        status: str | None = None,
        end_time: int | None = None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None: ...
    def get_metric_history(
        self, run_id: str, key: str, start_step: int | None = None, end_step: int | None = None
    ) -> MetricHistory: ...
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[Run]: ...

    # artifacts: the owner (``run_id``) is a run id, or a logged model id (``m-…``)
    def log_artifact_stream(self, run_id: str, path: str, stream: BinaryIO) -> FileInfo: ...
    def log_artifact_dir(
        self, run_id: str, local_dir: Path, artifact_path: str | None
    ) -> list[FileInfo]: ...
    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]: ...
    def open_artifact(self, run_id: str, path: str) -> AbstractContextManager[Iterator[bytes]]: ...
    def download_artifacts(self, run_id: str, path: str, dest_dir: Path) -> Path: ...

    # audit
    def verify_audit(self) -> Verification: ...
    def write_audit_export(self, dest: Path, since_seq: int = 1) -> int: ...
    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]: ...

    # model registry (issue 3)
    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...
    def update_registered_model(
        self, name: str, description: str | None = None
    ) -> RegisteredModel: ...
    def delete_registered_model(self, name: str) -> None: ...
    def set_registered_model_tags(self, name: str, tags: Mapping[str, str]) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...
    def search_registered_models(
        self,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]: ...
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        logged_model_id: str | None = None,
        status: str = "READY",
    ) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...
    def update_model_version(
        self,
        name: str,
        version: int | str,
        description: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
    ) -> ModelVersion: ...
    def delete_model_version(self, name: str, version: int | str) -> None: ...
    def set_model_version_tags(
        self, name: str, version: int | str, tags: Mapping[str, str]
    ) -> None: ...
    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None: ...
    def search_model_versions(
        self,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]: ...
    def list_model_version_files(self, name: str, version: int | str) -> list[VersionFile]: ...
    def verify_model_version(self, name: str, version: int | str) -> VersionVerification: ...
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None: ...
    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def resolve_model_uri(self, uri: str) -> ModelVersion: ...
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion: ...
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]: ...
    def alias_history(
        self, name: str, alias: str | None = None, at: int | None = None
    ) -> AliasHistory: ...

    # logged models (issue 3); their files go through the artifact methods above
    def create_logged_model(
        self,
        experiment_id: str | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        model_type: str | None = None,
        params: Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...
    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str | None = None
    ) -> LoggedModel: ...
    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None: ...
    def log_logged_model_metrics(
        self, model_id: str, metrics: Sequence[LoggedModelMetric]
    ) -> None: ...
    def search_logged_models(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        datasets: Sequence[DatasetFilter] = (),
        max_results: int = 100,
        order_by: Sequence[LoggedModelOrder] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]: ...
    def delete_logged_model(self, model_id: str) -> None: ...

    # pipelines the server runs
    def register_pipeline_version(self, spec: Mapping[str, Any]) -> PipelineVersion: ...
    def list_pipeline_versions(self, pipeline: str | None, limit: int) -> list[PipelineVersion]: ...
    def submit_pipeline_job(self, pipeline: str, **options: Any) -> Job: ...
    def get_pipeline_job(self, job_id: str) -> Job: ...
    def list_pipeline_jobs(self, **filters: Any) -> tuple[list[Job], str | None]: ...
    def cancel_pipeline_job(self, job_id: str) -> Job: ...
    def resume_pipeline_job(self, job_id: str) -> Job: ...
    def pipeline_job_steps(self, job_id: str) -> list[dict[str, Any]]: ...
    def pipeline_job_step_log(self, job_id: str, step: str) -> str: ...
    def create_pipeline_schedule(self, name: str, pipeline: str, **options: Any) -> Schedule: ...
    def list_pipeline_schedules(self, pipeline: str | None) -> list[Schedule]: ...
    def set_pipeline_schedule_enabled(self, name: str, enabled: bool) -> Schedule: ...
    def delete_pipeline_schedule(self, name: str) -> None: ...

    # pipeline lineage
    def start_pipeline_run(self, pipeline: str, run_id: str, digest: str) -> PipelineRunInfo: ...
    def record_pipeline_step(
        self,
        pipeline_run_id: str,
        step_run_id: str,
        outputs: Sequence[StepOutput] = (),
        inputs: Sequence[StepInput] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
    ) -> None: ...
    def finish_pipeline_run(self, run_id: str, state: str) -> PipelineRunInfo: ...
    def get_pipeline_run(self, run_id: str) -> PipelineRunInfo: ...
    def pipeline_run_heartbeat(self, run_id: str, interval_s: float) -> PipelineRunInfo: ...
    def pipeline_step_edges(
        self, run_id: str, step_run_ids: Sequence[str]
    ) -> list[tuple[str, str, str, int, str]]: ...

    # lineage
    def get_lineage(
        self, run_id: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph: ...
    def get_artifact_lineage(
        self, ref: str, direction: str = "both", depth: int = 10, max_nodes: int = 2000
    ) -> LineageGraph: ...

    def close(self) -> None: ...
