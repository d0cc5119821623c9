"""Server-run pipelines on both transports (mixins of the local and HTTP transports).

Local calls ``JobService`` in-process as the OS user; a job queued locally runs when a worker
on the same store picks it up (``clew scheduler``). HTTP calls ``/api/v1/pipeline-jobs`` and
friends. Submitting is not retried (a replay would queue a second run); reads, cancel and
schedule changes are idempotent and are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from clew.pipelines.job_records import Job, PipelineVersion, Schedule

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform

JobPage = tuple[list[Job], str | None]


class LocalJobs:
    platform: Platform
    actor: Actor

    def register_pipeline_version(self, spec: Mapping[str, Any]) -> PipelineVersion:
        return self.platform.jobs.register_version(self.actor, spec)

    def list_pipeline_versions(self, pipeline: str | None, limit: int) -> list[PipelineVersion]:
        return self.platform.jobs.list_versions(self.actor, pipeline, limit)

    def submit_pipeline_job(self, pipeline: str, **options: Any) -> Job:
        return self.platform.jobs.submit(self.actor, pipeline, **options)

    def get_pipeline_job(self, job_id: str) -> Job:
        return self.platform.jobs.get_job(self.actor, job_id)

    def list_pipeline_jobs(self, **filters: Any) -> JobPage:
        return self.platform.jobs.list_jobs(self.actor, **filters)

    def cancel_pipeline_job(self, job_id: str) -> Job:
        return self.platform.jobs.cancel(self.actor, job_id)

    def resume_pipeline_job(self, job_id: str) -> Job:
        return self.platform.jobs.resume(self.actor, job_id)

    def pipeline_job_steps(self, job_id: str) -> list[dict[str, Any]]:
        return self.platform.jobs.steps(self.actor, job_id)

    def pipeline_job_step_log(self, job_id: str, step: str) -> str:
        return self.platform.jobs.step_log(self.actor, job_id, step)

    def create_pipeline_schedule(self, name: str, pipeline: str, **options: Any) -> Schedule:
        return self.platform.schedules.create_schedule(self.actor, name, pipeline, **options)

    def list_pipeline_schedules(self, pipeline: str | None) -> list[Schedule]:
        return self.platform.schedules.list_schedules(self.actor, pipeline)

    def set_pipeline_schedule_enabled(self, name: str, enabled: bool) -> Schedule:
        return self.platform.schedules.set_schedule_enabled(self.actor, name, enabled)

    def delete_pipeline_schedule(self, name: str) -> None:
        self.platform.schedules.delete_schedule(self.actor, name)


def _version(data: dict[str, Any]) -> PipelineVersion:
    return PipelineVersion(**data)


class HttpJobs:
    _json: Callable[..., Any]
    request: Callable[..., Any]

    def register_pipeline_version(self, spec: Mapping[str, Any]) -> PipelineVersion:
        body = {"spec": dict(spec)}
        return _version(self._json("POST", "/pipelines/versions", body=body, idempotent=True))

    def list_pipeline_versions(self, pipeline: str | None, limit: int) -> list[PipelineVersion]:
        params = {"limit": limit, **({"pipeline": pipeline} if pipeline else {})}
        data = self._json("GET", "/pipelines/versions", params=params, idempotent=True)
        return [_version(v) for v in data["versions"]]

    def submit_pipeline_job(self, pipeline: str, **options: Any) -> Job:
        body = {"pipeline": pipeline, **{k: v for k, v in options.items() if v is not None}}
        return Job.from_dict(self._json("POST", "/pipeline-jobs", body=body))

    def get_pipeline_job(self, job_id: str) -> Job:
        return Job.from_dict(self._json("GET", f"/pipeline-jobs/{job_id}", idempotent=True))

    def list_pipeline_jobs(self, **filters: Any) -> JobPage:
        params = {k: v for k, v in filters.items() if v is not None}
        if "states" in params:
            params["state"] = params.pop("states")
        data = self._json("GET", "/pipeline-jobs", params=params, idempotent=True)
        return [Job.from_dict(j) for j in data["jobs"]], data.get("next_page_token")

    def cancel_pipeline_job(self, job_id: str) -> Job:
        path = f"/pipeline-jobs/{job_id}/cancel"
        return Job.from_dict(self._json("POST", path, idempotent=True))

    def resume_pipeline_job(self, job_id: str) -> Job:
        return Job.from_dict(self._json("POST", f"/pipeline-jobs/{job_id}/resume"))

    def pipeline_job_steps(self, job_id: str) -> list[dict[str, Any]]:
        data = self._json("GET", f"/pipeline-jobs/{job_id}/steps", idempotent=True)
        return list(data["steps"])

    def pipeline_job_step_log(self, job_id: str, step: str) -> str:
        path = f"/pipeline-jobs/{job_id}/steps/{quote(step, safe='')}/log"
        return str(self.request("GET", path, idempotent=True).text)

    def create_pipeline_schedule(self, name: str, pipeline: str, **options: Any) -> Schedule:
        body = {"name": name, "pipeline": pipeline,
                **{k: v for k, v in options.items() if v is not None}}  # fmt: skip
        return Schedule.from_dict(self._json("POST", "/pipeline-schedules", body=body))

    def list_pipeline_schedules(self, pipeline: str | None) -> list[Schedule]:
        params = {"pipeline": pipeline} if pipeline else {}
        data = self._json("GET", "/pipeline-schedules", params=params, idempotent=True)
        return [Schedule.from_dict(s) for s in data["schedules"]]

    def set_pipeline_schedule_enabled(self, name: str, enabled: bool) -> Schedule:
        path = f"/pipeline-schedules/{name}"
        data = self._json("PATCH", path, body={"enabled": enabled}, idempotent=True)
        return Schedule.from_dict(data)

    def delete_pipeline_schedule(self, name: str) -> None:
        self.request("DELETE", f"/pipeline-schedules/{name}", idempotent=True)
