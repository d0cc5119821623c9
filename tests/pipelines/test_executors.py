"""The process executor runs steps in other interpreters, tracked as with threads."""

from __future__ import annotations

import os

import pytest

import clew
from clew.client.client import Client
from clew.core.errors import InvalidInput
from clew.pipelines import ParallelFor, PipelineState, StepState, collect, pipeline, run, step
from clew.pipelines.executors import ProcessExecutor, executor


@step
def where(tag: int) -> int:
    clew.log_metric("tag", float(tag))  # through the child's own client, to the step's run
    return os.getpid()


@step
def distinct(pids: list[int]) -> int:
    return len(set(pids))


@step
def explode() -> int:
    raise ValueError("inside the child")


@pipeline
def spread() -> int:
    with ParallelFor([1, 2, 3, 4]) as tag:
        pid = where(tag)
    return distinct(collect(pid))


@pipeline
def failing() -> int:
    return explode()


def test_steps_run_in_child_processes_and_log_to_their_runs(local_client: Client) -> None:
    pool = ProcessExecutor(max_workers=2)
    try:
        result = run(spread, client=local_client, executor=pool, cache=False)
    finally:
        pool.shutdown()
    assert result.state is PipelineState.SUCCEEDED, result.reason
    pids = {result.step(f"where[{i}]").outputs["output"] for i in range(4)}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    runs = local_client.search_runs(filter_string="tags.`clew.pipeline.step` = 'where'")
    assert sorted(r.data.metrics["tag"].value for r in runs) == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failure_in_a_child_is_the_step_failure(local_client: Client) -> None:
    result = run(failing, client=local_client, executor="processes")
    assert result.state is PipelineState.FAILED
    assert result.step("explode").state is StepState.FAILED
    assert result.step("explode").reason == "ValueError: inside the child"


def test_executors_are_chosen_by_name() -> None:
    threads = executor("threads")
    assert threads.name == "threads"
    threads.shutdown()
    with pytest.raises(
        InvalidInput, match="unknown executor 'gpu-farm'; known: processes, ray, threads"
    ):
        executor("gpu-farm")
