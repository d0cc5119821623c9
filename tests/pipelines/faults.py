"""Steps that fail in the ways issue 5 names, and the checks of what the store says after them.

The steps are module-level so the process executor's children import them by reference. They
synchronize with the test through files in a folder the pipeline takes as its ``gate``
parameter: a step says where it is by writing a file, and waits for one the test writes.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from clew.artifacts.blobstore import BlobStore
from clew.client.client import Client
from clew.core.settings import Settings
from clew.pipelines import Finally, pipeline, pipeline_status, step
from clew.pipelines.run_tags import (
    OUTPUT_TAG,
    PIPELINE_RUN_TAG,
    PIPELINE_TAG,
    RESUMED_FROM_TAG,
    STATE_TAG,
)
from clew.pipelines.state import StepState
from clew.pipelines.stored import manifest_digest

#: Longest a step waits for the test; a hang fails the test instead of blocking CI.
WAIT_S = 60.0


def wait_for(path: Path, timeout: float = WAIT_S) -> None:
    """Until ``path`` exists (the other side wrote it), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout:.0f} s")
        time.sleep(0.01)


def say(path: Path, text: str = "") -> None:
    """Write ``path`` whole (a temp renamed into place), so a reader never sees half of it."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text)
    temp.replace(path)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def until(condition: Any, timeout: float = WAIT_S, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f} s")
        time.sleep(0.02)


# ---- steps ---------------------------------------------------------------------------------


@step
def produce(rows: int) -> list[int]:
    return list(range(rows))


@step(retries=1, backoff_s=0)
def explode(values: list[int], gate: str) -> int:
    """Raises until the test writes ``gate/fixed`` (then a resume gets past it)."""
    if not (Path(gate) / "fixed").exists():
        raise ValueError(f"bad input {len(values)}")
    return sum(values)


@step
def downstream(total: int) -> int:
    return total + 1


@step
def note(status: str, gate: str) -> str:
    """The Finally step: it records that it ran, and with which status."""
    say(Path(gate) / "finally", status)
    return status


@step(timeout_s=1.0)
def hang(values: list[int], gate: str) -> int:
    """Says it started (with its pid), then waits for ``gate/release`` far past its timeout."""
    say(Path(gate) / "hang.pid", str(os.getpid()))
    wait_for(Path(gate) / "release")
    say(Path(gate) / "hang.returned")
    return len(values)


@step(retries=1, backoff_s=0)
def suicide(values: list[int]) -> int:
    """Kills its own process, as the OOM killer would."""
    os.kill(os.getpid(), signal.SIGKILL)
    return len(values)


@step
def victim(gate: str) -> int:
    """Says its pid and waits; the test kills it meanwhile."""
    say(Path(gate) / "victim.pid", str(os.getpid()))
    wait_for(Path(gate) / "never")
    return 0


@step
def bystander(gate: str) -> int:
    """Runs beside ``victim`` in another process and must not be taken down with it."""
    say(Path(gate) / "bystander.started")
    wait_for(Path(gate) / "go")
    return 7


@step
def stall(values: list[int], gate: str) -> int:
    """Says it runs (with the pid of the process it runs in), then waits for ``gate/release``:
    the test kills the engine meanwhile, and writes the file before resuming."""
    say(Path(gate) / "stall.pid", str(os.getpid()))
    wait_for(Path(gate) / "release")
    return sum(values)


@step
def bulky(rows: int) -> bytes:
    """An output of a few MiB, likely still being stored when the engine is killed."""
    return os.urandom(rows << 20)


@pipeline
def stalled(gate: str, rows: int = 3) -> int:
    bulky(rows)
    return downstream(stall(produce(rows), gate))


@pipeline
def raising(gate: str, rows: int = 3) -> int:
    out = downstream(explode(produce(rows), gate))
    with Finally():
        note(pipeline_status(), gate)
    return out


@pipeline
def hanging(gate: str, rows: int = 3) -> int:
    out = downstream(hang(produce(rows), gate))
    with Finally():
        note(pipeline_status(), gate)
    return out


@pipeline
def killed(rows: int = 3, gate: str = "") -> int:
    out = downstream(suicide(produce(rows)))
    with Finally():
        note(pipeline_status(), gate)
    return out


@pipeline
def two_processes(gate: str) -> None:
    victim(gate)
    bystander(gate)
    with Finally():
        note(pipeline_status(), gate)


# ---- what the store says -------------------------------------------------------------------


def roots(client: Client, name: str) -> list[Any]:
    """The tracked runs of pipeline ``name``, oldest first."""
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    found = client.search_runs(
        [experiment.experiment_id],
        f"tags.`{PIPELINE_TAG}` = '{name}'",
        order_by=["attributes.start_time ASC"],
    )
    return list(found)


def first_root(client: Client, name: str) -> Any:
    """The pipeline's first run (not a resume of another)."""
    return next(r for r in roots(client, name) if RESUMED_FROM_TAG not in r.data.tags)


