"""The scheduler: walks a pipeline's graph and runs every step as soon as what it reads exists.

One scheduler loop on the calling thread owns all state; step functions run on an executor
and report back through a queue, so there are no locks around the graph. Each pass it:

- expands loops whose items are known into one step run per item (``fit[0]``, ``fit[1]`` …);
- settles step runs that cannot run (an input that was never produced: SKIPPED; a condition
  that is false: SKIPPED) or may run (every input there, the loop's parallelism not used up);
- starts those, at most ``parallelism`` iterations of a loop at a time;
- fails a running step whose timeout passed, and retries a failed one after its backoff.

The step runs a pass starts go to the executor together (``submissions``): those the hooks
look up in a cache together (a fan-out's iterations) as one job per group, whose misses then
run one by one; the rest one job each.

Each attempt is an ``attempts.Attempt`` that the scheduler (on a timeout) and the worker (as
the function returns) race to settle: a timed-out attempt that returns late records nothing,
and an executor that can stop it (the process pool) does.

After a failure no new step starts (what runs finishes) and the rest is SKIPPED, as Argo's
fail-fast DAGs do; ``Finally`` steps run once everything else is settled, whatever happened,
including a cancel.
"""

from __future__ import annotations

import dataclasses
import itertools
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from clew.pipelines import attempts
from clew.pipelines import graph as g
from clew.pipelines.attempts import Abandoned, Attempt
from clew.pipelines.conditions import ConditionError, evaluate
from clew.pipelines.executors import Executor, Invoker, ThreadExecutor, import_step
from clew.pipelines.flatten import flatten
from clew.pipelines.hooks import Cached, Hooks, Missed, Start, outputs_of
from clew.pipelines.loop_slots import LoopSlots
from clew.pipelines.state import (
    Outputs,
    PipelineRunResult,
    PipelineState,
    StepRun,
    StepState,
    StopBranch,
    resolved,
)
from clew.pipelines.submissions import Miss, Submissions

Key = tuple[str, tuple[int, ...]]
Listener = Callable[[StepRun], None]


class _Missing(Exception):
    """An input that will never exist (its producer failed or was skipped)."""


class _NotYet(Exception):
    """An input whose producer has not finished."""


