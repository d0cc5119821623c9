"""Schedules and server-run jobs from the command line, on real processes: ``clew scheduler``
running a schedule made with ``clew schedule create``, two schedulers racing for the same
schedule on one database, and ``clew pipelines submit --wait`` against a real ``clew server``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clew.cli.main import app
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings
from clew.pipelines.job_records import JobState
from tests.server.test_real_server import free_port, wait_healthy

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
MODULES = "tests.pipelines.job_steps"
runner = CliRunner()


def _env(home: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_") or
           k.startswith("CLEW_TEST_")}  # fmt: skip
    env.update(
        CLEW_HOME=str(home),
        CLEW_DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        **extra,
    )
    return env


def _scheduler(home: Path, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "clew"), "scheduler", "--modules", MODULES],
        env=_env(home, database_url, CLEW_PIPELINE_POLL_INTERVAL_S="0.1"),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


@pytest.fixture
def store(clew_home: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("CLEW_DATABASE_URL", database_url)
    monkeypatch.setenv("CLEW_PIPELINE_MODULES", MODULES)
    with Client(transport=LocalTransport(Settings())) as client:
        yield client


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_clew_scheduler_runs_a_schedule_made_on_the_command_line(
    store: Client, clew_home: Path, database_url: str, tmp_path: Path
) -> None:
    made = _cli("schedule", "create", "every-second", f"{MODULES}:arithmetic", "--every", "1s",
                "-p", "x=2", "--json")  # fmt: skip
    assert made[0]["interval_s"] == 1 and made[0]["digest"]
    proc = _scheduler(clew_home, database_url, tmp_path / "scheduler.log")
    try:
        done = _wait_for(
            lambda: store.list_pipeline_jobs(states=[JobState.SUCCEEDED])[0], 60, "a job"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    log = (tmp_path / "scheduler.log").read_text()
    assert code == 0, log
    assert "Stopping" in log
    job = done[0]
    assert job.requested_by == "schedule:every-second" and job.params == {"x": 2}
    assert store.get_run(job.run_id or "").data.params["x"] == "2"
    listed = _cli("schedule", "list", "--json")
    assert listed[0]["last_fire_at"] is not None
    jobs = _cli("pipelines", "jobs", "--schedule", "every-second", "--json")
    assert job.id in {j["id"] for j in jobs}


def test_two_schedulers_racing_for_one_schedule_start_one_run_per_time(
    store: Client, clew_home: Path, database_url: str, tmp_path: Path
) -> None:
    store.register_pipeline(__import__(MODULES, fromlist=["x"]).arithmetic)
    store.create_pipeline_schedule("race", "arithmetic", interval_s=1, max_concurrency=100)
    procs = [_scheduler(clew_home, database_url, tmp_path / f"s{i}.log") for i in range(2)]
    try:
        _wait_for(lambda: len(store.list_pipeline_jobs(schedule="race")[0]) >= 5, 90, "5 jobs")
        store.set_pipeline_schedule_enabled("race", False)
        _wait_for(
            lambda: all(
                j.state in JobState.TERMINAL for j in store.list_pipeline_jobs(schedule="race")[0]
            ),
            90,
            "the jobs to end",
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in procs]
    assert codes == [0, 0], [(tmp_path / f"s{i}.log").read_text() for i in range(2)]
    jobs, _ = store.list_pipeline_jobs(schedule="race", limit=1000)
    fire_times = [j.fire_at for j in jobs]
    assert len(fire_times) == len(set(fire_times))  # one job per fire time
    assert {j.state for j in jobs} == {JobState.SUCCEEDED}, [j.message for j in jobs]
    roots = store.search_runs(filter_string="tags.`clew.pipeline` = 'arithmetic'",
                              max_results=1000)  # fmt: skip
    assert sorted(r.info.run_id for r in roots) == sorted(j.run_id for j in jobs)  # one run each
    assert len({j.worker for j in jobs}) >= 1


def test_submit_and_wait_against_a_real_server(
    store: Client, clew_home: Path, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "clew.server.main", "--port", str(port), "--log-level", "warning"],
        env=_env(
            clew_home,
            database_url,
            CLEW_PIPELINE_MODULES=MODULES,
            CLEW_PIPELINE_POLL_INTERVAL_S="0.1",
        ),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_healthy(url, proc, 30), log.read_text()
        done = _cli("--tracking-uri", url, "pipelines", "submit", f"{MODULES}:arithmetic",
                    "-p", "x=5", "--wait", "--json")  # fmt: skip
        assert done["state"] == "SUCCEEDED", done
        shown = _cli("--tracking-uri", url, "pipelines", "job", done["id"], "--steps", "--json")
        assert sorted(s["step"] for s in shown["steps"]) == ["add", "double"]
        with Client(url) as remote:
            assert remote.get_run(done["run_id"]).data.params == {"x": "5", "y": "4"}
        refused = runner.invoke(app, ["--tracking-uri", url, "pipelines", "submit",
                                      f"{MODULES}:needs_x"])  # fmt: skip
        assert refused.exit_code != 0 and "needs a value" in str(refused.exception)
    finally:
        proc.terminate()
        proc.wait(30)
