"""The SQL of pipeline versions, jobs and schedules (``schema.pipeline_*``).

Every state change a worker makes is a compare-and-set: an ``UPDATE … WHERE`` on the state (and
the worker holding the lease) it expects, whose row count says whether it won. That is what
makes several schedulers and workers on one database safe without a lock service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from clew.core import schema
from clew.core.audit import canonical_json
from clew.pipelines.job_records import Job, JobState, PipelineVersion, Schedule

V, J, S = schema.pipeline_versions, schema.pipeline_jobs, schema.pipeline_schedules

_JSON_COLUMNS: Final = ("params", "options")


def _loads(row: Any) -> dict[str, Any]:
    data = dict(row)
    for key in _JSON_COLUMNS:
        if key in data:
            data[key] = orjson.loads(data[key])
    return data


class JobStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self._insert: Any = postgresql.insert if self._postgres else sqlite.insert

    # ---- versions -----------------------------------------------------------------------------

    def add_version(self, version: PipelineVersion, spec_json: str) -> bool:
        """True if this digest is new."""
        result = self.conn.execute(
            self._insert(V)
            .values(
                digest=version.digest,
                pipeline=version.pipeline,
                spec=spec_json,
                created_by=version.created_by,
                created_at=version.created_at,
            )
            .on_conflict_do_nothing()
            .returning(V.c.digest)
        )
        return result.first() is not None  # rowcount is -1 for an INSERT on psycopg

    def version(self, digest: str, *, with_spec: bool = True) -> PipelineVersion | None:
        row = self.conn.execute(select(V).where(V.c.digest == digest)).mappings().first()
        return None if row is None else _version(row, with_spec)

    def latest_version(self, pipeline: str) -> PipelineVersion | None:
        row = (
            self.conn.execute(
                select(V)
                .where(V.c.pipeline == pipeline)
                .order_by(V.c.created_at.desc(), V.c.digest)
                .limit(1)
            )
            .mappings()
            .first()
        )
        return None if row is None else _version(row, True)

    def versions(
        self, pipeline: str | None, limit: int, only: list[str] | None = None
    ) -> list[PipelineVersion]:
        """``only``: the pipelines the caller may read (None: all)."""
        q = select(V.c.digest, V.c.pipeline, V.c.created_by, V.c.created_at)
        if pipeline is not None:
            q = q.where(V.c.pipeline == pipeline)
        if only is not None:
            q = q.where(V.c.pipeline.in_(only))
        q = q.order_by(V.c.created_at.desc(), V.c.digest).limit(limit)
        return [_version(r, False) for r in self.conn.execute(q).mappings()]

    # ---- jobs ---------------------------------------------------------------------------------

    def add_job(self, job: Job) -> bool:
        """True if inserted; False if a job for the same schedule and fire time exists."""
        values = {**job.to_dict()}
        for key in _JSON_COLUMNS:
            values[key] = canonical_json(values[key]).decode()
        result = self.conn.execute(
            self._insert(J).values(**values).on_conflict_do_nothing().returning(J.c.id)
        )
        return result.first() is not None

    def job(self, job_id: str) -> Job | None:
        row = self.conn.execute(select(J).where(J.c.id == job_id)).mappings().first()
        return None if row is None else Job.from_dict(_loads(row))

    def jobs(
        self,
        *,
        pipeline: str | None,
        states: list[str] | None,
        schedule_id: str | None,
        before: tuple[int, str] | None,
        limit: int,
        only: list[str] | None = None,
    ) -> list[Job]:
        q = select(J)
        if pipeline is not None:
            q = q.where(J.c.pipeline == pipeline)
        if only is not None:  # the pipelines the caller may read
            q = q.where(J.c.pipeline.in_(only))
        if states:
            q = q.where(J.c.state.in_(states))
        if schedule_id is not None:
            q = q.where(J.c.schedule_id == schedule_id)
        if before is not None:
            created, job_id = before
            q = q.where(
                (J.c.created_at < created) | ((J.c.created_at == created) & (J.c.id < job_id))
            )
        q = q.order_by(J.c.created_at.desc(), J.c.id.desc()).limit(limit)
        return [Job.from_dict(_loads(r)) for r in self.conn.execute(q).mappings()]

    def set_job(self, job_id: str, expect: Mapping[str, Any], **values: Any) -> bool:
        """Compare-and-set: update the job only if its columns hold ``expect``."""
        q = update(J).where(J.c.id == job_id)
        for column, value in expect.items():
            q = q.where(
                J.c[column].in_(value) if isinstance(value, tuple) else J.c[column] == value
            )
        return bool(self.conn.execute(q.values(**values)).rowcount)

    def oldest_queued(self, limit: int) -> list[str]:
        q = (
            select(J.c.id)
            .where(J.c.state == JobState.QUEUED)
            .order_by(J.c.created_at, J.c.id)
            .limit(limit)
        )
        if self._postgres:
            q = q.with_for_update(skip_locked=True)
        return list(self.conn.execute(q).scalars())

    def lapsed(self, now: int) -> list[Job]:
        """Running jobs whose worker stopped renewing its lease."""
        q = select(J).where(J.c.state == JobState.RUNNING, J.c.lease_until < now)
        return [Job.from_dict(_loads(r)) for r in self.conn.execute(q).mappings()]

    def active_of_schedule(self, schedule_id: str) -> int:
        q = select(func.count()).where(
            J.c.schedule_id == schedule_id, J.c.state.in_((JobState.QUEUED, JobState.RUNNING))
        )
        return int(self.conn.execute(q).scalar_one())

    # ---- schedules ----------------------------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        values = schedule.to_dict()
        for key in _JSON_COLUMNS:
            values[key] = canonical_json(values[key]).decode()
        self.conn.execute(insert(S).values(**values))

    def schedule(self, name: str) -> Schedule | None:
        row = self.conn.execute(select(S).where(S.c.name == name)).mappings().first()
        return None if row is None else Schedule.from_dict(_loads(row))

    def schedules(self, pipeline: str | None, only: list[str] | None = None) -> list[Schedule]:
        q = select(S)
        if pipeline is not None:
            q = q.where(S.c.pipeline == pipeline)
        if only is not None:  # the pipelines the caller may read
            q = q.where(S.c.pipeline.in_(only))
        rows = self.conn.execute(q.order_by(S.c.name)).mappings()
        return [Schedule.from_dict(_loads(r)) for r in rows]

    def due(self, now: int, limit: int) -> list[Schedule]:
        q = (
            select(S)
            .where(S.c.enabled.is_(True), S.c.next_fire_at <= now)
            .order_by(S.c.next_fire_at, S.c.id)
            .limit(limit)
        )
        return [Schedule.from_dict(_loads(r)) for r in self.conn.execute(q).mappings()]

    def set_schedule(self, schedule_id: str, expect: Mapping[str, Any], **values: Any) -> bool:
        q = update(S).where(S.c.id == schedule_id)
        for column, value in expect.items():
            q = q.where(S.c[column] == value)
        return bool(self.conn.execute(q.values(**values)).rowcount)

    def delete_schedule(self, schedule_id: str) -> None:
        """Its jobs stay, without a schedule (ON DELETE SET NULL)."""
        self.conn.execute(delete(S).where(S.c.id == schedule_id))


def _version(row: Any, with_spec: bool) -> PipelineVersion:
    spec = orjson.loads(row["spec"]) if with_spec and "spec" in row else None
    return PipelineVersion(
        pipeline=row["pipeline"],
        digest=row["digest"],
        created_at=int(row["created_at"]),
        created_by=row["created_by"],
        spec=spec,
    )
