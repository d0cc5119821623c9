"""The engine's batched cache lookups (``Hooks.batches``/``Hooks.look_up``) with hooks of the
test's own: what starts together is looked up as one group on one worker, misses then run one
by one, hits end CACHED without running, and a lookup that is slow meets timeouts and cancels
as a running step does."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from clew.pipelines import Engine, ParallelFor, PipelineState, StepState, collect, pipeline, step
from clew.pipelines import graph as g
from clew.pipelines.executors import Invoker
from clew.pipelines.hooks import Cached, Hooks, Missed, Start
from clew.pipelines.state import StepRun


@step
def inc(x: int) -> int:
    return x + 1


@step(timeout_s=0.3)
def inc_briefly(x: int) -> int:
    return x + 1


@step
def gather(values: list[int]) -> list[int]:
    return values


@pipeline
def fan(items: list[int]) -> list[int]:
    with ParallelFor(items) as x:
        y = inc(x)
    return gather(collect(y))


@pipeline
def brief_fan(items: list[int]) -> list[int]:
    with ParallelFor(items) as x:
        y = inc_briefly(x)
    return gather(collect(y))


class Lookups(Hooks):
    """A loop's iterations that start together looked up as one group: the even items are
    hits (their attempt settled, as a hit's must be), the odd ones misses. ``release`` holds
    the lookup."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.ran: list[tuple[str, Missed | None]] = []
        self.looking = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail: BaseException | None = None

    def batches(self, starting: Sequence[Start]) -> list[list[int]]:
        return [[i for i, s in enumerate(starting) if s.run.index]]

    def look_up(self, group: Sequence[Start]) -> list[Cached | Missed | BaseException]:
        self.groups.append([s.run.key for s in group])
        self.looking.set()
        assert self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        found: list[Cached | Missed | BaseException] = []
        for start in group:
            x = start.kwargs["x"]
            if x % 2 == 0 and start.attempt.finish():
                found.append(Cached(x + 1, "run earlier"))
            else:
                found.append(Missed(f"key-{x}"))
        return found

    def call(
        self,
        task: g.TaskSpec,
        run: StepRun,
        invoker: Invoker,
        kwargs: dict[str, Any],
        looked_up: Missed | None = None,
    ) -> Any:
        if run.index:  # an iteration, not the fan-in
            self.ran.append((run.key, looked_up))
        return super().call(task, run, invoker, kwargs, looked_up)


def _run(pipeline_: Any, hooks: Lookups, items: list[int]) -> Any:
    return Engine(pipeline_.spec, {"items": items}, steps=pipeline_.steps, hooks=hooks).run()


def test_a_fan_out_is_looked_up_together_and_only_its_misses_run() -> None:
    hooks = Lookups()
    result = _run(fan, hooks, [0, 1, 2, 3, 4])
    assert result.state is PipelineState.SUCCEEDED and result.output == [1, 2, 3, 4, 5]
    assert hooks.groups == [["inc[0]", "inc[1]", "inc[2]", "inc[3]", "inc[4]"]]
    states = {key: r.state for key, r in result.steps.items()}
    assert states == {
        "gather": StepState.SUCCEEDED,
        "inc[0]": StepState.CACHED,
        "inc[1]": StepState.SUCCEEDED,
        "inc[2]": StepState.CACHED,
        "inc[3]": StepState.SUCCEEDED,
        "inc[4]": StepState.CACHED,
    }
    assert result.step("inc[0]").reason == "outputs of run earlier"
    # Each miss ran once, told what the lookup found; no hit ran.
    assert sorted(hooks.ran) == [("inc[1]", Missed("key-1")), ("inc[3]", Missed("key-3"))]


def test_a_failed_lookup_fails_the_steps_of_its_group() -> None:
    hooks = Lookups()
    hooks.fail = ConnectionError("the store went away")
    result = _run(fan, hooks, [0, 1])
    assert result.state is PipelineState.FAILED
    assert {k: r.state for k, r in result.steps.items()} == {
        "inc[0]": StepState.FAILED,
        "inc[1]": StepState.FAILED,
        "gather": StepState.SKIPPED,
    }
    assert result.step("inc[1]").reason == "ConnectionError: the store went away"
    assert hooks.ran == []


def test_a_canceled_run_does_not_start_what_its_lookup_missed() -> None:
    hooks = Lookups()
    hooks.release.clear()
    engine = Engine(fan.spec, {"items": [0, 1, 2, 3]}, steps=fan.steps, hooks=hooks)
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(engine.run()))
    worker.start()
    assert hooks.looking.wait(5)
    engine.cancel()
    hooks.release.set()
    worker.join(10)
    result = outcome[0]
    assert result.state is PipelineState.CANCELED
    states = {key: r.state for key, r in result.steps.items()}
    # The hits were settled before the cancel was seen; the misses never start.
    assert states == {
        "gather": StepState.CANCELED,
        "inc[0]": StepState.CACHED,
        "inc[1]": StepState.CANCELED,
        "inc[2]": StepState.CACHED,
        "inc[3]": StepState.CANCELED,
    }
    assert hooks.ran == []


def test_a_lookup_past_the_steps_timeout_fails_them_and_what_it_finds_is_dropped() -> None:
    hooks = Lookups()
    hooks.release.clear()
    result = _run(brief_fan, hooks, [0, 1])
    hooks.release.set()  # the lookup answers after the engine has given up on it
    assert result.state is PipelineState.FAILED
    for key in ("inc_briefly[0]", "inc_briefly[1]"):
        assert result.step(key).state is StepState.FAILED
        assert result.step(key).reason == "TimeoutError: exceeded 0.3 s"
    assert hooks.ran == []
