"""The REST API of server-run pipelines: versions, jobs, schedules. Parse → ``JobService``.

Responses are the service's own records (``job_records``), which FastAPI documents as they are.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from pydantic import BaseModel, Field
from starlette.responses import PlainTextResponse, Response

from clew.pipelines.job_records import Job, PipelineVersion, Schedule
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["pipeline jobs"])

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
Hex32 = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, Field(min_length=1, max_length=250)]
PipelineName = Annotated[str, Field(min_length=1, max_length=500)]
ExecutorName = Annotated[str, Field(min_length=1, max_length=64)]


class RegisterVersion(BaseModel):
    spec: dict[str, Any]


class VersionsOut(BaseModel):
    versions: list[PipelineVersion]


class SubmitJob(BaseModel):
    pipeline: PipelineName
    digest: Digest | None = None
    params: dict[str, Any] = {}
    cache: bool = True
    executor: ExecutorName = "threads"
    resume_from: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None


class JobsOut(BaseModel):
    jobs: list[Job]
    next_page_token: str | None = None


class StepOut(BaseModel):
    step: str
    task: str
    run_id: str
    status: str
    state: str
    start_time: int | None
    end_time: int | None


class StepsOut(BaseModel):
    steps: list[StepOut]


class CreateSchedule(BaseModel):
    name: Name
    pipeline: PipelineName
    cron: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    interval_s: Annotated[int, Field(ge=1, le=366 * 86400)] | None = None
    digest: Digest | None = None
    params: dict[str, Any] = {}
    cache: bool = True
    executor: ExecutorName = "threads"
    catchup: bool = False
    max_concurrency: Annotated[int, Field(ge=1, le=100)] = 1
    enabled: bool = True


class UpdateSchedule(BaseModel):
    enabled: bool


class SchedulesOut(BaseModel):
    schedules: list[Schedule]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


# ---- versions ---------------------------------------------------------------------------------


@router.post("/pipelines/versions", status_code=201, response_model=PipelineVersion)
def register_pipeline_version(
    body: RegisterVersion, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Register a pipeline definition (``serialize.to_dict`` JSON) under its graph's digest;
    registering the same graph again returns the existing version."""
    return _json(platform.jobs.register_version(actor, body.spec).to_dict(), 201)


@router.get("/pipelines/versions", response_model=VersionsOut)
def list_pipeline_versions(
    platform: PlatformDep,
    actor: ActorDep,
    pipeline: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    found = platform.jobs.list_versions(actor, pipeline, limit)
    return _json({"versions": [x.to_dict() for x in found]})


@router.get("/pipelines/versions/{digest}", response_model=PipelineVersion)
def get_pipeline_version(
    digest: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], platform: PlatformDep, actor: ActorDep
) -> Response:
    return _json(platform.jobs.get_version(actor, digest).to_dict())


# ---- jobs -------------------------------------------------------------------------------------


@router.post("/pipeline-jobs", status_code=201, response_model=Job)
def submit_pipeline_job(body: SubmitJob, platform: PlatformDep, actor: ActorDep) -> Response:
    """Queue a run of a registered pipeline version (the newest when ``digest`` is left out);
    a worker in ``clew server`` or ``clew scheduler`` runs it."""
    job = platform.jobs.submit(
        actor,
        body.pipeline,
        digest=body.digest,
        params=body.params,
        cache=body.cache,
        executor=body.executor,
        resume_from=body.resume_from,
    )
    return _json(job.to_dict(), 201)


