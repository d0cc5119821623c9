"""Server-run pipelines on both databases: versions, jobs run by a real worker, cancel,
resume, lost workers, schedules, and schedulers racing for one schedule."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core import schema
from clew.core.actor import Actor
from clew.core.errors import AlreadyExists, InvalidInput, NotFound
from clew.core.ids import now_ms
from clew.core.settings import Settings
from clew.pipelines import serialize
from clew.pipelines.graph import PipelineDefinitionError
from clew.pipelines.job_records import JobState
from clew.pipelines.worker import PipelineWorker
from clew.platform import Platform
from tests.pipelines import job_steps

ALICE = Actor("alice")
MODULES = "tests.pipelines.job_steps"


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "pipeline_modules": MODULES,
            # Renewed every second: a renewal may wait behind other writers on a loaded machine
            # (0.6 s lapsed once in CI, two workers on one SQLite file); a lapse is tested with
            # a lease of its own.
            "pipeline_lease_s": 3.0,
            "pipeline_poll_interval_s": 0.05,
        }
    )


@pytest.fixture
def platform(job_settings: Settings) -> Iterator[Platform]:
    opened = Platform.open(job_settings)
    yield opened
    opened.close()


@pytest.fixture
def worker(platform: Platform) -> Iterator[PipelineWorker]:
    made = PipelineWorker(platform, name="worker-a")
    yield made
    job_steps.release.set()
    made.stop()
    job_steps.release.clear()
    job_steps.entered.clear()


def _spec(pipeline: Any) -> dict[str, Any]:
    return serialize.to_dict(pipeline.spec)


def _count(platform: Platform, table: Any) -> int:
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _events(platform: Platform, action: str) -> list[Any]:
    return platform.audit.list(Actor.system(), action=action, limit=1000)


def _run_until_idle(worker: PipelineWorker, timeout: float = 30) -> None:
    worker.poll()
    assert worker.wait_idle(timeout)


def _wait(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ---- versions -----------------------------------------------------------------------------------


def test_a_version_is_its_digest_and_registering_again_is_a_no_op(platform: Platform) -> None:
    first = platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    again = platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    assert first.digest == again.digest == serialize.digest(job_steps.arithmetic.spec)
    assert first.pipeline == "arithmetic"
    assert [v.digest for v in platform.jobs.list_versions(ALICE, "arithmetic")] == [first.digest]
    assert platform.jobs.get_version(ALICE, first.digest).spec == _spec(job_steps.arithmetic)
    assert len(_events(platform, "pipeline_version.register")) == 1


def test_a_definition_that_would_not_trace_is_refused(platform: Platform) -> None:
    spec = _spec(job_steps.arithmetic)
    spec["tasks"][1]["inputs"]["a"] = {"task": "nowhere", "output": "output"}
    with pytest.raises(PipelineDefinitionError):
        platform.jobs.register_version(ALICE, spec)
    assert _count(platform, schema.pipeline_versions) == 0


# ---- submitting ---------------------------------------------------------------------------------


def test_bad_submissions_fail_and_write_nothing(platform: Platform) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.needs_x))
    with pytest.raises(NotFound):
        platform.jobs.submit(ALICE, "never-registered")
    with pytest.raises(PipelineDefinitionError, match="needs a value for parameter 'x'"):
        platform.jobs.submit(ALICE, "needs_x")
    with pytest.raises(PipelineDefinitionError, match="no parameters"):
        platform.jobs.submit(ALICE, "needs_x", params={"x": 1, "typo": 2})
    with pytest.raises(InvalidInput, match="unknown executor"):
        platform.jobs.submit(ALICE, "needs_x", params={"x": 1}, executor="nope")
    with pytest.raises(NotFound):
        platform.jobs.submit(ALICE, "needs_x", params={"x": 1}, digest="0" * 64)
    with pytest.raises(NotFound, match="resume"):
        platform.jobs.submit(ALICE, "needs_x", resume_from="a" * 32)
    assert _count(platform, schema.pipeline_jobs) == 0


def test_only_steps_of_allowed_modules_may_run(platform: Platform, job_settings: Settings) -> None:
    version = platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    elsewhere = Platform.open(job_settings.model_copy(update={"pipeline_modules": "acme"}))
    nowhere = Platform.open(job_settings.model_copy(update={"pipeline_modules": ""}))
    try:
        with pytest.raises(InvalidInput, match="not in CLEW_PIPELINE_MODULES"):
            elsewhere.jobs.submit(ALICE, "arithmetic", digest=version.digest)
        with pytest.raises(InvalidInput, match="runs no pipeline jobs"):
            nowhere.jobs.submit(ALICE, "arithmetic")
    finally:
        elsewhere.close()
        nowhere.close()
    spec = _spec(job_steps.arithmetic)
    spec["tasks"][0]["step"] = "tests.pipelines.job_steps:os.system"
    platform.jobs.register_version(ALICE, spec)
    with pytest.raises(InvalidInput, match="not a module-level step"):
        platform.jobs.submit(
            ALICE, "arithmetic", digest=serialize.digest(serialize.from_dict(spec))
        )


def test_a_name_that_is_not_a_step_fails_the_job_before_any_step_runs(
    platform: Platform, worker: PipelineWorker
) -> None:
    spec = _spec(job_steps.arithmetic)
    spec["tasks"][0]["step"] = "tests.pipelines.job_steps:unsafe"  # os.system, imported there
    version = platform.jobs.register_version(ALICE, spec)
    job = platform.jobs.submit(ALICE, "arithmetic", digest=version.digest)
    _run_until_idle(worker)
    ended = platform.jobs.get_job(ALICE, job.id)
    assert ended.state == JobState.FAILED
    assert "is not a @step of its module" in ended.message
    assert ended.run_id is None


# ---- running ------------------------------------------------------------------------------------


def test_a_worker_runs_a_queued_job_as_a_tracked_pipeline_run(
    platform: Platform, worker: PipelineWorker
) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    job = platform.jobs.submit(ALICE, "arithmetic", params={"x": 10})
    assert job.state == JobState.QUEUED
    _run_until_idle(worker)
    done = platform.jobs.get_job(ALICE, job.id)
    assert done.state == JobState.SUCCEEDED, done.message
    assert done.worker == "worker-a" and done.run_id is not None
    assert done.started_at is not None and done.ended_at is not None

    client = Client(transport=LocalTransport(platform=platform))
    root = client.get_run(done.run_id)
    assert root.info.status == "FINISHED"
    assert root.data.params == {"x": "10", "y": "4"}
    steps = {s["step"]: s for s in platform.jobs.steps(ALICE, job.id)}
    assert set(steps) == {"double", "add"}
    assert {s["state"] for s in steps.values()} == {"SUCCEEDED"}
    assert client.get_run(steps["double"]["run_id"]).data.metrics["doubled"].value == 20.0
    # Tracked as the user who submitted it, not as the server's OS user.
    events = platform.audit.list(Actor.system(), resource_id=done.run_id, limit=1000)
    assert events and {e.actor for e in events} == {"alice"}


def test_cancel_a_queued_job_ends_it_and_a_running_one_stops(
    platform: Platform, worker: PipelineWorker
) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.blocking))
    queued = platform.jobs.submit(ALICE, "blocking")
    assert platform.jobs.cancel(ALICE, queued.id).state == JobState.CANCELED
    assert platform.jobs.cancel(ALICE, queued.id).state == JobState.CANCELED  # idempotent

    running = platform.jobs.submit(ALICE, "blocking")
    worker.poll()
    assert job_steps.entered.wait(60)
    asked = platform.jobs.cancel(ALICE, running.id)
    assert asked.state == JobState.RUNNING and asked.cancel_requested
    _wait(lambda: worker._running[running.id].engine._cancel.is_set())  # at a lease renewal
    job_steps.release.set()
    assert worker.wait_idle(60)
    ended = platform.jobs.get_job(ALICE, running.id)
    assert ended.state == JobState.CANCELED
    states = {s["step"]: s["state"] for s in platform.jobs.steps(ALICE, running.id)}
    assert states == {"blocker": "SUCCEEDED"}  # what ran finished; double never started
    with pytest.raises(InvalidInput, match="only a failed or canceled"):
        platform.jobs.resume(ALICE, platform.jobs.submit(ALICE, "blocking").id)


def test_a_failed_job_resumes_from_the_steps_that_finished(
    platform: Platform, worker: PipelineWorker, tmp_path: Path
) -> None:
    flag = tmp_path / "fixed"
    platform.jobs.register_version(ALICE, _spec(job_steps.flaky))
    job = platform.jobs.submit(ALICE, "flaky", params={"flag": str(flag)})
    _run_until_idle(worker)
    failed = platform.jobs.get_job(ALICE, job.id)
    assert failed.state == JobState.FAILED
    assert "no " in failed.message or "failed" in failed.message

    flag.touch()
    again = platform.jobs.resume(ALICE, job.id)
    assert again.resume_from == failed.run_id and again.params == {}
    _run_until_idle(worker)
    resumed = platform.jobs.get_job(ALICE, again.id)
    assert resumed.state == JobState.SUCCEEDED, resumed.message
    states = {s["step"]: s["state"] for s in platform.jobs.steps(ALICE, again.id)}
    assert states == {"double": "CACHED", "fails_unless": "SUCCEEDED"}


def test_a_job_whose_worker_died_ends_failed_once_its_lease_lapses(platform: Platform) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    job = platform.jobs.submit(ALICE, "arithmetic")
    claimed = platform.jobs.claim("dead-worker", lease_ms=1)
    assert claimed is not None and claimed[0].id == job.id
    assert platform.jobs.claim("other", lease_ms=1000) is None  # nothing else queued
    time.sleep(0.01)
    assert platform.jobs.fail_lapsed() == [job.id]
    lost = platform.jobs.get_job(ALICE, job.id)
    assert lost.state == JobState.FAILED and "stopped renewing its lease" in lost.message
    # The dead worker, had it come back, can neither renew nor finish it.
    assert platform.jobs.renew(job.id, "dead-worker", 1000, None) is None
    assert not platform.jobs.finish(job.id, "dead-worker", JobState.SUCCEEDED, "", None)
    assert platform.jobs.get_job(ALICE, job.id).state == JobState.FAILED


def test_two_workers_run_each_job_once(platform: Platform, job_settings: Settings) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    ids = {platform.jobs.submit(ALICE, "arithmetic", params={"x": i}).id for i in range(6)}
    other = Platform.open(job_settings)
    workers = [PipelineWorker(platform, name="a"), PipelineWorker(other, name="b")]
    try:
        barrier = threading.Barrier(2)

        def drain(w: PipelineWorker) -> None:
            barrier.wait()
            for _ in range(20):
                w.poll()
                w.wait_idle(30)

        threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        jobs, _ = platform.jobs.list_jobs(ALICE, pipeline="arithmetic")
        assert {j.id for j in jobs} == ids
        assert {j.state for j in jobs} == {JobState.SUCCEEDED}, [j.message for j in jobs]
        starts = _events(platform, "pipeline_job.start")
        assert sorted(e.resource_id for e in starts) == sorted(ids)  # one start per job
        assert len({j.run_id for j in jobs}) == 6
    finally:
        for w in workers:
            w.stop()
        other.close()


def test_listing_pages_newest_first(platform: Platform) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    made = [platform.jobs.submit(ALICE, "arithmetic").id for _ in range(5)]
    seen: list[str] = []
    token = None
    while True:
        page, token = platform.jobs.list_jobs(ALICE, limit=2, page_token=token)
        seen.extend(j.id for j in page)
        if token is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    queued, _ = platform.jobs.list_jobs(ALICE, states=[JobState.QUEUED])
    assert len(queued) == 5
    with pytest.raises(InvalidInput):
        platform.jobs.list_jobs(ALICE, states=["DONE"])


# ---- schedules ----------------------------------------------------------------------------------


def _scheduled(platform: Platform, **options: Any) -> Any:
    platform.jobs.register_version(ALICE, _spec(job_steps.arithmetic))
    given = {"interval_s": 60, **options}
    return platform.schedules.create_schedule(ALICE, "hourly-ish", "arithmetic", **given)


def test_a_schedule_fires_once_per_due_time(platform: Platform) -> None:
    schedule = _scheduled(platform, start_at=1_000_000)
    assert platform.schedules.fire_due(now=999_999) == []
    made = platform.schedules.fire_due(now=1_000_000)
    assert len(made) == 1
    assert platform.schedules.fire_due(now=1_000_000) == []  # already fired
    job = platform.jobs.get_job(ALICE, made[0])
    assert (job.schedule_id, job.fire_at, job.requested_by) == (
        schedule.id, 1_000_000, "schedule:hourly-ish"
    )  # fmt: skip
    after = platform.schedules.get_schedule(ALICE, "hourly-ish")
    assert after.last_fire_at == 1_000_000 and after.next_fire_at == 1_060_000


def test_missed_times_make_one_job_or_catch_up(platform: Platform) -> None:
    _scheduled(platform, start_at=0, max_concurrency=100)
    assert len(platform.schedules.fire_due(now=10 * 60_000 + 5)) == 1  # eleven were due
    platform.schedules.delete_schedule(ALICE, "hourly-ish")
    platform.schedules.create_schedule(ALICE, "hourly-ish", "arithmetic", interval_s=60, start_at=0,
                                  catchup=True, max_concurrency=100)  # fmt: skip
    made = platform.schedules.fire_due(now=10 * 60_000 + 5)
    fired = sorted(platform.jobs.get_job(ALICE, j).fire_at or 0 for j in made)
    assert fired == [i * 60_000 for i in range(11)]


def test_max_concurrency_skips_a_firing_while_jobs_are_active(platform: Platform) -> None:
    _scheduled(platform, start_at=0)
    assert len(platform.schedules.fire_due(now=0)) == 1
    assert platform.schedules.fire_due(now=60_000) == []  # the first is still queued
    assert len(_events(platform, "pipeline_schedule.skip")) == 1


def test_a_paused_schedule_does_not_fire_and_resumes_from_now(platform: Platform) -> None:
    _scheduled(platform, start_at=0)
    platform.schedules.set_schedule_enabled(ALICE, "hourly-ish", False)
    assert platform.schedules.fire_due(now=now_ms()) == []
    resumed = platform.schedules.set_schedule_enabled(ALICE, "hourly-ish", True)
    assert resumed.next_fire_at > now_ms()


def test_bad_schedules_are_refused(platform: Platform) -> None:
    platform.jobs.register_version(ALICE, _spec(job_steps.needs_x))
    create = platform.schedules.create_schedule
    with pytest.raises(InvalidInput, match="exactly one of cron and interval_s"):
        create(ALICE, "s", "needs_x", params={"x": 1})
    with pytest.raises(InvalidInput, match="exactly one"):
        create(ALICE, "s", "needs_x", cron="* * * * *", interval_s=5, params={"x": 1})
    with pytest.raises(InvalidInput, match="five"):
        create(ALICE, "s", "needs_x", cron="* * *", params={"x": 1})
    with pytest.raises(InvalidInput, match="needs a value"):
        create(ALICE, "s", "needs_x", cron="@daily")
    with pytest.raises(InvalidInput, match="at least"):
        create(ALICE, "s", "needs_x", interval_s=0, params={"x": 1})
    assert _count(platform, schema.pipeline_schedules) == 0
    create(ALICE, "s", "needs_x", cron="@daily", params={"x": 1})
    with pytest.raises(AlreadyExists):
        create(ALICE, "s", "needs_x", cron="@daily", params={"x": 1})
    with pytest.raises(NotFound):
        platform.schedules.delete_schedule(ALICE, "other")


def test_schedulers_racing_for_one_schedule_make_one_job_per_time(
    platform: Platform, job_settings: Settings
) -> None:
    """Four schedulers, each on its own engine (as on four replicas), fire the same due
    schedule at the same moment, ten times over: each time makes exactly one job."""
    _scheduled(platform, start_at=0, max_concurrency=100)
    others = [Platform.open(job_settings) for _ in range(4)]
    try:
        for round_ in range(10):
            now = round_ * 60_000
            barrier = threading.Barrier(len(others))
            made: list[list[str]] = [[] for _ in others]

            def fire(i: int, now: int = now, made: list[list[str]] = made,
                     barrier: threading.Barrier = barrier) -> None:  # fmt: skip
                barrier.wait()
                made[i] = others[i].schedules.fire_due(now=now)

            threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(others))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(len(m) for m in made) == [0, 0, 0, 1], (round_, made)
        jobs, _ = platform.jobs.list_jobs(ALICE, schedule="hourly-ish", limit=100)
        assert sorted(j.fire_at or 0 for j in jobs) == [i * 60_000 for i in range(10)]
    finally:
        for p in others:
            p.close()


def test_two_scheduler_workers_start_one_run_for_a_due_schedule(
    platform: Platform, job_settings: Settings
) -> None:
    _scheduled(platform, start_at=now_ms() - 1)
    other = Platform.open(job_settings)
    workers = [PipelineWorker(platform, name="a"), PipelineWorker(other, name="b")]
    try:
        barrier = threading.Barrier(2)

        def poll(w: PipelineWorker) -> None:
            barrier.wait()
            w.poll()
            w.wait_idle(30)

        threads = [threading.Thread(target=poll, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        jobs, _ = platform.jobs.list_jobs(ALICE, schedule="hourly-ish")
        assert len(jobs) == 1 and jobs[0].state == JobState.SUCCEEDED, jobs
        client = Client(transport=LocalTransport(platform=platform))
        roots = client.search_runs(filter_string="tags.`clew.pipeline` = 'arithmetic'")
        assert [r.info.run_id for r in roots] == [jobs[0].run_id]
    finally:
        for w in workers:
            w.stop()
        other.close()
