"""Issue 5's faults, on real threads and processes and tracked runs in a real store: a step that
raises, a step that hangs past its timeout, a step process killed with SIGKILL. Each run ends
FAILED with a reason that names the step and what happened, Finally steps still run, nothing is
recorded as succeeded that did not, and every recorded artifact is whole. (The engine itself
killed mid-run is ``test_engine_killed.py``.)
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clew.client.client import Client
from clew.core.settings import Settings
from clew.pipelines import PipelineState, StepState, run
from clew.pipelines.executors import ProcessExecutor, ThreadExecutor
from clew.pipelines.run_tags import REASON_TAG, STATE_TAG, STEP_TAG
from tests.pipelines import faults
from tests.pipelines.faults import check_records, first_root, gone, say, until, wait_for


@pytest.fixture
def processes() -> Iterator[ProcessExecutor]:
    pool = ProcessExecutor(max_workers=2)
    yield pool
    pool.shutdown()


def _check_failed_at(result: Any, gate: Path, failed: str, reason: str) -> None:
    """``produce`` succeeded, ``failed`` failed with ``reason`` (so the run did, naming it),
    ``downstream`` was skipped, and the Finally step ran and saw FAILED."""
    assert result.state is PipelineState.FAILED
    assert result.step(failed).reason == reason
    assert result.reason == f"step {failed!r} failed: {reason}"
    assert {key: r.state for key, r in result.steps.items()} == {
        "produce": StepState.SUCCEEDED,
        failed: StepState.FAILED,
        "downstream": StepState.SKIPPED,
        "note": StepState.SUCCEEDED,
    }
    assert (gate / "finally").read_text() == "FAILED"


# ---- a step that raises ------------------------------------------------------------------


def _check_raised(client: Client, settings: Settings, gate: Path, result: Any) -> str:
    _check_failed_at(result, gate, "explode", "ValueError: bad input 3")
    assert result.step("explode").attempts == 2  # its retry ran too
    root = first_root(client, "raising")
    assert root.info.status == "FAILED"
    assert root.data.tags[REASON_TAG] == result.reason
    runs = check_records(client, settings, root.info.run_id)
    assert set(runs) == {"produce", "explode", "note"}  # a skipped step never started
    explode = runs["explode"]
    assert explode.info.status == "FAILED"
    assert explode.data.tags[STATE_TAG] == "FAILED"
    assert explode.data.tags[REASON_TAG] == "ValueError: bad input 3"
    edges = client.pipeline_step_edges(root.info.run_id, [explode.info.run_id])
    assert [e for e in edges if e[1] == "OUTPUT"] == []  # no output node for what failed
    return str(root.info.run_id)


def _check_resumed(client: Client, settings: Settings, failed_id: str, result: Any) -> None:
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.output == 4
    assert result.step("produce").state is StepState.CACHED  # reused, not run again
    assert result.step("explode").state is StepState.SUCCEEDED
    resumed = [r for r in faults.roots(client, "raising") if r.info.run_id != failed_id]
    assert len(resumed) == 1 and resumed[0].info.status == "FINISHED"
    check_records(client, settings, resumed[0].info.run_id)


def test_a_step_that_raises_fails_the_run_and_resume_gets_past_it(
    client: Client, settings: Settings, gate: Path
) -> None:
    result = run(faults.raising, {"gate": str(gate)}, client=client)
    failed_id = _check_raised(client, settings, gate, result)
    say(gate / "fixed")
    resumed = run(faults.raising, client=client, resume_from=failed_id)
    _check_resumed(client, settings, failed_id, resumed)


def test_a_step_that_raises_in_a_child_process_is_recorded_the_same(
    local_client: Client, settings: Settings, gate: Path, processes: ProcessExecutor
) -> None:
    result = run(faults.raising, {"gate": str(gate)}, client=local_client, executor=processes)
    failed_id = _check_raised(local_client, settings, gate, result)
    say(gate / "fixed")
    resumed = run(faults.raising, client=local_client, resume_from=failed_id, executor=processes)
    _check_resumed(local_client, settings, failed_id, resumed)


# ---- a step that hangs past its timeout --------------------------------------------------


def _check_timed_out(client: Client, settings: Settings, gate: Path, result: Any) -> Any:
    _check_failed_at(result, gate, "hang", "TimeoutError: exceeded 1 s")
    return first_root(client, "hanging")


def _check_hang_recorded_failed(client: Client, settings: Settings, root: Any) -> None:
    runs = check_records(client, settings, root.info.run_id)
    hang = runs["hang"]
    assert (hang.info.status, hang.data.tags[STATE_TAG]) == ("FAILED", "FAILED")
    assert hang.data.tags[REASON_TAG] == "TimeoutError: exceeded 1 s"
    assert client.list_artifacts(hang.info.run_id, "outputs") == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_thread_past_its_timeout_that_returns_late_records_nothing(
    local_client: Client, settings: Settings, gate: Path
) -> None:
    pool = ThreadExecutor()
    try:
        result = run(faults.hanging, {"gate": str(gate)}, client=local_client, executor=pool)
        root = _check_timed_out(local_client, settings, gate, result)
        # A thread cannot be stopped: let it return now, long after the run failed it.
        say(gate / "release")
        wait_for(gate / "hang.returned")
    finally:
        pool.shutdown()
    for thread in threading.enumerate():  # the late return has been dealt with
        if thread.name.startswith("clew-step"):
            thread.join(faults.WAIT_S)
    _check_hang_recorded_failed(local_client, settings, root)


def test_a_process_past_its_timeout_is_killed_and_the_pool_runs_on(
    local_client: Client, settings: Settings, gate: Path
) -> None:
    # One worker: ``produce`` warms it (imports) so the timeout measures the step, not a spawn,
    # and the Finally step needs the worker that replaces the killed one.
    pool = ProcessExecutor(max_workers=1)
    try:
        result = run(faults.hanging, {"gate": str(gate)}, client=local_client, executor=pool)
    finally:
        pool.shutdown()
    root = _check_timed_out(local_client, settings, gate, result)
    pid = int((gate / "hang.pid").read_text())
    until(lambda: gone(pid), what=f"the hung step's process {pid} ending")
    assert not (gate / "hang.returned").exists()
    _check_hang_recorded_failed(local_client, settings, root)


# ---- a step process killed with SIGKILL ---------------------------------------------------


def test_a_step_process_killed_by_sigkill_fails_the_step_and_finally_still_runs(
    local_client: Client, settings: Settings, gate: Path, processes: ProcessExecutor
) -> None:
    result = run(faults.killed, {"gate": str(gate)}, client=local_client, executor=processes)
    reason = result.step("suicide").reason or ""
    assert reason.startswith("clew.pipelines.process_pool.StepProcessDied: the step's process")
    assert reason.endswith(") was killed by SIGKILL")
    _check_failed_at(result, gate, "suicide", reason)
    assert result.step("suicide").attempts == 2  # the retry got a fresh process, and died too
    runs = check_records(local_client, settings, first_root(local_client, "killed").info.run_id)
    suicide = runs["suicide"]
    assert (suicide.info.status, suicide.data.tags[STATE_TAG]) == ("FAILED", "FAILED")
    assert suicide.data.tags[REASON_TAG] == reason


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_step_killed_from_outside_takes_down_no_other_step(
    local_client: Client, settings: Settings, gate: Path, processes: ProcessExecutor
) -> None:
    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.append(
            run(faults.two_processes, {"gate": str(gate)}, client=local_client, executor=processes)
        )
    )
    runner.start()
    try:
        wait_for(gate / "victim.pid")
        wait_for(gate / "bystander.started")  # both steps are in their processes now
        os.kill(int((gate / "victim.pid").read_text()), signal.SIGKILL)
        # The bystander is released only once the victim's failure is on record: it was
        # running in the other process all along.
        until(lambda: _victim_failed(local_client), what="the killed step failing")
    finally:
        say(gate / "go")
        runner.join(faults.WAIT_S)
    (result,) = results
    assert result.state is PipelineState.FAILED
    assert "was killed by SIGKILL" in (result.step("victim").reason or "")
    assert result.step("bystander").state is StepState.SUCCEEDED  # in its own process, untouched
    assert result.step("bystander").outputs == {"output": 7}
    assert result.step("note").state is StepState.SUCCEEDED
    check_records(local_client, settings, first_root(local_client, "two_processes").info.run_id)


def _victim_failed(client: Client) -> bool:
    experiment = client.get_experiment_by_name("two_processes")
    if experiment is None:
        return False
    found = client.search_runs(
        [experiment.experiment_id],
        f"tags.`{STATE_TAG}` = 'FAILED' and tags.`{STEP_TAG}` = 'victim'",
    )
    return len(found) > 0