def step_runs(client: Client, root_id: str) -> dict[str, Any]:
    """A pipeline run's tracked step runs by key (``fit``, ``fit[2]``)."""
    root = client.get_run(root_id)
    found = client.iter_runs([root.info.experiment_id], f"tags.`{PIPELINE_RUN_TAG}` = '{root_id}'")
    return {r.info.run_name: r for r in found}


def _files(client: Client, run_id: str, path: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            files.update(_files(client, run_id, entry.path))
        elif entry.digest:
            files[entry.path] = entry.digest
    return files


def check_records(client: Client, settings: Settings, root_id: str) -> dict[str, Any]:
    """What issue 5 demands of any pipeline run, however it ended, checked in the store:

    - a step run recorded as having made its outputs (SUCCEEDED) has every output tagged, and
      the files under ``outputs/<name>/`` match the tag's digest, each blob intact (re-hashed);
    - a step run with outputs on record is SUCCEEDED or CACHED: nothing half-recorded;
    - a run that did not make its outputs is not FINISHED (a StopBranch SKIPPED aside).

    While the pipeline run is still RUNNING (its engine was killed), a SUCCEEDED or CACHED step
    run may not be ended yet: the engine tags it once its outputs are stored and ends it right
    after, and may have died in between. Resuming the run ends it (``resume.end_lost_run``).

    Returns the step runs by key for the test's own checks.
    """
    blobs = BlobStore.from_uri(settings.resolved_artifact_root())
    ended = (
        ("FINISHED",)
        if client.get_run(root_id).info.status != "RUNNING"
        else ("FINISHED", "RUNNING")
    )
    runs = step_runs(client, root_id)
    for key, found in runs.items():
        tags, status = found.data.tags, found.info.status
        state = tags.get(STATE_TAG)
        outputs = {k[len(OUTPUT_TAG) :]: v for k, v in tags.items() if k.startswith(OUTPUT_TAG)}
        files = _files(client, found.info.run_id, "outputs")
        if state == StepState.SUCCEEDED.value:
            assert status in ended, f"{key}: SUCCEEDED but {status}"
            for name, tag in outputs.items():
                digest = tag.split(":", 1)[1]
                mine = {p: d for p, d in files.items() if p.startswith(f"outputs/{name}/")}
                assert manifest_digest(mine) == digest, f"{key}: {name} is not what was recorded"
        elif state == StepState.CACHED.value:
            assert status in ended, f"{key}: CACHED but {status}"
        else:
            assert not outputs, f"{key}: {state} yet it has outputs on record: {outputs}"
            assert status != "FINISHED" or state == StepState.SKIPPED.value, (
                f"{key}: {state} but {status}"
            )
        for path, digest in files.items():
            assert blobs.verify(digest), f"{key}: {path} is missing or damaged"
    return runs
