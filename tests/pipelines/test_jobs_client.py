"""``Client`` job methods on both transports: a ``@pipeline`` submitted from Python runs on the
server's worker (over HTTP) or on a worker sharing the local store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clew.client.client import Client
from clew.core.errors import InvalidInput, NotFound
from clew.core.settings import Settings
from clew.pipelines.job_records import JobState
from clew.pipelines.worker import PipelineWorker
from tests.pipelines import job_steps


@pytest.fixture
def settings(clew_home: Path, database_url: str) -> Settings:
    """No worker in the server: a test that wants jobs run starts one (``worked``)."""
    return Settings(home=clew_home, database_url=database_url, allowed_hosts="testserver",
                    pipeline_modules="tests.pipelines.job_steps", pipeline_lease_s=0.6,
                    pipeline_poll_interval_s=0.05, pipeline_worker=False)  # fmt: skip


@pytest.fixture
def worked(client: Client) -> Iterator[Client]:
    """The client, with a worker running its jobs on the store behind it: the local
    transport's, or the test server's."""
    platform = getattr(client.transport, "platform", None)
    if platform is None:  # over HTTP: the app behind Starlette's test client
        platform = client.transport._client.app.state.platform  # type: ignore[attr-defined]
    worker = PipelineWorker(platform)
    worker.start()
    yield client
    worker.stop()


def test_submit_a_pipeline_from_python_and_wait_for_it(worked: Client) -> None:
    job = worked.submit_pipeline(job_steps.arithmetic, {"x": 2})
    assert job.pipeline == "arithmetic" and job.state == JobState.QUEUED
    done = worked.wait_pipeline_job(job.id, timeout=30, poll=0.05)
    assert done.state == JobState.SUCCEEDED, done.message
    assert {s["step"] for s in worked.pipeline_job_steps(job.id)} == {"double", "add"}
    log = worked.pipeline_job_step_log(job.id, "add")
    assert "adding 4 and 4" in log and "to stderr too" in log
    assert worked.pipeline_job_step_log(job.id, "double") == ""  # printed nothing
    with pytest.raises(NotFound):
        worked.pipeline_job_step_log(job.id, "nope")
    assert worked.get_run(done.run_id or "").data.params == {"x": "2", "y": "4"}
    by_name = worked.submit_pipeline("arithmetic")  # the newest registered version
    assert by_name.digest == job.digest
    jobs, token = worked.list_pipeline_jobs("arithmetic", limit=1)
    assert len(jobs) == 1 and token is not None
    versions = worked.list_pipeline_versions("arithmetic")
    assert [v.digest for v in versions] == [job.digest]


def test_cancel_a_queued_job_and_errors_cross_the_transport(client: Client) -> None:
    job = client.submit_pipeline(job_steps.arithmetic)  # no worker runs here: it stays queued
    assert client.cancel_pipeline_job(job.id).state == JobState.CANCELED
    with pytest.raises(NotFound):
        client.get_pipeline_job("0" * 32)
    with pytest.raises(InvalidInput, match="needs a value"):
        client.submit_pipeline(job_steps.needs_x)


def test_schedules_from_python(client: Client) -> None:
    client.register_pipeline(job_steps.arithmetic)
    made = client.create_pipeline_schedule("every-minute", "arithmetic", interval_s=60,
                                           params={"x": 1}, catchup=True)  # fmt: skip
    assert made.catchup and made.params == {"x": 1} and made.enabled
    assert [s.name for s in client.list_pipeline_schedules("arithmetic")] == ["every-minute"]
    assert not client.set_pipeline_schedule_enabled("every-minute", False).enabled
    client.delete_pipeline_schedule("every-minute")
    assert client.list_pipeline_schedules() == []