class Engine:
    def __init__(
        self,
        spec: g.PipelineSpec,
        params: Mapping[str, Any],
        *,
        steps: Mapping[str, Any] | None = None,
        executor: Executor | None = None,
        listener: Listener | None = None,
        hooks: Hooks | None = None,
        owns_executor: bool | None = None,
    ) -> None:
        """``owns_executor`` (by default: whether ``executor`` was left out) shuts the executor
        down when the run ends."""
        self.spec = flatten(spec).validate()
        self.params = g.bind_params(self.spec, params)
        self.tasks = {t.name: t for t in self.spec.tasks}
        self.executor = executor or ThreadExecutor()
        self.invokers = {
            t.name: self.executor.invoker(t.step or "", _function(t, steps or {}), t.options)
            for t in self.spec.tasks
        }
        self._owns_executor = executor is None if owns_executor is None else owns_executor
        self.hooks = hooks or Hooks()
        self._listener = listener or (lambda _run: None)
        self.runs: dict[Key, StepRun] = {}
        self.items: dict[tuple[str, tuple[int, ...]], list[Any]] = {}
        # Indexes kept as runs change, so a pass costs what changed, not the whole graph:
        # the tasks whose runs all exist, each task's runs, the runs not yet started, and how
        # many runs are not terminal (Finally ones apart).
        self._all_made: set[str] = set()
        self._runs_of: dict[str, list[StepRun]] = {t.name: [] for t in self.spec.tasks}
        self._pending: dict[Key, StepRun] = {}
        self._open = {False: 0, True: 0}
        #: Which loop iterations are under way, and the runs waiting for a slot.
        self._slots = LoopSlots()
        # Which pending runs a pass tries: only those something happened to since they were
        # last tried (made, an input's producer ended, a slot of their loop freed, a retry's
        # backoff passed, or the run as a whole changed: a cancel, a failure, the regular
        # steps all done), so a pass costs what changed, not every pending run. ``_order``
        # keeps them tried in the order they became pending, as a scan of ``_pending`` would.
        self._readers: dict[str, list[tuple[g.TaskSpec, int]]] = {
            t.name: [] for t in self.spec.tasks
        }
        for t in self.spec.tasks:
            for name in sorted(t.upstream()):
                self._readers[name].append((t, _shared_loops(self.tasks[name], t)))
        self._dirty: dict[Key, None] = {}
        self._order: dict[Key, int] = {}
        self._made = itertools.count()
        self._mood: tuple[bool, bool, bool] = (False, False, False)
        self._unmade = list(self.spec.tasks)
        self._regular_unmade = sum(not t.is_finally for t in self.spec.tasks)
        self._done: queue.Queue[tuple[Key, int, BaseException | None, Any]] = queue.Queue()
        #: Hands the attempts a pass made ready to the executor as it ends.
        self._submissions = Submissions(self.executor, self.hooks, self._done)
        self._attempt: dict[Key, int] = {}
        #: The attempt under way of each running step run.
        self._running: dict[Key, Attempt] = {}
        self._deadline: dict[Key, float] = {}
        self._not_before: dict[Key, float] = {}
        self._cancel = threading.Event()
        self._failed = False
        #: Failures that belong to no step run (a loop over something that is not a list).
        self._problems: list[str] = []

    def _changed(self, run: StepRun) -> None:
        self.hooks.changed(run)
        self._listener(run)

    # ---- the loop -----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop starting steps; pending ones become CANCELED, Finally steps still run."""
        self._cancel.set()

    def run(self) -> PipelineRunResult:
        self.hooks.started()
        try:
            try:
                while True:
                    self._expand()
                    self._settle_and_start()
                    if self._finished():
                        break
                    self._wait()
            except BaseException as exc:  # Ctrl-C, or a listener that raised
                self._interrupted(exc)
                raise
        finally:
            if self._owns_executor:
                self.executor.shutdown()
        result = self._result()
        self.hooks.finished(result)
        return result

    def _interrupted(self, error: BaseException) -> None:
        """The loop itself was stopped: give up on the steps that run, let those that returned
        finish storing their outputs (a second Ctrl-C stops that wait), end the run CANCELED
        with the reason (resumable), and let the error go on. Finally steps do not run: the
        caller asked to stop now."""
        reason = f"the engine was interrupted: {_describe(error)}"
        self._listener = lambda _run: None  # it may be what raised
        self._cancel.set()
        storing = {key for key, under_way in self._running.items() if not under_way.abandon()}
        while storing:
            try:
                event = self._done.get(timeout=0.5)
            except queue.Empty:
                continue
            self._complete(*event)
            if event[1] == self._attempt.get(event[0]):  # not a late, timed-out attempt's
                storing.discard(event[0])
        self._running.clear()
        for run in self.runs.values():
            if not run.state.is_terminal:
                self._end(run, StepState.CANCELED, reason)
        self._problems.append(reason)
        self.hooks.finished(self._result())

    def _wait(self) -> None:
        now = time.monotonic()
        wake = [t for t in (*self._deadline.values(), *self._not_before.values()) if t > now]
        timeout = max(0.0, min(wake) - now) if wake else 0.5
        try:
            event = self._done.get(timeout=min(timeout, 0.5))
        except queue.Empty:
            event = None
        while event is not None:
            self._complete(*event)
            try:
                event = self._done.get_nowait()
            except queue.Empty:
                event = None
        self._expire(time.monotonic())

    def _finished(self) -> bool:
        return len(self._all_made) == len(self.spec.tasks) and not any(self._open.values())

    # ---- loops --------------------------------------------------------------------------------

    def _expand(self) -> None:
        learned = len(self.items)
        for task in self._unmade:
            indexes, complete = self._indexes(task)
            for index in indexes:
                if (task.name, index) not in self.runs:
                    self._add(task, StepRun(task.name, index))
            if complete:
                self._all_made.add(task.name)
                self._regular_unmade -= not task.is_finally
        if len(self._all_made) + len(self._unmade) != len(self.spec.tasks):
            self._unmade = [t for t in self._unmade if t.name not in self._all_made]
        if len(self.items) != learned:
            # A loop's items became known: a ``collect`` or ``after`` of a loop with no
            # iterations waits for nothing to end, so whatever waits is tried again.
            self._dirty.update(dict.fromkeys(self._pending))

    def _add(self, task: g.TaskSpec, run: StepRun) -> None:
        key = (run.task, run.index)
        self.runs[key] = run
        self._runs_of[task.name].append(run)
        self._make_pending(key, run)
        self._open[task.is_finally] += 1
        self._slots.made(task, run.index)

    def _make_pending(self, key: Key, run: StepRun) -> None:
        self._pending[key] = run
        self._order[key] = next(self._made)
        self._dirty[key] = None

    def _wake_readers(self, run: StepRun) -> None:
        """Try again the pending runs that read what ``run`` (just ended) made or decided."""
        for reader, shared in self._readers[run.task]:
            prefix = run.index[:shared]
            if len(reader.loops) == shared:  # the one run of ``reader`` that reads it
                key = (reader.name, prefix)
                if key in self._pending:
                    self._dirty[key] = None
                continue
            for other in self._runs_of[reader.name]:  # ``reader`` is in a deeper loop
                key = (other.task, other.index)
                if other.index[:shared] == prefix and key in self._pending:
                    self._dirty[key] = None

    def _indexes(self, task: g.TaskSpec) -> tuple[list[tuple[int, ...]], bool]:
        """Every index of ``task`` whose loops' items are known so far, and whether that is
        all of them (no loop it is in still waits for its items)."""
        prefixes: list[tuple[int, ...]] = [()]
        complete = True
        for depth, loop in enumerate(task.loops):
            deeper: list[tuple[int, ...]] = []
            for prefix in prefixes:
                items = self._loop_items(task, depth, loop, prefix)
                if items is None:
                    complete = False
                else:
                    deeper.extend((*prefix, i) for i in range(len(items)))
            prefixes = deeper
        return prefixes, complete

    def _expanded(self, task: g.TaskSpec) -> bool:
        return task.name in self._all_made

    def _loop_items(
        self, task: g.TaskSpec, depth: int, loop: g.Loop, prefix: tuple[int, ...]
    ) -> list[Any] | None:
        known = self.items.get((loop.id, prefix))
        if known is not None:
            return known
        try:
            value = self.hooks.resolve(self._value(task.loops[:depth], prefix, loop.items))
        except _NotYet:
            return None
        except _Missing:
            value = []  # nothing to iterate: the steps inside never exist
        if not isinstance(value, list | tuple):
            # Its steps never exist; the run fails with the reason.
            self._failed = True
            self._problems.append(f"loop {loop.id!r} needs a list, got {type(value).__name__}")
            value = []
        self.items[(loop.id, prefix)] = list(value)
        return self.items[(loop.id, prefix)]

    # ---- inputs -------------------------------------------------------------------------------

    def _value(
        self,
        loops: tuple[g.Loop, ...],
        index: tuple[int, ...],
        source: g.Source,
        *,
        stored: bool = False,
    ) -> Any:
        """What ``source`` holds for the step run at ``index`` inside ``loops``; ``stored``
        leaves a cache hit's output ``Deferred`` (a step's input: loaded if the step runs)."""
        if isinstance(source, g.Constant):
            return source.value
        if isinstance(source, g.PipelineParam):
            return self.params[source.name]
        if isinstance(source, g.LoopItem):
            depth = next(i for i, loop in enumerate(loops) if loop.id == source.loop)
            return self.items[(source.loop, index[:depth])][index[depth]]
        if isinstance(source, g.TaskOutput):
            producer = self.tasks[source.task]
            run = self.runs.get((source.task, index[: len(producer.loops)]))
            if run is None or not run.state.is_terminal:
                raise _NotYet
            if not run.state.produced:
                raise _Missing
            return run.outputs.stored(source.output) if stored else run.outputs[source.output]
        if isinstance(source, g.Collected):
            gathered = self._collected(source, index)
            return gathered if stored else resolved(gathered)
        if self._cancel.is_set():
            return PipelineState.CANCELED.value
        return PipelineState.FAILED.value if self._failed else PipelineState.SUCCEEDED.value

    def _collected(self, source: g.Collected, index: tuple[int, ...]) -> list[Any]:
        producer = self.tasks[source.task]
        prefix = index[: len(producer.loops) - 1]
        items = self.items.get((producer.loops[-1].id, prefix))
        if items is None:
            raise _NotYet
        runs = [self.runs.get((source.task, (*prefix, i))) for i in range(len(items))]
        if any(r is None or not r.state.is_terminal for r in runs):
            raise _NotYet
        if any(r.state in (StepState.FAILED, StepState.CANCELED) for r in runs if r):
            raise _Missing
        return [r.outputs.stored(source.output) for r in runs if r and r.state.produced]

    def _after_settled(self, task: g.TaskSpec, index: tuple[int, ...]) -> bool:
        for name in task.after:
            width = min(len(self.tasks[name].loops), len(index))
            others = [r for r in self._runs_of[name] if r.index[:width] == index[:width]]
            if not self._expanded(self.tasks[name]) or any(not r.state.is_terminal for r in others):
                return False
        return True

    # ---- settling and starting ----------------------------------------------------------------

    def _settle_and_start(self) -> None:
        self._settle()
        self._submissions.submit()

    def _settle(self) -> None:
        now = time.monotonic()
        for key, at in self._not_before.items():
            if at <= now:  # a retry whose backoff has passed
                self._dirty[key] = None
        while True:
            regular_done = self._open[False] == 0 and not self._regular_unmade
            mood = (self._cancel.is_set(), self._failed, regular_done)
            if mood != self._mood:
                self._mood = mood
                self._dirty.update(dict.fromkeys(self._pending))
            if not self._dirty:
                return
            keys = sorted(self._dirty, key=self._order.__getitem__)
            self._dirty.clear()
            for key in keys:
                run = self._pending.get(key)
                if run is None or run.state is not StepState.PENDING:
                    continue
                if self._not_before.get(key, 0) > now:
                    continue
                task = self.tasks[run.task]
                if task.is_finally:
                    if regular_done:
                        self._try_start(task, run)
                    continue
                if self._cancel.is_set():
                    self._end(run, StepState.CANCELED, "the pipeline run was canceled")
                elif self._failed and run.attempts == 0:
                    self._end(run, StepState.SKIPPED, "an earlier step failed")
                else:
                    self._try_start(task, run)

    def _try_start(self, task: g.TaskSpec, run: StepRun) -> None:
        if not self._after_settled(task, run.index):
            return
        try:
            if task.when is not None and not evaluate(
                task.when, lambda s: self.hooks.resolve(self._value(task.loops, run.index, s))
            ):
                self._end(run, StepState.SKIPPED, "its condition was false")
                return
            kwargs = {
                k: self._value(task.loops, run.index, s, stored=True)
                for k, s in task.inputs.items()
            }
        except _NotYet:
            return
        except _Missing:
            self._end(run, StepState.SKIPPED, "an input it reads was not produced")
            return
        except ConditionError as exc:
            self._failed = not task.is_finally or self._failed
            self._end(run, StepState.FAILED, f"its condition cannot be decided: {exc}")
            return
        if self._slots.refuse(task, run.index):  # tried again when a slot frees or its
            return  # iteration starts
        self._start(task, run, kwargs)

    def _start(self, task: g.TaskSpec, run: StepRun, kwargs: dict[str, Any]) -> None:
        key = (run.task, run.index)
        attempt = run.attempts + 1
        # Only this attempt's result counts: a timed-out one that finishes late is dropped.
        self._attempt[key] = attempt
        run.attempts = attempt
        run.state = StepState.RUNNING
        run.started_at = run.started_at or time.time()
        self._pending.pop(key, None)
        self._dirty.update(dict.fromkeys(self._slots.started(task, run.index)))
        self._not_before.pop(key, None)
        if task.options.timeout_s is not None:
            self._deadline[key] = time.monotonic() + task.options.timeout_s
        self.hooks.before(task, run, kwargs)
        self._changed(run)
        hooks, under_way = self.hooks, Attempt()
        invoker = _settling(self.invokers[task.name], under_way)
        self._running[key] = under_way

        def call(looked_up: Missed | None = None) -> None:
            try:
                with attempts.running(under_way):
                    value = hooks.call(task, run, invoker, kwargs, looked_up)
            except BaseException as exc:  # reported to the loop, never lost on the thread
                self._done.put((key, attempt, exc, None))
            else:
                self._done.put((key, attempt, None, value))

        self._submissions.add(key, attempt, Start(task, run, invoker, kwargs, under_way), call)

    # ---- completions --------------------------------------------------------------------------

    def _complete(self, key: Key, attempt: int, error: BaseException | None, value: Any) -> None:
        run = self.runs[key]
        if attempt != self._attempt.get(key) or run.state is not StepState.RUNNING:
            return  # a timed-out attempt finishing late, or canceled meanwhile
        if isinstance(value, Miss):
            if not self._cancel.is_set():
                self.executor.submit(value.call)  # not in the cache: it runs now
                return
            self._deadline.pop(key, None)
            self._running.pop(key, None)
            self._end(run, StepState.CANCELED, "the pipeline run was canceled")
            return
        self._deadline.pop(key, None)
        self._running.pop(key, None)
        task = self.tasks[run.task]
        if error is None:
            cached = value if isinstance(value, Cached) else None
            try:
                run.outputs = Outputs(outputs_of(task, cached.value if cached else value))
            except TypeError as exc:
                error = exc
            else:
                if cached is not None:
                    self._end(run, StepState.CACHED, f"outputs of {cached.source}")
                else:
                    self._end(run, StepState.SUCCEEDED, None)
                return
        if isinstance(error, StopBranch):
            self._end(run, StepState.SKIPPED, error.reason)
            return
        self._failure(task, run, _describe(error))

    def _expire(self, now: float) -> None:
        for key, deadline in list(self._deadline.items()):
            if deadline <= now:
                del self._deadline[key]
                under_way = self._running.pop(key, None)
                if under_way is not None and not under_way.abandon():
                    continue  # it returned in time and its outputs are being stored
                run = self.runs[key]
                task = self.tasks[run.task]
                self._failure(task, run, f"TimeoutError: exceeded {task.options.timeout_s:g} s")

    def _failure(self, task: g.TaskSpec, run: StepRun, reason: str) -> None:
        key = (run.task, run.index)
        retry = task.options.retry
        if run.attempts <= retry.retries and not self._cancel.is_set():
            delay = min(
                retry.backoff_s * retry.backoff_factor ** (run.attempts - 1), retry.max_backoff_s
            )
            run.state, run.reason = StepState.PENDING, reason
            self._make_pending(key, run)
            self._not_before[key] = time.monotonic() + delay
            self._changed(run)
            return
        if not task.is_finally:
            self._failed = True
        self._end(run, StepState.FAILED, reason)

    def _end(self, run: StepRun, state: StepState, reason: str | None) -> None:
        if not run.state.is_terminal:
            task = self.tasks[run.task]
            self._pending.pop((run.task, run.index), None)
            self._open[task.is_finally] -= 1
            self._dirty.update(dict.fromkeys(self._slots.ended(task, run.index)))
        run.state, run.reason = state, reason
        if run.started_at is not None:
            run.ended_at = time.time()
        self._wake_readers(run)
        self._changed(run)

    def _result(self) -> PipelineRunResult:
        if self._cancel.is_set():
            state = PipelineState.CANCELED
        elif self._failed:
            state = PipelineState.FAILED
        else:
            state = PipelineState.SUCCEEDED
        outputs: dict[str, Any] = {}
        for name, source in self.spec.outputs.items():
            try:
                outputs[name] = self.hooks.resolve(self._value((), (), source))
            except (_Missing, _NotYet):
                continue
        failed = [r for r in self.runs.values() if r.state is StepState.FAILED]
        reason = f"step {failed[0].key!r} failed: {failed[0].reason}" if failed else None
        if self._problems:
            reason = "; ".join(self._problems)
        return PipelineRunResult(
            self.spec.name,
            dict(self.params),
            state,
            {r.key: r for r in self.runs.values()},
            outputs,
            reason,
        )


