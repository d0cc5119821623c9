"""The engine killed mid-run (issue 5): ``clew pipelines run`` in a real process, SIGKILLed while
a step runs. The store then says nothing succeeded that did not, every blob is whole, the run
reads as ``engine_lost`` once its heartbeat is stale instead of looking alive forever, and
``clew pipelines run --resume`` ends it FAILED ("the engine stopped") and completes it,
reusing what its finished steps made. Also: a live run cannot be resumed from under its engine,
and an engine interrupted in-process (Ctrl-C) ends its run CANCELED, resumable.
"""

from __future__ import annotations

import _thread
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from clew.artifacts.blobstore import BlobStore
from clew.client.client import Client
from clew.core.errors import InvalidInput
from clew.core.settings import Settings
from clew.pipelines import PipelineState, StepState, run
from clew.pipelines.resume import resume_plan
from clew.pipelines.run_tags import PIPELINE_RUN_TAG, PIPELINE_TAG, REASON_TAG, STATE_TAG
from tests.pipelines import faults
from tests.pipelines.faults import check_records, first_root, gone, say, until, wait_for

REPO = Path(__file__).resolve().parents[2]
#: The killed engine's heartbeat interval: its run reads as lost within a second or so.
BEAT_S = 0.3


def _clew(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``clew ARGS`` in a process of its own (and its own process group), on the test's store."""
    env = dict(os.environ)
    env.update(
        CLEW_HOME=str(settings.home),
        CLEW_DATABASE_URL=settings.resolved_database_url(),
        CLEW_PIPELINE_HEARTBEAT_S=str(BEAT_S),
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")) if p
        ),
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from clew.cli.main import main; main()", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_an_engine_killed_mid_run_leaves_a_lost_run_that_resume_completes(
    local_client: Client, settings: Settings, gate: Path, tmp_path: Path, executor: str
) -> None:
    log, resume_log = tmp_path / "clew.log", tmp_path / "resume.log"
    target = "tests.pipelines.faults:stalled"
    engine = _clew(settings, log, "pipelines", "run", target, "-p", f"gate={gate}", "-e", executor)
    try:
        wait_for(gate / "stall.pid")  # the step runs: kill the engine now, and only the engine
        os.kill(engine.pid, signal.SIGKILL)
        assert engine.wait(faults.WAIT_S) == -signal.SIGKILL
    finally:
        if engine.poll() is None:
            os.killpg(engine.pid, signal.SIGKILL)
    worker = int((gate / "stall.pid").read_text())
    # A step process does not outlive its engine (under threads the step ran in the engine).
    until(lambda: gone(worker), what=f"the step's process {worker} ending with its engine")

    root = first_root(local_client, "stalled")
    root_id = root.info.run_id
    assert root.info.status == "RUNNING"  # what the engine left; now read it as lost
    until(
        lambda: local_client.get_pipeline_run(root_id).engine_lost, what="the run reading as lost"
    )
    runs = check_records(local_client, settings, root_id)
    assert runs["produce"].data.tags[STATE_TAG] == "SUCCEEDED"
    assert runs["stall"].info.status == "RUNNING" and STATE_TAG not in runs["stall"].data.tags
    assert "downstream" not in runs  # it never started
    blobs = BlobStore.from_uri(settings.resolved_artifact_root())
    for digest, _ in blobs.iter_digests():  # no blob is half-written, recorded or not
        assert blobs.verify(digest), digest

    say(gate / "release")
    resumed = _clew(settings, resume_log, "pipelines", "run", target, "--resume", root_id,
                    "-e", executor, "--json")  # fmt: skip
    assert resumed.wait(faults.WAIT_S * 2) == 0, resume_log.read_text()
    result = json.loads(resume_log.read_text())
    assert result["state"] == "SUCCEEDED", result
    assert result["steps"]["produce"]["state"] == "CACHED"  # reused from the killed run
    assert result["steps"]["stall"]["state"] == "SUCCEEDED"
    assert result["steps"]["downstream"]["state"] == "SUCCEEDED"

    lost = local_client.get_run(root_id)
    reason = lost.data.tags[REASON_TAG]
    assert reason.startswith("the engine stopped: its last heartbeat was at ")
    assert (lost.info.status, lost.data.tags[STATE_TAG]) == ("FAILED", "FAILED")
    info = local_client.get_pipeline_run(root_id)
    assert (info.state, info.engine_lost) == ("FAILED", False)
    runs = check_records(local_client, settings, root_id)
    assert (runs["stall"].info.status, runs["stall"].data.tags[STATE_TAG]) == ("FAILED", "FAILED")
    assert runs["stall"].data.tags[REASON_TAG] == reason
    newest = [r for r in faults.roots(local_client, "stalled") if r.info.run_id != root_id]
    assert len(newest) == 1 and newest[0].info.status == "FINISHED"
    check_records(local_client, settings, newest[0].info.run_id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_whose_engine_is_alive_is_not_resumed(
    local_client: Client, settings: Settings, gate: Path
) -> None:
    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.append(run(faults.stalled, {"gate": str(gate)}, client=local_client))
    )
    runner.start()
    try:
        wait_for(gate / "stall.pid")
        root_id = first_root(local_client, "stalled").info.run_id
        assert not local_client.get_pipeline_run(root_id).engine_lost
        with pytest.raises(InvalidInput, match="is still running"):
            run(faults.stalled, client=local_client, resume_from=root_id)
    finally:
        say(gate / "release")
        runner.join(faults.WAIT_S)
    assert results[0].state is PipelineState.SUCCEEDED
    assert local_client.get_pipeline_run(root_id).state == "SUCCEEDED"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_interrupted_engine_ends_its_run_canceled_and_resumable(
    local_client: Client, settings: Settings, gate: Path
) -> None:

    def ctrl_c() -> None:  # as the user would, once the stalled step runs
        wait_for(gate / "stall.pid")
        _thread.interrupt_main()

    threading.Thread(target=ctrl_c, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run(faults.stalled, {"gate": str(gate)}, client=local_client)
    root = first_root(local_client, "stalled")
    assert (root.info.status, root.data.tags[STATE_TAG]) == ("KILLED", "CANCELED")
    assert root.data.tags[REASON_TAG] == "the engine was interrupted: KeyboardInterrupt"
    assert local_client.get_pipeline_run(root.info.run_id).state == "CANCELED"
    runs = check_records(local_client, settings, root.info.run_id)
    assert runs["stall"].data.tags[STATE_TAG] == "CANCELED"

    say(gate / "release")  # the stalled step, still running on its thread, returns: dropped
    for thread in threading.enumerate():
        if thread.name.startswith("clew-step"):
            thread.join(faults.WAIT_S)
    resumed = run(faults.stalled, client=local_client, resume_from=root.info.run_id)
    assert resumed.state is PipelineState.SUCCEEDED, resumed.reason
    assert resumed.step("produce").state is StepState.CACHED
    check_records(local_client, settings, root.info.run_id)


def test_an_engine_beats_and_its_silence_reads_as_lost(client: Client) -> None:
    experiment = client.create_experiment("beating")
    run_id = client.create_run(experiment).info.run_id
    started = client.start_pipeline_run("beating", run_id, "0" * 64)
    assert started.heartbeat_at is not None and not started.engine_lost
    beat = client.pipeline_run_heartbeat(run_id, 0.05)
    assert (beat.state, beat.heartbeat_s, beat.engine_lost) == ("RUNNING", 0.05, False)
    until(lambda: client.get_pipeline_run(run_id).engine_lost, what="its silence reading as lost")
    assert not client.pipeline_run_heartbeat(run_id, 0.05).engine_lost  # beating again: alive
    with pytest.raises(InvalidInput):
        client.pipeline_run_heartbeat(run_id, 0)
    client.finish_pipeline_run(run_id, "SUCCEEDED")
    ended = client.pipeline_run_heartbeat(run_id, 0.05)  # an ended run takes no beat
    assert (ended.state, ended.engine_lost) == ("SUCCEEDED", False)
    assert not client.get_pipeline_run(run_id).engine_lost


def test_resuming_a_lost_run_ends_what_it_left_running_by_what_it_had_recorded(
    client: Client,
) -> None:
    # As an engine killed at its worst moment leaves it: one step run tagged SUCCEEDED (its
    # outputs stored) but not ended yet, one still running its function.
    experiment = client.create_experiment("handmade")
    root = client.create_run(experiment, tags={PIPELINE_TAG: "handmade"}).info.run_id
    client.log_dict(root, {"params": {"n": 2}}, "params.json")
    client.start_pipeline_run("handmade", root, "0" * 64)
    client.pipeline_run_heartbeat(root, 0.05)
    step_tags = {PIPELINE_RUN_TAG: root}
    stored = client.create_run(experiment, run_name="stored", parent_run_id=root,
                               tags={**step_tags, STATE_TAG: "SUCCEEDED"}).info.run_id  # fmt: skip
    running = client.create_run(
        experiment, run_name="running", parent_run_id=root, tags=step_tags
    ).info.run_id
    until(lambda: client.get_pipeline_run(root).engine_lost, what="the run reading as lost")

    params, reuse = resume_plan(client, "handmade", root)
    assert (params, reuse) == ({"n": 2}, {"stored": stored})
    assert client.get_run(stored).info.status == "FINISHED"
    left = client.get_run(running)
    assert (left.info.status, left.data.tags[STATE_TAG]) == ("FAILED", "FAILED")
    assert left.data.tags[REASON_TAG].startswith("the engine stopped: its last heartbeat was at ")
    assert client.get_run(root).info.status == "FAILED"
    assert client.get_pipeline_run(root).state == "FAILED"
