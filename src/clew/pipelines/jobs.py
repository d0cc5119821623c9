"""Pipelines run by the server: registered versions, jobs, schedules. One transaction each.

A user registers a pipeline version (its graph as JSON; steps are ``module:function``
references the worker imports, as Kubeflow's components name images) and submits a job: run
that version with these parameters. Workers (``worker.PipelineWorker``, in every ``clew
server`` and ``clew scheduler``) fire due schedules into jobs and claim jobs; every step of
that is a compare-and-set in ``jobs_store``, so with several replicas on one database a job
runs once and a schedule fires once per time.

A worker holds a job by a lease it renews while the engine runs. A worker that dies stops
renewing; the next worker to look marks its job FAILED ("its worker stopped"), and the job can
be resumed from the steps that finished.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Final

import orjson

from clew.artifacts.service import ArtifactService
from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission, Resource
from clew.core.db import Database, retry_conflicts
from clew.core.errors import AlreadyExists, InvalidInput, InvalidPageToken, NotFound
from clew.core.ids import check_run_id, now_ms
from clew.pipelines import cron as cron_expr
from clew.pipelines import serialize, step_logs
from clew.pipelines.engine import bind_params
from clew.pipelines.executors import BUILT_IN, ENTRY_POINT_GROUP
from clew.pipelines.flatten import flatten
from clew.pipelines.graph import PipelineDefinitionError
from clew.pipelines.job_records import Job, JobState, PipelineVersion, Schedule
from clew.pipelines.jobs_store import JobStore, dumps
from clew.pipelines.store import PIPELINE_RUN, PipelineStore
from clew.pipelines.tracking import PIPELINE_RUN_TAG, STATE_TAG, STEP_TAG
from clew.tracking import validation as v
from clew.tracking.service import TrackingService

__all__ = ["Job", "JobService", "JobState", "PipelineVersion", "Schedule"]

#: Jobs a schedule makes in one firing when it catches up on missed times.
MAX_CATCHUP: Final = 100
_MIN_INTERVAL_S: Final = 1
_MAX_PAGE: Final = 1000
_MAX_CRON_WALK: Final = 20_000


def _resource(pipeline: str) -> Resource:
    return Resource("pipeline", pipeline)


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
        self.authz.check(actor, Permission.EDIT, _resource(parsed.name))
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
            if not store.add_version(version, dumps(canonical)):
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
        self.authz.check(actor, Permission.READ, _resource(found.pipeline))
        return found

    def list_versions(
        self, actor: Actor, pipeline: str | None = None, limit: int = 100
    ) -> list[PipelineVersion]:
        _check_limit(limit)
        with self.db.read() as conn:
            found = JobStore(conn).versions(pipeline, limit)
        return [x for x in found if self._can_read(actor, x.pipeline)]

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
        self.authz.check(actor, Permission.EDIT, _resource(pipeline))
        options = _options(cache, executor)
        given = _params(params)
        if resume_from is not None:
            check_run_id(resume_from)
        with self.db.write() as conn:
            store = JobStore(conn)
            version = _version_of(store, pipeline, digest)
            check_steps_allowed(version, self.allowed_modules)
            _check_params(version, given, resume=resume_from is not None)
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
        self.authz.check(actor, Permission.READ, _resource(job.pipeline))
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
        _check_limit(limit)
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
                              before=before, limit=limit)  # fmt: skip
        token = _encode_token(jobs[-1]) if len(jobs) == limit else None
        return [j for j in jobs if self._can_read(actor, j.pipeline)], token

    @retry_conflicts
    def cancel(self, actor: Actor, job_id: str) -> Job:
        """A queued job ends CANCELED now; a running one is asked to stop (its worker cancels
        the engine at its next lease renewal, and Finally steps still run)."""
        with self.db.write() as conn:
            store = JobStore(conn)
            job = _require_job(store, job_id)
            self.authz.check(actor, Permission.EDIT, _resource(job.pipeline))
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

    # ---- schedules ----------------------------------------------------------------------------

    @retry_conflicts
    def create_schedule(
        self,
        actor: Actor,
        name: str,
        pipeline: str,
        *,
        cron: str | None = None,
        interval_s: int | None = None,
        digest: str | None = None,
        params: Mapping[str, Any] | None = None,
        cache: bool = True,
        executor: str = "threads",
        catchup: bool = False,
        max_concurrency: int = 1,
        enabled: bool = True,
        start_at: int | None = None,
    ) -> Schedule:
        """Jobs of ``pipeline`` on a cron expression (UTC) or every ``interval_s`` seconds.

        ``catchup`` makes a job for every time missed while no scheduler ran (at most
        ``MAX_CATCHUP``); otherwise only the latest. A firing while ``max_concurrency`` of the
        schedule's jobs are queued or running makes no job.
        """
        v.check_name("Schedule", name)
        v.check_name("Pipeline", pipeline)
        self.authz.check(actor, Permission.EDIT, _resource(pipeline))
        _check_timing(cron, interval_s)
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= 100:
            raise InvalidInput("max_concurrency must be between 1 and 100")
        options = _options(cache, executor)
        given = _params(params)
        now = now_ms()
        first = start_at if start_at is not None else _next_fire(cron, interval_s, now)
        with self.db.write() as conn:
            store = JobStore(conn)
            if store.schedule(name) is not None:
                raise AlreadyExists("A schedule with this name exists", name=name)
            version = _version_of(store, pipeline, digest)
            check_steps_allowed(version, self.allowed_modules)
            _check_params(version, given, resume=False)
            schedule = Schedule(
                id=_new_id(),
                name=name,
                pipeline=pipeline,
                digest=digest,
                params=given,
                options=options,
                cron=cron,
                interval_s=interval_s,
                catchup=bool(catchup),
                max_concurrency=max_concurrency,
                enabled=bool(enabled),
                next_fire_at=first,
                last_fire_at=None,
                created_by=actor.name,
                created_at=now,
                updated_at=now,
            )
            store.add_schedule(schedule)
            audit.append(conn, actor, "pipeline_schedule.create", "pipeline_schedule", name, {
                "pipeline": pipeline, "cron": cron, "interval_s": interval_s, "digest": digest,
            })  # fmt: skip
        return schedule

    def get_schedule(self, actor: Actor, name: str) -> Schedule:
        with self.db.read() as conn:
            found = JobStore(conn).schedule(name)
        if found is None:
            raise NotFound("No such schedule", name=name)
        self.authz.check(actor, Permission.READ, _resource(found.pipeline))
        return found

    def list_schedules(self, actor: Actor, pipeline: str | None = None) -> list[Schedule]:
        with self.db.read() as conn:
            found = JobStore(conn).schedules(pipeline)
        return [s for s in found if self._can_read(actor, s.pipeline)]

    @retry_conflicts
    def set_schedule_enabled(self, actor: Actor, name: str, enabled: bool) -> Schedule:
        """Pause or resume a schedule; resuming starts from the next time after now."""
        with self.db.write() as conn:
            store = JobStore(conn)
            found = store.schedule(name)
            if found is None:
                raise NotFound("No such schedule", name=name)
            self.authz.check(actor, Permission.EDIT, _resource(found.pipeline))
            now = now_ms()
            values: dict[str, Any] = {"enabled": bool(enabled), "updated_at": now}
            if enabled and not found.enabled:
                values["next_fire_at"] = _next_fire(found.cron, found.interval_s, now)
            store.set_schedule(found.id, {}, **values)
            audit.append(conn, actor, "pipeline_schedule.update", "pipeline_schedule", name,
                         {"enabled": bool(enabled)})  # fmt: skip
            changed = store.schedule(name)
        assert changed is not None
        return changed

    @retry_conflicts
    def delete_schedule(self, actor: Actor, name: str) -> None:
        with self.db.write() as conn:
            store = JobStore(conn)
            found = store.schedule(name)
            if found is None:
                raise NotFound("No such schedule", name=name)
            self.authz.check(actor, Permission.EDIT, _resource(found.pipeline))
            store.delete_schedule(found.id)
            audit.append(conn, actor, "pipeline_schedule.delete", "pipeline_schedule", name,
                         {"pipeline": found.pipeline})  # fmt: skip

    @retry_conflicts
    def fire_due(self, now: int | None = None, limit: int = 50) -> list[str]:
        """Make the jobs of every due schedule; returns their ids.

        Each schedule's ``next_fire_at`` moves forward by compare-and-set, and each job it
        makes is unique on ``(schedule, fire time)``: a scheduler that lost the race to another
        makes nothing, whichever statement it lost on.
        """
        now = now_ms() if now is None else now
        made: list[str] = []
        with self.db.write() as conn:
            store = JobStore(conn)
            for schedule in store.due(now, limit):
                times = _missed(schedule, now)
                if not store.set_schedule(schedule.id, {"next_fire_at": schedule.next_fire_at},
                                          next_fire_at=_next_fire(schedule.cron,
                                                                  schedule.interval_s, now),
                                          last_fire_at=times[-1]):  # fmt: skip
                    continue  # another scheduler fired it
                made.extend(self._fire(store, conn, schedule, times, now))
        return made

    def _fire(
        self, store: JobStore, conn: Any, schedule: Schedule, times: list[int], now: int
    ) -> list[str]:
        made: list[str] = []
        version = (
            store.version(schedule.digest)
            if schedule.digest
            else store.latest_version(schedule.pipeline)
        )
        active = store.active_of_schedule(schedule.id)
        for fire_at in times:
            if version is None or active >= schedule.max_concurrency:
                why = "no version" if version is None else "max_concurrency reached"
                audit.append(conn, Actor.system(), "pipeline_schedule.skip", "pipeline_schedule",
                             schedule.name, {"fire_at": fire_at, "why": why})  # fmt: skip
                continue
            job = Job(
                id=_new_id(),
                pipeline=schedule.pipeline,
                digest=version.digest,
                params=schedule.params,
                options=schedule.options,
                state=JobState.QUEUED,
                message="",
                requested_by=f"schedule:{schedule.name}",
                created_at=now,
                schedule_id=schedule.id,
                fire_at=fire_at,
            )
            if store.add_job(job):
                active += 1
                made.append(job.id)
                audit.append(conn, Actor.system(), "pipeline_job.submit", "pipeline_job", job.id,
                             {"pipeline": schedule.pipeline, "digest": version.digest,
                              "schedule": schedule.name, "fire_at": fire_at})  # fmt: skip
        return made

    # ---- helpers ------------------------------------------------------------------------------

    def _can_read(self, actor: Actor, pipeline: str) -> bool:
        try:
            self.authz.check(actor, Permission.READ, _resource(pipeline))
        except Exception:
            return False
        return True


def check_steps_allowed(version: PipelineVersion, allowed: tuple[str, ...]) -> None:
    """Every step of ``version`` is a module-level name in a module under ``allowed``.

    A server that imports and calls what a request names runs the requester's choice of code;
    the allowlist keeps that to the team's pipeline modules. The name must be one identifier
    (``module:fit``, not ``module:os.system``); the worker also checks that it is a ``@step``.
    """
    if not allowed:
        raise InvalidInput(
            "This server runs no pipeline jobs: set CLEW_PIPELINE_MODULES to the modules "
            "whose steps it may run"
        )
    assert version.spec is not None
    for task in flatten(serialize.from_dict(version.spec)).tasks:
        ref = task.step or ""
        module, _, name = ref.partition(":")
        if not name.isidentifier() or name.startswith("_"):
            raise InvalidInput(f"step {task.name!r}: {ref!r} is not a module-level step")
        if not any(module == m or module.startswith(m + ".") for m in allowed):
            raise InvalidInput(
                f"step {task.name!r}: module {module!r} is not in CLEW_PIPELINE_MODULES",
                step=task.name,
            )


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {_MAX_PAGE}")


def _options(cache: bool, executor: str) -> dict[str, Any]:
    known = {*BUILT_IN, *(e.name for e in metadata.entry_points(group=ENTRY_POINT_GROUP))}
    if executor not in known:
        raise InvalidInput(f"unknown executor {executor!r}; known: {', '.join(sorted(known))}")
    return {"cache": bool(cache), "executor": executor}


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    given = dict(params or {})
    try:
        orjson.dumps(given)
    except TypeError as exc:
        raise InvalidInput(f"Parameters must be JSON values: {exc}") from None
    return given


def _version_of(store: JobStore, pipeline: str, digest: str | None) -> PipelineVersion:
    if digest is None:
        found = store.latest_version(pipeline)
        if found is None:
            raise NotFound("The pipeline has no registered version", pipeline=pipeline)
        return found
    found = store.version(digest)
    if found is None or found.pipeline != pipeline:
        raise NotFound("The pipeline has no such version", pipeline=pipeline, digest=digest)
    return found


def _check_params(version: PipelineVersion, given: dict[str, Any], *, resume: bool) -> None:
    """The parameters the run will bind, checked now so a bad submit fails with a 400."""
    assert version.spec is not None
    spec = flatten(serialize.from_dict(version.spec))
    if resume:  # missing values come from the run it resumes
        known = {p.name for p in spec.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise InvalidInput(f"pipeline {spec.name!r} has no parameters {unknown}")
        return
    bind_params(spec, given)


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


def _check_timing(cron: str | None, interval_s: int | None) -> None:
    if (cron is None) == (interval_s is None):
        raise InvalidInput("A schedule needs exactly one of cron and interval_s")
    if cron is not None:
        cron_expr.parse(cron)
    elif not isinstance(interval_s, int) or interval_s < _MIN_INTERVAL_S:
        raise InvalidInput(
            f"interval_s must be a whole number of seconds, at least {_MIN_INTERVAL_S}"
        )


def _next_fire(cron: str | None, interval_s: int | None, after_ms: int) -> int:
    """The first fire time strictly after ``after_ms``."""
    if cron is not None:
        after = datetime.fromtimestamp(after_ms / 1000, UTC)
        return int(cron_expr.parse(cron).next_after(after).timestamp() * 1000)
    assert interval_s is not None
    return after_ms + interval_s * 1000


def _missed(schedule: Schedule, now: int) -> list[int]:
    """The fire times a firing at ``now`` stands for: with catch-up, every one due since
    ``next_fire_at`` (the newest ``MAX_CATCHUP``), else only the newest."""
    keep = MAX_CATCHUP if schedule.catchup else 1
    first = schedule.next_fire_at
    if schedule.interval_s is not None:
        step = schedule.interval_s * 1000
        count = (now - first) // step + 1
        return [first + i * step for i in range(max(0, count - keep), count)]
    times: deque[int] = deque([first], maxlen=keep)
    for _ in range(_MAX_CRON_WALK):  # a minutely cron stopped for a fortnight
        following = _next_fire(schedule.cron, None, times[-1])
        if following > now:
            break
        times.append(following)
    return list(times)


def _decode_token(token: str | None) -> tuple[int, str] | None:
    if not token:
        return None
    created, _, job_id = token.partition(":")
    if not created.isdigit() or len(job_id) != 32:
        raise InvalidPageToken("Invalid page token")
    return int(created), job_id


def _encode_token(job: Job) -> str:
    return f"{job.created_at}:{job.id}"
