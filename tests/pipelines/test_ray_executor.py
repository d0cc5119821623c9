"""The Ray executor on a real local Ray instance: the engine's core set (a chain, a fan-out and
fan-in, a condition, retries, a timeout, a failure with a Finally step, caching across runs),
tracked from inside the Ray workers, with outputs travelling through the artifact store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import clew
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.settings import Settings
from clew.pipelines import (
    Else,
    Finally,
    If,
    ParallelFor,
    PipelineState,
    StepState,
    collect,
    pipeline,
    pipeline_status,
    run,
    step,
)
from clew.pipelines.graph import Resources, StepOptions
from clew.pipelines.run_tags import OUTPUT_TAG
from clew.pipelines.stored import StoredOutput
from tests.conftest import need
from tests.pipelines.test_tracking import _children, _root

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    """One local Ray instance for the module (it takes seconds to start)."""
    ray = need("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def ray_executor(ray_instance: Any) -> Iterator[Any]:
    from clew.pipelines.ray_executor import RayExecutor

    made = RayExecutor()
    yield made
    made.shutdown()


@pytest.fixture
def local_client(settings: Settings) -> Iterator[Client]:
    transport = LocalTransport(settings)
    yield Client(transport=transport)
    transport.close()


# ---- steps ---------------------------------------------------------------------------------


@step
def inc(x: int) -> int:
    clew.log_metric("x", float(x))  # in the Ray worker, on the step's run
    return x + 1


@step
def pid() -> int:
    return os.getpid()


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@step
def explode() -> int:
    raise ValueError("inside the Ray worker")


@step
def killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@step
def report(status: str, where: str) -> None:
    Path(where).write_text(status)


@step
def flaky(where: str) -> int:
    """Fails until its third attempt (the attempts count in a file: each may be a new worker)."""
    counter = Path(where)
    attempts = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempts))
    if attempts < 3:
        raise RuntimeError(f"attempt {attempts}")
    return attempts


@step(timeout_s=10)  # room for a cold worker (importing Clew, opening the store) on a busy machine
def hang(where: str) -> int:
    Path(where).write_text(str(os.getpid()))
    time.sleep(120)
    Path(where + ".done").write_text("ran on")
    return 0


@step
def counted(x: int, where: str) -> int:
    with Path(where).open("a") as calls:
        calls.write("x")
    return x * 2


@step
def unless_fixed(x: int, fixed: str) -> int:
    if not Path(fixed).exists():
        raise RuntimeError("not fixed yet")
    return x + 1


@step(cpu=2, memory="100M")
def assigned() -> dict[str, float]:
    import ray

    return dict(ray.get_runtime_context().get_assigned_resources())


class Traced:
    """A value that writes down which process unpickles it: the driver must never."""

    def __init__(self, log: str, payload: int) -> None:
        self.log, self.payload = log, payload

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickled, (self.log, self.payload))


def _unpickled(log: str, payload: int) -> Traced:
    with Path(log).open("a") as out:
        out.write(f"{os.getpid()}\n")
    return Traced(log, payload)


@step
def make_traced(log: str) -> Traced:
    return Traced(log, 41)


@step
def read_traced(value: Traced, log: str) -> int:
    with Path(log).open("a") as out:
        out.write("read\n")  # after the value was unpickled here, in the worker
    return value.payload + 1


# ---- pipelines -----------------------------------------------------------------------------


@pipeline
def chain(start: int = 0) -> int:
    return inc(inc(inc(start)))


@pipeline
def fan() -> int:
    with ParallelFor([1, 2, 3, 4], parallelism=2) as x:
        y = inc(x)
    return total(collect(y))


@pipeline
def conditional(start: int = 0) -> int:
    top = inc(start)
    with If(top > 5):
        inc.options(name="big")(top)
    with Else():
        inc.options(name="small")(top)
    return top


@pipeline
def retried(where: str) -> int:
    return flaky.options(retries=3, backoff_s=0.1)(where)


@pipeline
def stuck(where: str) -> int:
    return hang(where)


@pipeline
def failing(where: str) -> int:
    value = explode()
    with Finally():
        report(pipeline_status(), where)
    return value


@pipeline
def crashing() -> int:
    return killed()


@pipeline
def cached(where: str) -> int:
    return counted(counted(1, where), where)


@pipeline
def resumable(calls: str, fixed: str) -> int:
    return unless_fixed(counted(1, calls), fixed)


@pipeline
def resourced() -> dict[str, float]:
    return assigned()


@pipeline
def traced(log: str) -> int:
    return read_traced(make_traced(log), log)


def _root_id(client: Client, name: str) -> str:
    return str(_root(client, name).info.run_id)  # type: ignore[attr-defined]


# ---- the core set --------------------------------------------------------------------------


def test_a_chain_runs_as_ray_tasks_tracked_from_the_workers(
    ray_executor: Any, local_client: Client
) -> None:
    result = run(chain, {"start": 1}, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.output == 4  # loaded from the store: the driver asked for it
    steps = _children(local_client, _root_id(local_client, "chain"))
    assert sorted(steps) == ["inc", "inc-2", "inc-3"]
    assert sorted(r.data.metrics["x"].value for r in steps.values()) == [1.0, 2.0, 3.0]
    assert all(r.info.status == "FINISHED" for r in steps.values())
    # Each step run holds a reference; the value is in the producing run's artifacts.
    ref = result.step("inc").outputs["output"]
    assert isinstance(ref, StoredOutput) and ref.run_id == steps["inc"].info.run_id
    assert steps["inc"].data.tags[OUTPUT_TAG + "output"] == f"json:{ref.digest}"
    assert steps["inc-2"].data.params == {"x": f"sha256:{ref.digest}"}


def test_lineage_records_every_step_run_and_what_it_read(
    ray_executor: Any, local_client: Client
) -> None:
    run(fan, client=local_client, executor=ray_executor)
    root_id = _root_id(local_client, "fan")
    steps = _children(local_client, root_id)
    ids = {name: r.info.run_id for name, r in steps.items()}
    names = {v: k for k, v in ids.items()}
    raw = local_client.pipeline_step_edges(root_id, list(ids.values()))
    edges = {(names[r], kind, name): (node, d) for r, kind, name, node, d in raw}
    produced = {edges[(f"inc[{i}]", "OUTPUT", "output")][0] for i in range(4)}
    read = {node for r, kind, _, node, _ in raw if names[r] == "total" and kind == "INPUT"}
    assert read == produced and len(produced) == 4
    graph = local_client.get_lineage(ids["total"], direction="upstream")
    assert {ids[f"inc[{i}]"] for i in range(4)} <= {n.id for n in graph.nodes}


def test_a_fan_out_and_fan_in_over_ray(ray_executor: Any, local_client: Client) -> None:
    result = run(fan, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.output == 2 + 3 + 4 + 5
    assert [result.step(f"inc[{i}]").state for i in range(4)] == [StepState.SUCCEEDED] * 4


@sqlite_only
def test_a_condition_decides_on_a_value_loaded_from_the_store(
    ray_executor: Any, local_client: Client
) -> None:
    result = run(conditional, {"start": 9}, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.step("big").state is StepState.SUCCEEDED
    assert result.step("small").state is StepState.SKIPPED
    assert result.step("small").reason == "its condition was false"


@sqlite_only
def test_a_failed_attempt_is_retried_as_a_new_ray_task(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    where = str(tmp_path / "attempts")
    result = run(retried, {"where": where}, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.output == 3 and result.step("flaky").attempts == 3


@sqlite_only
def test_a_step_past_its_timeout_fails_and_its_ray_task_is_killed(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    where = tmp_path / "hang"
    started = time.monotonic()
    result = run(stuck, {"where": str(where)}, client=local_client, executor=ray_executor)
    assert time.monotonic() - started < 60
    assert result.state is PipelineState.FAILED
    assert (result.step("hang").reason or "").startswith("TimeoutError: exceeded 10 s")
    assert where.exists(), "the step did not start within its timeout: too slow a machine?"
    worker = int(where.read_text())
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker), "ray.cancel(force=True) should have killed the worker"
    assert not Path(str(where) + ".done").exists()


def _alive(process: int) -> bool:
    try:
        os.kill(process, 0)
    except ProcessLookupError:
        return False
    return True


@sqlite_only
def test_a_failing_step_fails_the_run_and_the_finally_step_still_runs(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    where = tmp_path / "status"
    result = run(failing, {"where": str(where)}, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.FAILED
    assert result.step("explode").reason == "ValueError: inside the Ray worker"
    assert result.step("report").state is StepState.SUCCEEDED
    assert where.read_text() == "FAILED"


@sqlite_only
def test_a_step_whose_worker_is_killed_fails_once_not_retried_by_ray(
    ray_executor: Any, local_client: Client
) -> None:
    result = run(crashing, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.FAILED
    assert result.step("killed").attempts == 1
    assert "WorkerCrashedError" in (result.step("killed").reason or "")
    steps = _children(local_client, _root_id(local_client, "crashing"))
    assert steps["killed"].info.status == "FAILED"


@sqlite_only
def test_a_fan_outs_iterations_are_served_from_the_cache_together(
    ray_executor: Any, local_client: Client
) -> None:
    first = run(fan, client=local_client, executor=ray_executor)
    second = run(fan, client=local_client, executor=ray_executor)
    assert first.output == second.output == 14
    assert {s.state for s in second.steps.values()} == {StepState.CACHED}
    # Looked up two at a time (the loop's parallelism), each hit a reference, not a value.
    refs = [second.step(f"inc[{i}]").outputs["output"] for i in range(4)]
    assert all(isinstance(ref, StoredOutput) for ref in refs)
    made = _children(local_client, first_root(local_client, "fan"))
    assert [ref.run_id for ref in refs] == [made[f"inc[{i}]"].info.run_id for i in range(4)]


@sqlite_only
def test_a_second_run_is_served_from_the_cache(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    where = tmp_path / "calls"
    first = run(cached, {"where": str(where)}, client=local_client, executor=ray_executor)
    second = run(cached, {"where": str(where)}, client=local_client, executor=ray_executor)
    assert first.output == second.output == 4
    assert {s.state for s in second.steps.values()} == {StepState.CACHED}
    assert where.read_text() == "xx"  # two calls, in the first run only
    # The hit hands on a reference to the first run's files, not their value.
    ref = second.step("counted").outputs["output"]
    assert isinstance(ref, StoredOutput)
    assert ref.run_id == _children(local_client, first_root(local_client))["counted"].info.run_id


def first_root(client: Client, name: str = "cached") -> str:
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    roots = client.search_runs(
        [experiment.experiment_id],
        f"tags.`clew.pipeline` = '{name}'",
        order_by=["attributes.start_time ASC"],
    )
    return str(roots.items[0].info.run_id)


@sqlite_only
def test_outputs_travel_through_the_store_not_the_driver(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    log = tmp_path / "unpickled"
    result = run(traced, {"log": str(log)}, client=local_client, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.output == 42
    # The Traced value was pickled into the store by its maker's worker and unpickled once,
    # in the reader's worker, before the reader ran; never in this, the driver's, process.
    lines = log.read_text().split()
    assert lines[-1] == "read" and len(lines) == 2
    assert int(lines[0]) != os.getpid()
    ref = result.step("make_traced").outputs["output"]
    assert isinstance(ref, StoredOutput) and ref.materializer == "pickle"
    files = local_client.list_artifacts(ref.run_id, "outputs/output")
    assert [f.path for f in files] == ["outputs/output/value.pkl"]


@sqlite_only
def test_a_resumed_run_reuses_what_succeeded_by_reference(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    calls, fixed = tmp_path / "calls", tmp_path / "fixed"
    params = {"calls": str(calls), "fixed": str(fixed)}
    failed = run(resumable, params, client=local_client, executor=ray_executor, cache=False)
    assert failed.state is PipelineState.FAILED
    failed_id = _root_id(local_client, "resumable")
    fixed.touch()
    resumed = run(
        resumable, client=local_client, executor=ray_executor, cache=False, resume_from=failed_id
    )
    assert resumed.state is PipelineState.SUCCEEDED, resumed.reason
    assert resumed.output == 3 and calls.read_text() == "x"  # counted ran once, in the first
    assert resumed.step("counted").state is StepState.CACHED
    ref = resumed.step("counted").outputs["output"]
    assert isinstance(ref, StoredOutput)
    assert ref.run_id == _children(local_client, failed_id)["counted"].info.run_id


@sqlite_only
def test_a_refused_pickle_fails_the_step_in_the_worker(
    ray_executor: Any, local_client: Client, tmp_path: Path
) -> None:
    log = tmp_path / "unpickled"
    result = run(
        traced, {"log": str(log)}, client=local_client, executor=ray_executor, allow_pickle=False
    )
    assert result.state is PipelineState.FAILED
    assert "only pickle can store" in (result.step("make_traced").reason or "")
    assert result.step("read_traced").state is StepState.SKIPPED


# ---- resources and the instance ------------------------------------------------------------


def test_resource_hints_become_task_options() -> None:
    from clew.pipelines.ray_executor import task_options

    hints = StepOptions(resources=Resources(cpu=0.5, memory=2**30, gpu=1))
    assert task_options(hints) == {"num_cpus": 0.5, "memory": 2**30, "num_gpus": 1}
    assert task_options(StepOptions()) == {}


def test_a_task_gets_the_resources_its_step_asks_for(ray_executor: Any) -> None:
    result = run(resourced, track=False, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED, result.reason
    assert result.output["CPU"] == 2.0 and result.output["memory"] == 100e6


def test_untracked_values_travel_through_ray(ray_executor: Any) -> None:
    result = run(fan, track=False, executor=ray_executor)
    assert result.state is PipelineState.SUCCEEDED and result.output == 14
    assert result.step("inc[0]").outputs["output"] == 2


def test_a_ray_it_did_not_start_is_left_running(ray_instance: Any) -> None:
    from clew.pipelines.ray_executor import RayExecutor

    RayExecutor().shutdown()
    assert ray_instance.is_initialized()


_BY_NAME = """
import os, ray
from clew.pipelines import pipeline, run, step

@step
def where() -> int:
    return os.getpid()

@step(cpu=64)
def greedy() -> int:
    return 0

@pipeline
def flow() -> int:
    return where()

@pipeline
def too_big() -> int:
    return greedy()

result = run(flow, track=False, executor="ray")
assert result.state.value == "SUCCEEDED", result.reason
assert result.output != os.getpid()
assert not ray.is_initialized(), "the executor started Ray, so it shuts it down"
big = run(too_big, track=False, executor="ray")
print(big.step("greedy").reason)
"""


@pytest.mark.slow
def test_by_name_it_starts_a_local_instance_and_shuts_it_down(ray_instance: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BY_NAME)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == (
        "clew.core.errors.InvalidInput: the step asks for num_cpus=64; this local Ray instance has "
        f"{os.cpu_count()} and cannot grow"
    )