@router.get("/pipeline-jobs", response_model=JobsOut)
def list_pipeline_jobs(
    platform: PlatformDep,
    actor: ActorDep,
    pipeline: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    state: Annotated[list[str] | None, Query(max_length=5)] = None,
    schedule: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Newest first."""
    jobs, token = platform.jobs.list_jobs(actor, pipeline=pipeline, states=state,
                                          schedule=schedule, limit=limit,
                                          page_token=page_token)  # fmt: skip
    return _json({"jobs": [j.to_dict() for j in jobs], "next_page_token": token})


@router.get("/pipeline-jobs/{job_id}", response_model=Job)
def get_pipeline_job(job_id: Hex32, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.jobs.get_job(actor, job_id).to_dict())


@router.post("/pipeline-jobs/{job_id}/cancel", response_model=Job)
def cancel_pipeline_job(job_id: Hex32, platform: PlatformDep, actor: ActorDep) -> Response:
    """A queued job ends CANCELED at once; a running one stops within a lease renewal."""
    return _json(platform.jobs.cancel(actor, job_id).to_dict())


@router.post("/pipeline-jobs/{job_id}/resume", status_code=201, response_model=Job)
def resume_pipeline_job(job_id: Hex32, platform: PlatformDep, actor: ActorDep) -> Response:
    """A new job resuming this failed or canceled job's pipeline run."""
    return _json(platform.jobs.resume(actor, job_id).to_dict(), 201)


@router.get("/pipeline-jobs/{job_id}/steps", response_model=StepsOut)
def pipeline_job_steps(job_id: Hex32, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json({"steps": platform.jobs.steps(actor, job_id)})


@router.get(
    "/pipeline-jobs/{job_id}/steps/{step}/log",
    response_class=PlainTextResponse,
    responses={  # errors stay JSON, whatever the success's type
        code: {"content": {"application/json": {"schema": ERROR_SCHEMA}}} for code in ("4XX", "5XX")
    },
)
def pipeline_job_step_log(
    job_id: Hex32,
    step: Annotated[str, Path(min_length=1, max_length=500)],
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """What a step run printed (its last attempt), as text; empty if nothing."""
    return PlainTextResponse(platform.jobs.step_log(actor, job_id, step))


# ---- schedules --------------------------------------------------------------------------------


@router.post("/pipeline-schedules", status_code=201, response_model=Schedule)
def create_pipeline_schedule(
    body: CreateSchedule, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Jobs on a cron expression (five fields, UTC) or every ``interval_s`` seconds."""
    schedule = platform.schedules.create_schedule(
        actor,
        body.name,
        body.pipeline,
        cron=body.cron,
        interval_s=body.interval_s,
        digest=body.digest,
        params=body.params,
        cache=body.cache,
        executor=body.executor,
        catchup=body.catchup,
        max_concurrency=body.max_concurrency,
        enabled=body.enabled,
    )
    return _json(schedule.to_dict(), 201)


@router.get("/pipeline-schedules", response_model=SchedulesOut)
def list_pipeline_schedules(
    platform: PlatformDep,
    actor: ActorDep,
    pipeline: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
) -> Response:
    found = platform.schedules.list_schedules(actor, pipeline)
    return _json({"schedules": [s.to_dict() for s in found]})


@router.get("/pipeline-schedules/{name}", response_model=Schedule)
def get_pipeline_schedule(
    name: Annotated[str, Path(min_length=1, max_length=250)], platform: PlatformDep, actor: ActorDep
) -> Response:
    return _json(platform.schedules.get_schedule(actor, name).to_dict())


@router.patch("/pipeline-schedules/{name}", response_model=Schedule)
def update_pipeline_schedule(
    name: Annotated[str, Path(min_length=1, max_length=250)],
    body: UpdateSchedule,
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """Pause (``enabled: false``) or resume a schedule; resumed, it fires from now on."""
    return _json(platform.schedules.set_schedule_enabled(actor, name, body.enabled).to_dict())


@router.delete("/pipeline-schedules/{name}", status_code=204)
def delete_pipeline_schedule(
    name: Annotated[str, Path(min_length=1, max_length=250)], platform: PlatformDep, actor: ActorDep
) -> Response:
    """The schedule goes; the jobs it made stay."""
    platform.schedules.delete_schedule(actor, name)
    return Response(status_code=204)