# ---- helpers ---------------------------------------------------------------------------------


def _function(task: g.TaskSpec, steps: Mapping[str, Any]) -> Callable[..., Any]:
    """The plain function of a task's step: from the traced pipeline, else imported."""
    assert task.step is not None
    found: Any = steps.get(task.step)
    if found is not None:
        function: Callable[..., Any] = getattr(found, "fn", found)
        return function
    try:
        return import_step(task.step)
    except (ImportError, AttributeError):
        raise g.PipelineDefinitionError(
            f"step {task.name!r}: cannot import {task.step!r}", step=task.name
        ) from None


def _settling(invoker: Invoker, attempt: Attempt) -> Invoker:
    """``invoker`` settling ``attempt`` as the function returns or raises: what an attempt
    given up on meanwhile returns is dropped before anything records it (``Abandoned``)."""

    def run(kwargs: dict[str, Any], context: Any) -> Any:
        try:
            value = invoker(kwargs, context)
        except BaseException:
            if not attempt.finish():
                raise Abandoned("the step ran past its timeout") from None
            raise
        if not attempt.finish():
            raise Abandoned("the step ran past its timeout")
        return value

    return dataclasses.replace(invoker, run=run)  # keeps what else the executor said of it


def _shared_loops(producer: g.TaskSpec, reader: g.TaskSpec) -> int:
    """How many loops, outermost first, ``reader`` shares with ``producer``."""
    shared = 0
    for mine, theirs in zip(producer.loops, reader.loops, strict=False):
        if mine.id != theirs.id:
            break
        shared += 1
    return shared


def _describe(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return "".join(lines).strip()[:2000]
