"""The engine runs traced pipelines on real threads: order, parallelism, control flow, faults."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from clew.pipelines import (
    Else,
    Engine,
    Finally,
    If,
    ParallelFor,
    PipelineDefinitionError,
    PipelineState,
    StepState,
    collect,
    pipeline,
    pipeline_status,
    run,
    step,
)


def run_untracked(pipeline: Any, params: dict[str, Any] | None = None) -> Any:
    """The engine alone: nothing is recorded (``tests/pipelines/test_tracking.py`` records)."""
    return run(pipeline, params, track=False)


class Pair(NamedTuple):
    low: int
    high: int


@step
def numbers(n: int) -> list[int]:
    return list(range(n))


@step
def total(values: list[int]) -> int:
    return sum(values)


@step
def halves(value: int) -> Pair:
    return Pair(value // 2, value - value // 2)


@step
def double(x: int) -> int:
    return 2 * x


def test_outputs_flow_and_every_step_succeeds() -> None:
    @pipeline
    def arithmetic(n: int = 5) -> int:
        parts = halves(total(numbers(n)))
        return double(parts.high)

    result = run_untracked(arithmetic, {"n": 6})
    assert result.state is PipelineState.SUCCEEDED
    assert result.output == 2 * (15 - 7)
    assert {k: r.state for k, r in result.steps.items()} == {
        "numbers": StepState.SUCCEEDED,
        "total": StepState.SUCCEEDED,
        "halves": StepState.SUCCEEDED,
        "double": StepState.SUCCEEDED,
    }
    assert result.step("halves").outputs == {"low": 7, "high": 8}
    assert result.params == {"n": 6}


def test_independent_steps_run_at_the_same_time() -> None:
    meet = threading.Barrier(2, timeout=5)

    @step
    def side(tag: str) -> str:
        meet.wait()  # breaks (and the step fails) unless both sides run at once
        return tag

    @pipeline
    def both() -> None:
        side("a")
        side("b")

    result = run_untracked(both)
    assert result.state is PipelineState.SUCCEEDED, result.reason


def test_a_false_condition_skips_its_branch_and_else_runs() -> None:
    ran: list[str] = []

    @step
    def mark(tag: str) -> None:
        ran.append(tag)

    @pipeline
    def branching(n: int = 3) -> None:
        value = total(numbers(n))
        with If(value > 10):
            mark("big")
        with Else():
            mark("small")

    result = run_untracked(branching)
    assert ran == ["small"]
    assert result.step("mark").state is StepState.SKIPPED
    assert result.step("mark").reason == "its condition was false"
    assert result.step("mark-2").state is StepState.SUCCEEDED
    assert run_untracked(branching, {"n": 6}).step("mark").state is StepState.SUCCEEDED


def test_fan_out_respects_parallelism_and_fans_in_in_item_order() -> None:
    lock, running, peak = threading.Lock(), [0], [0]

    @step
    def slow_square(x: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return x * x

    @pipeline
    def squares(n: int = 6, width: int = 2) -> int:
        with ParallelFor(numbers(n), parallelism=2) as x:
            squared = slow_square(x)
        return total(collect(squared))

    result = run_untracked(squares)
    assert result.output == sum(i * i for i in range(6))
    assert peak[0] == 2
    assert [result.step(f"slow_square[{i}]").outputs["output"] for i in range(6)] == [
        i * i for i in range(6)
    ]


def test_nested_loops_expand_per_item() -> None:
    @step
    def times(a: int, b: int) -> int:
        return a * b

    @pipeline
    def table() -> int:
        with ParallelFor([1, 2, 3]) as a:
            with ParallelFor([10, 20]) as b:
                product = times(a, b)
            row = total(collect(product))
        return total(collect(row))

    result = run_untracked(table)
    assert result.output == (1 + 2 + 3) * 30
    assert result.step("times[2,1]").outputs == {"output": 60}


def test_retries_with_backoff_then_success() -> None:
    attempts: list[float] = []

    @step(retries=2, backoff_s=0.05, backoff_factor=2)
    def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return "ok"

    @pipeline
    def once() -> str:
        return flaky()

    result = run_untracked(once)
    assert result.output == "ok" and result.step("flaky").attempts == 3
    assert attempts[1] - attempts[0] >= 0.05 and attempts[2] - attempts[1] >= 0.1


def test_a_failure_skips_what_depends_on_it_and_finally_still_runs() -> None:
    reported: list[str] = []

    @step(retries=1, backoff_s=0)
    def broken(x: int) -> int:
        raise ValueError(f"bad input {x}")

    @step
    def report(status: str) -> None:
        reported.append(status)

    @pipeline
    def failing() -> None:
        double(broken(total(numbers(3))))
        with Finally():
            report(pipeline_status())

    result = run_untracked(failing)
    assert result.state is PipelineState.FAILED and result.reason == (
        "step 'broken' failed: ValueError: bad input 3"
    )
    assert result.step("broken").state is StepState.FAILED
    assert result.step("broken").attempts == 2
    assert result.step("broken").reason == "ValueError: bad input 3"
    assert result.step("double").state is StepState.SKIPPED
    assert result.step("report").state is StepState.SUCCEEDED
    assert reported == ["FAILED"]


def test_a_timeout_fails_the_step_without_waiting_for_it() -> None:
    release = threading.Event()

    @step(timeout_s=0.2)
    def stuck() -> None:
        release.wait(10)

    @pipeline
    def hanging() -> None:
        stuck()

    started = time.monotonic()
    result = run_untracked(hanging)
    release.set()
    assert time.monotonic() - started < 5
    assert result.state is PipelineState.FAILED
    assert result.step("stuck").reason == "TimeoutError: exceeded 0.2 s"


def test_cancel_stops_new_steps_and_finally_runs() -> None:
    started, release = threading.Event(), threading.Event()
    reported: list[str] = []

    @step
    def long() -> int:
        started.set()
        release.wait(10)
        return 1

    @step
    def report(status: str) -> None:
        reported.append(status)

    @pipeline
    def cancelable() -> None:
        double(long())
        with Finally():
            report(pipeline_status())

    engine = Engine(cancelable.spec, {}, steps=cancelable.steps)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(engine.run()))
    worker.start()
    assert started.wait(5)
    engine.cancel()
    release.set()
    worker.join(10)
    result = outcome[0]
    assert result.state is PipelineState.CANCELED  # type: ignore[attr-defined]
    assert result.step("double").state is StepState.CANCELED  # type: ignore[attr-defined]
    assert reported == ["CANCELED"]
    assert result.step("long").state is StepState.SUCCEEDED  # type: ignore[attr-defined]


def test_a_nested_pipeline_runs_inline() -> None:
    @pipeline
    def inner(n: int = 2) -> Pair:
        return halves(total(numbers(n)))

    @pipeline
    def outer(n: int = 5) -> int:
        parts = inner(n)
        return double(parts.low)

    result = run_untracked(outer)
    assert result.output == 2 * (10 // 2)
    assert result.step("inner.halves").state is StepState.SUCCEEDED


def test_parameters_are_checked_before_anything_runs() -> None:
    @pipeline
    def needs(n: int) -> int:
        return total(numbers(n))

    with pytest.raises(PipelineDefinitionError, match="needs a value for parameter 'n'"):
        run_untracked(needs)
    with pytest.raises(PipelineDefinitionError, match="has no parameters \\['m'\\]"):
        run_untracked(needs, {"n": 1, "m": 2})


def test_a_spec_without_its_pipeline_imports_the_steps() -> None:
    @pipeline
    def plain(n: int = 4) -> int:
        return total(numbers(n))

    assert run_untracked(plain.spec).output == 6  # module-level steps import by reference


def test_the_readme_pipeline_example_runs(clew_home: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("### Pipelines", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["run"](namespace["sweep"], {"rows": 500})
    assert result.state is PipelineState.SUCCEEDED and result.output == 1 - 0.01 * 1000 / 500
