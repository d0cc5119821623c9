"""Pipelines run by the server: registered versions and jobs. One transaction each.

A user registers a pipeline version (its graph as JSON; steps are ``module:function``
references the worker imports, as Kubeflow's components name images) and submits a job: run
that version with these parameters. Workers (``worker.PipelineWorker``, in every ``clew
server`` and ``clew scheduler``) claim jobs, and fire due schedules into jobs
(``schedules``); every hand-over is a compare-and-set in ``jobs_store``, so with several
replicas on one database a job runs once.

A worker holds a job by a lease it renews while the engine runs. A worker that dies stops
renewing; the next worker to look marks its job FAILED ("its worker stopped"), and the job can
be resumed from the steps that finished.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from clew.artifacts.service import ArtifactService
from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission
from clew.core.db import Database, retry_conflicts
from clew.core.errors import InvalidInput, InvalidPageToken, NotFound
from clew.core.ids import check_run_id, now_ms
from clew.pipelines import serialize, step_logs
from clew.pipelines.graph import PipelineDefinitionError
from clew.pipelines.job_checks import (
    check_limit,
    check_params,
    check_steps_allowed,
    job_options,
    json_params,
    pipeline_resource,
    readable_pipelines,
    version_of,
)
from clew.pipelines.job_records import Job, JobState, PipelineVersion, Schedule
from clew.pipelines.jobs_store import JobStore
from clew.pipelines.run_tags import PIPELINE_RUN_TAG, STATE_TAG, STEP_TAG
from clew.pipelines.store import PIPELINE_RUN, PipelineStore
from clew.tracking import validation as v
from clew.tracking.service import TrackingService

__all__ = ["Job", "JobService", "JobState", "PipelineVersion", "Schedule"]


def _new_id() -> str:
    return uuid.uuid4().hex


class JobService:
    """``allowed_modules``: the module prefixes server-run steps may come from (see
    ``check_steps_allowed``); empty refuses every job and schedule."""

    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        tracking: TrackingService,
        artifacts: ArtifactService,
        allowed_modules: tuple[str, ...] = (),
    ) -> None:
        self.db = db
        self.authz = authz
        self.tracking = tracking
        self.artifacts = artifacts
        self.allowed_modules = allowed_modules

    # ---- versions -----------------------------------------------------------------------------

    @retry_conflicts
    def register_version(self, actor: Actor, spec: Mapping[str, Any]) -> PipelineVersion:
        """Store a pipeline definition under its digest; registering it again is a no-op."""
        if not isinstance(spec, Mapping):
            raise InvalidInput("A pipeline version is the JSON of a pipeline definition")
        parsed = serialize.from_dict(spec)  # the DSL's own validation, naming the step
        if not parsed.tasks:
            raise PipelineDefinitionError(f"pipeline {parsed.name!r} has no steps to run")
        v.check_name("Pipeline", parsed.name)
        self.authz.check(actor, Permission.EDIT, pipeline_resource(parsed.name))
        canonical = serialize.to_dict(parsed)
        version = PipelineVersion(
            pipeline=parsed.name,
            digest=serialize.digest(parsed),
            created_at=now_ms(),
            created_by=actor.name,
            spec=canonical,
        )
        with self.db.write() as conn:
            store = JobStore(conn)
            if not store.add_version(version, audit.canonical_json(canonical).decode()):
                found = store.version(version.digest)
                assert found is not None
                return found
            audit.append(conn, actor, "pipeline_version.register", "pipeline", parsed.name,
                         {"digest": version.digest})  # fmt: skip
        return version

    def get_version(self, actor: Actor, digest: str) -> PipelineVersion:
        with self.db.read() as conn:
            found = JobStore(conn).version(digest)
        if found is None:
            raise NotFound("No such pipeline version", digest=digest)
        self.authz.check(actor, Permission.READ, pipeline_resource(found.pipeline))
        return found

    def list_versions(
        self, actor: Actor, pipeline: str | None = None, limit: int = 100
    ) -> list[PipelineVersion]:
        check_limit(limit)
        only = readable_pipelines(self.authz, actor)
        with self.db.read() as conn:
            return JobStore(conn).versions(pipeline, limit, only)

    # ---- jobs ---------------------------------------------------------------------------------

    @retry_conflicts
    def submit(
        self,
        actor: Actor,
        pipeline: str,
        *,
        digest: str | None = None,
        params: Mapping[str, Any] | None = None,
        cache: bool = True,
        executor: str = "threads",
        resume_from: str | None = None,
    ) -> Job:
        """Queue a run of ``pipeline`` (version ``digest``, or its newest) for a worker."""
        v.check_name("Pipeline", pipeline)
        self.authz.check(actor, Permission.EDIT, pipeline_resource(pipeline))
        options = job_options(cache, executor)
        given = json_params(params)
        if resume_from is not None:
            check_run_id(resume_from)
        with self.db.write() as conn:
            store = JobStore(conn)
            version = version_of(store, pipeline, digest)
            check_steps_allowed(version, self.allowed_modules)
            check_params(version, given, resume=resume_from is not None)
            if resume_from is not None:
                _check_resumable(PipelineStore(conn), pipeline, resume_from)
            job = Job(
                id=_new_id(),
                pipeline=pipeline,
                digest=version.digest,
                params=given,
                options=options,
                state=JobState.QUEUED,
                message="",
                requested_by=actor.name,
                created_at=now_ms(),
                resume_from=resume_from,
            )
            store.add_job(job)
            audit.append(conn, actor, "pipeline_job.submit", "pipeline_job", job.id, {
                "pipeline": pipeline, "digest": version.digest, "params": given,
                **({"resume_from": resume_from} if resume_from else {}),
            })  # fmt: skip
        return job

    def get_job(self, actor: Actor, job_id: str) -> Job:
        with self.db.read() as conn:
            job = _require_job(JobStore(conn), job_id)
        self.authz.check(actor, Permission.READ, pipeline_resource(job.pipeline))
        return job

    def list_jobs(
        self,
        actor: Actor,
        *,
        pipeline: str | None = None,
        states: list[str] | None = None,
        schedule: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """Newest first; the token continues after the last job of a full page."""
        check_limit(limit)
        for state in states or []:
            if state not in JobState.ALL:
                raise InvalidInput(f"state must be one of {list(JobState.ALL)}")
        before = _decode_token(page_token)
        with self.db.read() as conn:
            store = JobStore(conn)
            schedule_id = None
            if schedule is not None:
                found = store.schedule(schedule)
                if found is None:
                    raise NotFound("No such schedule", name=schedule)
                schedule_id = found.id
            jobs = store.jobs(pipeline=pipeline, states=states, schedule_id=schedule_id,
                              before=before, limit=limit,
                              only=readable_pipelines(self.authz, actor))  # fmt: skip
        token = _encode_token(jobs[-1]) if len(jobs) == limit else None
        return jobs, token

    @retry_conflicts
    def cancel(self, actor: Actor, job_id: str) -> Job:
        """A queued job ends CANCELED now; a running one is asked to stop (its worker cancels
        the engine at its next lease renewal, and Finally steps still run)."""
        with self.db.write() as conn:
            store = JobStore(conn)
            job = _require_job(store, job_id)
            self.authz.check(actor, Permission.EDIT, pipeline_resource(job.pipeline))
            if job.state in (JobState.SUCCEEDED, JobState.FAILED):
                raise InvalidInput(f"Job {job_id} already ended {job.state}; it cannot be canceled")
            now = now_ms()
            if job.state == JobState.QUEUED:
                store.set_job(job_id, {"state": JobState.QUEUED}, state=JobState.CANCELED,
                              ended_at=now, message="canceled before it started")  # fmt: skip
            elif job.state == JobState.RUNNING:
                store.set_job(job_id, {"state": JobState.RUNNING}, cancel_requested=True)
            audit.append(conn, actor, "pipeline_job.cancel", "pipeline_job", job_id,
                         {"pipeline": job.pipeline, "was": job.state})  # fmt: skip
            found = store.job(job_id)
        assert found is not None
        return found

    def resume(self, actor: Actor, job_id: str) -> Job:
        """A new job that resumes this one's pipeline run from the steps that finished."""
        job = self.get_job(actor, job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELED) or job.run_id is None:
            raise InvalidInput(
                f"Job {job_id} is {job.state}"
                + ("" if job.run_id else " and never started a pipeline run")
                + "; only a failed or canceled run can be resumed"
            )
        return self.submit(
            actor,
            job.pipeline,
            digest=job.digest,
            cache=bool(job.options.get("cache", True)),
            executor=str(job.options.get("executor", "threads")),
            resume_from=job.run_id,
        )

    def steps(self, actor: Actor, job_id: str) -> list[dict[str, Any]]:
        """The step runs of a job's pipeline run, as tracked (empty before it starts)."""
        job = self.get_job(actor, job_id)
        if job.run_id is None:
            return []
        root = self.tracking.get_run(actor, job.run_id)
        filter_string = f"tags.`{PIPELINE_RUN_TAG}` = '{job.run_id}'"
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.tracking.search_runs(actor, [root.info.experiment_id], filter_string,
                                             max_results=1000, order_by=["attributes.start_time"],
                                             page_token=token)  # fmt: skip
            for run in page.items:
                tags = run.data.tags
                found.append({
                    "step": run.info.run_name, "task": tags.get(STEP_TAG, ""),
                    "run_id": run.info.run_id, "status": run.info.status,
                    "state": tags.get(STATE_TAG, ""), "start_time": run.info.start_time,
                    "end_time": run.info.end_time,
                })  # fmt: skip
            token = page.next_page_token
            if not token:
                return found

    def step_log(self, actor: Actor, job_id: str, step: str) -> str:
        """What step run ``step`` (``fit`` or ``fit[2]``) of a job printed (``step_logs``)."""
        found = [s for s in self.steps(actor, job_id) if s["step"] == step]
        if not found:
            raise NotFound("The job has no such step run", job_id=job_id, step=step)
        try:
            _, chunks = self.artifacts.open(actor, found[0]["run_id"], step_logs.PATH)
        except NotFound:
            return ""  # it printed nothing
        return b"".join(chunks).decode("utf-8", "replace")

    # ---- what workers do ----------------------------------------------------------------------

    @retry_conflicts
    def claim(self, worker: str, lease_ms: int) -> tuple[Job, PipelineVersion] | None:
        """Take the oldest queued job: RUNNING, held by ``worker`` until the lease ends."""
        with self.db.write() as conn:
            store = JobStore(conn)
            now = now_ms()
            for job_id in store.oldest_queued(8):
                if store.set_job(job_id, {"state": JobState.QUEUED}, state=JobState.RUNNING,
                                 worker=worker, started_at=now,
                                 lease_until=now + lease_ms):  # fmt: skip
                    job = store.job(job_id)
                    assert job is not None
                    version = store.version(job.digest)
                    assert version is not None
                    audit.append(conn, Actor.system(), "pipeline_job.start", "pipeline_job",
                                 job_id, {"worker": worker})  # fmt: skip
                    return job, version
        return None

    @retry_conflicts
    def renew(self, job_id: str, worker: str, lease_ms: int, run_id: str | None) -> bool | None:
        """Extend ``worker``'s lease (and record the pipeline run once there is one). Returns
        whether a cancel was asked for, or None if the job is no longer this worker's."""
        with self.db.write() as conn:
            store = JobStore(conn)
            values: dict[str, Any] = {"lease_until": now_ms() + lease_ms}
            if run_id is not None:
                values["run_id"] = run_id
            if not store.set_job(job_id, {"state": JobState.RUNNING, "worker": worker}, **values):
                return None
            job = store.job(job_id)
        assert job is not None
        return job.cancel_requested

    @retry_conflicts
    def finish(
        self, job_id: str, worker: str, state: str, message: str, run_id: str | None
    ) -> bool:
        """End a job this worker holds; False if it lost the job (its lease ran out)."""
        if state not in JobState.TERMINAL:
            raise InvalidInput(f"state must be one of {list(JobState.TERMINAL)}")
        with self.db.write() as conn:
            store = JobStore(conn)
            values: dict[str, Any] = {"state": state, "message": message[:4000],
                                      "ended_at": now_ms(), "lease_until": None}  # fmt: skip
            if run_id is not None:
                values["run_id"] = run_id
            if not store.set_job(job_id, {"state": JobState.RUNNING, "worker": worker}, **values):
                return False
            audit.append(conn, Actor.system(), "pipeline_job.finish", "pipeline_job", job_id,
                         {"state": state, "run_id": run_id})  # fmt: skip
        return True

    @retry_conflicts
    def fail_lapsed(self) -> list[str]:
        """Jobs whose worker stopped renewing its lease end FAILED, resumable."""
        ended: list[str] = []
        with self.db.write() as conn:
            store = JobStore(conn)
            now = now_ms()
            for job in store.lapsed(now):
                message = (
                    f"its worker {job.worker} stopped renewing its lease; "
                    "resume it to reuse the steps that finished"
                )
                if store.set_job(job.id, {"state": JobState.RUNNING, "worker": job.worker},
                                 state=JobState.FAILED, ended_at=now, lease_until=None,
                                 message=message):  # fmt: skip
                    audit.append(conn, Actor.system(), "pipeline_job.lost", "pipeline_job",
                                 job.id, {"worker": job.worker})  # fmt: skip
                    ended.append(job.id)
        return ended


def _check_resumable(store: PipelineStore, pipeline: str, run_id: str) -> None:
    row = store.context(PIPELINE_RUN, run_id)
    if row is None or store.context_tags(int(row.id)).get("pipeline") != pipeline:
        raise NotFound("No such run of this pipeline to resume", pipeline=pipeline, run_id=run_id)


def _require_job(store: JobStore, job_id: str) -> Job:
    if not isinstance(job_id, str) or len(job_id) != 32:
        raise NotFound("No such pipeline job", job_id=job_id)
    found = store.job(job_id)
    if found is None:
        raise NotFound("No such pipeline job", job_id=job_id)
    return found


def _decode_token(token: str | None) -> tuple[int, str] | None:
    if not token:
        return None
    created, _, job_id = token.partition(":")
    if not created.isdigit() or len(job_id) != 32:
        raise InvalidPageToken("Invalid page token")
    return int(created), job_id


def _encode_token(job: Job) -> str:
    return f"{job.created_at}:{job.id}"
