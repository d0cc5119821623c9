"""Pipelines the server runs: the job half of :class:`~clew.client.client.Client` (a mixin).

``submit_pipeline(train, {"lr": 0.1})`` registers the pipeline's current definition (a
version named by its graph's digest; registering it again is free) and queues a run of exactly
that version; a worker in ``clew server`` (or ``clew scheduler``) runs it. The server imports
the steps by their ``module:function`` names, so their modules must be installed there and
listed in its ``CLEW_PIPELINE_MODULES``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clew.pipelines.job_records import Job, JobState, PipelineVersion, Schedule

if TYPE_CHECKING:
    from clew.client.transport import Transport


def _spec_of(pipeline: Any) -> Mapping[str, Any]:
    from clew.pipelines import serialize
    from clew.pipelines.graph import PipelineSpec

    spec = getattr(pipeline, "spec", pipeline)
    if isinstance(spec, PipelineSpec):
        return serialize.to_dict(spec)
    if isinstance(spec, Mapping):
        return spec
    raise TypeError("expected a @pipeline, a PipelineSpec or its JSON")


class JobMethods:
    transport: Transport

    def register_pipeline(self, pipeline: Any) -> PipelineVersion:
        """Store a ``@pipeline``'s definition on the server as a version (by graph digest)."""
        return self.transport.register_pipeline_version(_spec_of(pipeline))

    def list_pipeline_versions(
        self, pipeline: str | None = None, limit: int = 100
    ) -> list[PipelineVersion]:
        return self.transport.list_pipeline_versions(pipeline, limit)

    def submit_pipeline(
        self,
        pipeline: Any,
        params: Mapping[str, Any] | None = None,
        *,
        digest: str | None = None,
        cache: bool = True,
        executor: str = "threads",
    ) -> Job:
        """Queue a run. ``pipeline`` is a ``@pipeline`` (its definition is registered and that
        version runs) or the name of a registered one (its newest version, or ``digest``)."""
        name = pipeline if isinstance(pipeline, str) else None
        if name is None:
            version = self.register_pipeline(pipeline)
            name, digest = version.pipeline, version.digest
        return self.transport.submit_pipeline_job(
            name, digest=digest, params=dict(params or {}), cache=cache, executor=executor
        )

    def get_pipeline_job(self, job_id: str) -> Job:
        return self.transport.get_pipeline_job(job_id)

    def list_pipeline_jobs(
        self,
        pipeline: str | None = None,
        *,
        states: list[str] | None = None,
        schedule: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """Newest first, with the token of the next page."""
        return self.transport.list_pipeline_jobs(pipeline=pipeline, states=states,
                                                 schedule=schedule, limit=limit,
                                                 page_token=page_token)  # fmt: skip

    def cancel_pipeline_job(self, job_id: str) -> Job:
        return self.transport.cancel_pipeline_job(job_id)

    def resume_pipeline_job(self, job_id: str) -> Job:
        """A new job that resumes a failed or canceled job from the steps that finished."""
        return self.transport.resume_pipeline_job(job_id)

    def pipeline_job_steps(self, job_id: str) -> list[dict[str, Any]]:
        return self.transport.pipeline_job_steps(job_id)

    def pipeline_job_step_log(self, job_id: str, step: str) -> str:
        """What step run ``step`` (``fit``, ``fit[2]``) of the job printed; empty if nothing."""
        return self.transport.pipeline_job_step_log(job_id, step)

    def wait_pipeline_job(
        self, job_id: str, timeout: float | None = None, poll: float = 0.5
    ) -> Job:
        """The job once it has ended (``TimeoutError`` after ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_pipeline_job(job_id)
            if job.state in JobState.TERMINAL:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"pipeline job {job_id} is still {job.state}")
            time.sleep(poll)

    def create_pipeline_schedule(
        self,
        name: str,
        pipeline: str,
        *,
        cron: str | None = None,
        interval_s: int | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Schedule:
        """Jobs of a registered pipeline on a cron expression (UTC) or every ``interval_s``
        seconds; ``options``: ``digest``, ``cache``, ``executor``, ``catchup``,
        ``max_concurrency``, ``enabled``."""
        return self.transport.create_pipeline_schedule(
            name, pipeline, cron=cron, interval_s=interval_s, params=dict(params or {}), **options
        )

    def list_pipeline_schedules(self, pipeline: str | None = None) -> list[Schedule]:
        return self.transport.list_pipeline_schedules(pipeline)

    def set_pipeline_schedule_enabled(self, name: str, enabled: bool) -> Schedule:
        return self.transport.set_pipeline_schedule_enabled(name, enabled)

    def delete_pipeline_schedule(self, name: str) -> None:
        self.transport.delete_pipeline_schedule(name)
