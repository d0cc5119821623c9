"""The local transport: the services in-process on ``CLEW_HOME``, every call as the OS user.

This is what makes a notebook work with no server: SQLite and a local folder by default, or any
database and artifact root the settings name. It adds no rules of its own; every check lives in
the services, so local and HTTP behave the same (the SDK suite runs on both).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from clew.artifacts.model import FileInfo
from clew.client.identity_transport import LocalIdentity
from clew.client.jobs_transport import LocalJobs
from clew.client.lineage_transport import LocalLineage
from clew.client.logged_models_local import LocalLoggedModels
from clew.client.pipelines_transport import LocalPipelines
from clew.client.promotion_transport import LocalPromotions
from clew.client.registry_local import LocalRegistry
from clew.client.run_views_transport import LocalRunViews
from clew.core.actor import Actor
from clew.core.audit import AuditEvent, Verification
from clew.core.settings import Settings
from clew.platform import Platform
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


class LocalTransport(
    LocalRegistry,
    LocalLoggedModels,
    LocalPipelines,
    LocalJobs,
    LocalIdentity,
    LocalPromotions,
    LocalLineage,
    LocalRunViews,
):
    """Implements :class:`~clew.client.transport.Transport` by calling the services directly.

    Args:
        settings: where the data lives; ``Settings()`` (the ``CLEW_*`` environment) if omitted.
        platform: an already open platform to share (the transport then does not close it).
    """

    #: Calls stay in this process (``Client.is_remote``).
    is_remote = False

    def __init__(self, settings: Settings | None = None, platform: Platform | None = None) -> None:
        self._owns_platform = platform is None
        self.platform = platform if platform is not None else Platform.open(settings or Settings())
        self.actor = Actor.local_user()

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    # ---- experiments ---------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        return self.platform.tracking.create_experiment(self.actor, name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.platform.tracking.get_experiment(self.actor, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment:
        return self.platform.tracking.get_experiment_by_name(self.actor, name)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.platform.tracking.rename_experiment(self.actor, experiment_id, new_name)

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        self.platform.tracking.set_experiment_tags(self.actor, experiment_id, tags)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.platform.tracking.delete_experiment_tag(self.actor, experiment_id, key)

    def delete_experiment(self, experiment_id: str) -> None:
        self.platform.tracking.delete_experiment(self.actor, experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.platform.tracking.restore_experiment(self.actor, experiment_id)

    def search_experiments(
        self,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> Page[Experiment]:
        return self.platform.tracking.search_experiments(
            self.actor, filter_string, order_by, max_results, page_token, view_type
        )

    # ---- runs ----------------------------------------------------------------------------------

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
    ) -> Run:
        return self.platform.tracking.create_run(
            self.actor,
            experiment_id,
            run_name,
            start_time,
            tags,
            parent_run_id,
            params,
            metrics,
            status,
            end_time,
        )

    def get_run(self, run_id: str) -> Run:
        return self.platform.tracking.get_run(self.actor, run_id)

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        return self.platform.tracking.update_run(self.actor, run_id, status, end_time, run_name)

    def delete_run(self, run_id: str) -> None:
        self.platform.tracking.delete_run(self.actor, run_id)

    def restore_run(self, run_id: str) -> None:
        self.platform.tracking.restore_run(self.actor, run_id)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> None:
        self.platform.tracking.log_batch(self.actor, run_id, metrics, params, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.platform.tracking.delete_tag(self.actor, run_id, key)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.platform.tracking.log_inputs(self.actor, run_id, datasets)

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        start_step: int | None = None,
        end_step: int | None = None,
        max_points: int | None = None,
    ) -> MetricHistory:
        return self.platform.tracking.get_metric_history(
            self.actor, run_id, key, start_step, end_step, max_points
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        return self.platform.tracking.search_runs(
            self.actor, experiment_ids, filter_string, view_type, max_results, order_by, page_token
        )

    # ---- artifacts (the owner is a run id, or a logged model id) --------------------------------

    def log_artifact_stream(self, run_id: str, path: str, stream: BinaryIO) -> FileInfo:
        return self.platform.artifacts_of(run_id).log_stream(self.actor, run_id, path, stream)

    def log_artifact_dir(
        self, run_id: str, local_dir: Path, artifact_path: str | None
    ) -> list[FileInfo]:
        files = self.platform.artifacts_of(run_id)
        return list(files.log_dir(self.actor, run_id, local_dir, artifact_path))

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]:
        return list(self.platform.artifacts_of(run_id).list(self.actor, run_id, path))

    @contextmanager
    def open_artifact(self, run_id: str, path: str) -> Iterator[Iterator[bytes]]:
        _info, chunks = self.platform.artifacts_of(run_id).open(self.actor, run_id, path)
        try:
            yield chunks
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:  # a generator holding an open blob: release it now, not at GC
                close()

    def download_artifacts(self, run_id: str, path: str, dest_dir: Path) -> Path:
        return self.platform.artifacts_of(run_id).download(self.actor, run_id, path, dest_dir)

    # ---- audit ---------------------------------------------------------------------------------

    def verify_audit(self) -> Verification:
        return self.platform.audit.verify(self.actor)

    def write_audit_export(self, dest: Path, since_seq: int = 1) -> int:
        written = 0
        with Path(dest).open("wb") as out:
            for line in self.platform.audit.export(self.actor, since_seq):
                written += out.write(line)
        return written

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
    ) -> list[AuditEvent]:
        return self.platform.audit.list(
            self.actor,
            actor_name=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            since_ms=since_ms,
            until_ms=until_ms,
            after_seq=after_seq,
            limit=limit,
        )

    def close(self) -> None:
        if self._owns_platform:
            self.platform.close()
