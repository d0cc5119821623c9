"""Schedules: jobs of a registered pipeline on a cron expression (UTC) or an interval.

Any number of schedulers (the worker in every ``clew server`` and ``clew scheduler``) call
``fire_due``. Firing moves a schedule's ``next_fire_at`` by compare-and-set, and each job it
makes is unique on ``(schedule, fire time)``: a scheduler that lost the race to another makes
nothing, whichever statement it lost on, so a time fires once however many replicas run.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission
from clew.core.db import Database, retry_conflicts
from clew.core.errors import AlreadyExists, InvalidInput, NotFound
from clew.core.ids import now_ms
from clew.pipelines import cron as cron_expr
from clew.pipelines.job_checks import (
    check_params,
    check_steps_allowed,
    job_options,
    json_params,
    pipeline_resource,
    readable_pipelines,
    version_of,
)
from clew.pipelines.job_records import Job, JobState, Schedule
from clew.pipelines.jobs_store import JobStore
from clew.tracking import validation as v

#: Jobs a schedule makes in one firing when it catches up on missed times.
MAX_CATCHUP: Final = 100
_MIN_INTERVAL_S: Final = 1
_MAX_CRON_WALK: Final = 20_000


class ScheduleService:
    """``allowed_modules`` as for ``JobService``: a schedule of steps the server may not run is
    refused when it is made."""

    def __init__(
        self, db: Database, authz: Authorizer, allowed_modules: tuple[str, ...] = ()
    ) -> None:
        self.db = db
        self.authz = authz
        self.allowed_modules = allowed_modules

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
        self.authz.check(actor, Permission.EDIT, pipeline_resource(pipeline))
        _check_timing(cron, interval_s)
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= 100:
            raise InvalidInput("max_concurrency must be between 1 and 100")
        options = job_options(cache, executor)
        given = json_params(params)
        now = now_ms()
        first = start_at if start_at is not None else _next_fire(cron, interval_s, now)
        with self.db.write() as conn:
            store = JobStore(conn)
            if store.schedule(name) is not None:
                raise AlreadyExists("A schedule with this name exists", name=name)
            version = version_of(store, pipeline, digest)
            check_steps_allowed(version, self.allowed_modules)
            check_params(version, given, resume=False)
            schedule = Schedule(
                id=uuid.uuid4().hex,
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
        self.authz.check(actor, Permission.READ, pipeline_resource(found.pipeline))
        return found

    def list_schedules(self, actor: Actor, pipeline: str | None = None) -> list[Schedule]:
        only = readable_pipelines(self.authz, actor)
        with self.db.read() as conn:
            return JobStore(conn).schedules(pipeline, only)

    @retry_conflicts
    def set_schedule_enabled(self, actor: Actor, name: str, enabled: bool) -> Schedule:
        """Pause or resume a schedule; resuming starts from the next time after now."""
        with self.db.write() as conn:
            store = JobStore(conn)
            found = self._editable(store, actor, name)
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
            found = self._editable(store, actor, name)
            store.delete_schedule(found.id)
            audit.append(conn, actor, "pipeline_schedule.delete", "pipeline_schedule", name,
                         {"pipeline": found.pipeline})  # fmt: skip

    def _editable(self, store: JobStore, actor: Actor, name: str) -> Schedule:
        found = store.schedule(name)
        if found is None:
            raise NotFound("No such schedule", name=name)
        self.authz.check(actor, Permission.EDIT, pipeline_resource(found.pipeline))
        return found

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
                id=uuid.uuid4().hex,
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
