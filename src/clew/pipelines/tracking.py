"""Every step a tracked run, with no code in the step: ``TrackingHooks`` for the engine.

A pipeline run is a run of its own (in an experiment named after the pipeline, tagged
``clew.pipeline``, with the pipeline's parameters as params and its definition as
``pipeline.json``); each step run that starts is a run nested under it, named ``fit`` or
``fit[2]``, made on the worker as the step runs, or for a cache hit made whole (FINISHED, with
its tags, params and lineage) in one call. A step run's params are its inputs: the value when it is short JSON, else the
digest of the upstream output it came from. Inside the step the fluent API logs to the step's
run (``clew.log_metric("loss", 0.1)`` just works, on whichever worker thread). Each output is
written by its materializer and stored as the run's artifacts under ``outputs/<name>/``, so it
has a digest (a small output's files go with the step's end, in its transaction); the run is tagged ``clew.output.<name>`` with ``<materializer>:<digest>``. An
executor that stores outputs where the step runs (``Invoker.by_reference``: Ray) is told how
and returns references (``pipelines.stored``); the values then stay off this process.

Everything goes through ``clew.Client``, so a pipeline on a laptop tracks into the local
store and one pointed at a server (``CLEW_TRACKING_URI``) tracks there.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from clew.client.client import Client
from clew.core.errors import AlreadyExists
from clew.pipelines import attempts, records
from clew.pipelines import graph as g
from clew.pipelines.attempts import Abandoned
from clew.pipelines.cache_hits import StoredOutputs, find_hit, stored_outputs
from clew.pipelines.cache_key import cache_key, code_fingerprint
from clew.pipelines.executors import Invoker, RunContext
from clew.pipelines.flatten import flatten
from clew.pipelines.hooks import Cached, Hooks, as_return, outputs_of
from clew.pipelines.liveness import Heartbeat, heartbeat_interval
from clew.pipelines.materializers import Materializers
from clew.pipelines.records import CachedStep, StepInput, StepOutput
from clew.pipelines.run_tags import (
    CACHE_KEY_TAG,
    CACHED_FROM_TAG,
    OUTPUT_TAG,
    PIPELINE_RUN_TAG,
    PIPELINE_TAG,
    RESUMED_FROM_TAG,
    STATE_TAG,
    STEP_TAG,
    state_tags,
)
from clew.pipelines.serialize import digest, to_dict
from clew.pipelines.state import (
    Deferred,
    PipelineRunResult,
    PipelineState,
    StepRun,
    StepState,
    StopBranch,
    resolved,
)
from clew.pipelines.stored import (
    HeldFiles,
    OutputStore,
    Stored,
    holds_reference,
    resolve,
    store_output,
)

#: The time cache expiry is judged by (a test moves it on).
clock: Callable[[], float] = time.time
#: A param value longer than this is recorded as a digest instead.
_MAX_PARAM_TEXT: Final = 500

_RUN_STATUS: Final = {
    PipelineState.SUCCEEDED: "FINISHED",
    PipelineState.FAILED: "FAILED",
    PipelineState.CANCELED: "KILLED",
}


def _text(value: Any) -> str | None:
    """A short JSON rendering of ``value``, or None if it has none."""
    if isinstance(value, str):
        return value if len(value) <= _MAX_PARAM_TEXT else None
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        return None
    return text if len(text) <= _MAX_PARAM_TEXT else None


def _experiment_id(client: Client, name: str) -> str:
    """The experiment ``name``, made on first use; two runs starting at once both get it."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return client.create_experiment(name)
    except AlreadyExists:  # another run of the pipeline made it just now
        made = client.get_experiment_by_name(name)
        assert made is not None
        return str(made.experiment_id)


class TrackingHooks(Hooks):
    def __init__(
        self,
        client: Client,
        spec: g.PipelineSpec,
        params: Mapping[str, Any],
        *,
        materializers: Materializers | None = None,
        experiment: str | None = None,
        cache: bool = True,
        reuse: Mapping[str, str] | None = None,
        resumed_from: str | None = None,
        heartbeat_s: float | None = None,
    ) -> None:
        self.client = client
        self.definition = spec
        self.spec = flatten(spec)
        self.materializers = materializers or Materializers()
        self.experiment_name = experiment or spec.name
        self.params = dict(params)
        self.cache = cache
        #: Step keys whose outputs an earlier run of this pipeline already made (a resume).
        self.reuse = dict(reuse or {})
        self.resumed_from = resumed_from
        self.heartbeat_s = heartbeat_s or heartbeat_interval(client)
        self._heartbeat: Heartbeat | None = None
        self.root_run_id: str | None = None
        self.experiment_id: str | None = None
        #: The tracked run of each step run, and the digest of each output it stored.
        self.run_ids: dict[tuple[str, tuple[int, ...]], str] = {}
        self._held: dict[tuple[str, tuple[int, ...]], Any] = {}
        self._code: dict[str, str] = {}
        self.digests: dict[tuple[str, tuple[int, ...], str], str] = {}
        self._lock = threading.Lock()
        #: Per step run, held while its tracked run is made: a retry waits for the run its
        #: earlier attempt is making instead of making a second one.
        self._making: dict[tuple[str, tuple[int, ...]], threading.Lock] = {}
        #: Step runs that failed or were canceled with no tracked run: one being made then
        #: (a timeout while ``_open_run`` ran) is ended with this state by its maker.
        self._ended_early: dict[tuple[str, tuple[int, ...]], tuple[StepState, str | None]] = {}

    # ---- the pipeline run ---------------------------------------------------------------------

    def started(self) -> None:
        self.experiment_id = _experiment_id(self.client, self.experiment_name)
        tags = {PIPELINE_TAG: self.spec.name, "clew.pipeline.digest": digest(self.definition)}
        if self.resumed_from:
            tags[RESUMED_FROM_TAG] = self.resumed_from
        root = self.client.create_run(self.experiment_id, run_name=self.spec.name, tags=tags)
        self.root_run_id = root.info.run_id
        params = {k: _text(v) or f"<{type(v).__name__}>" for k, v in self.params.items()}
        if params:
            self.client.log_params(self.root_run_id, params)
        # The exact values, for a resume (params hold text); a parameter that is not JSON
        # leaves the run without them, and it cannot be resumed.
        with contextlib.suppress(TypeError):
            self.client.log_dict(self.root_run_id, {"params": self.params}, "params.json")
        self.client.log_dict(self.root_run_id, to_dict(self.definition), "pipeline.json")
        self.client.start_pipeline_run(self.spec.name, self.root_run_id, digest(self.definition))
        self._heartbeat = Heartbeat(self.client, self.root_run_id, self.heartbeat_s).start()

    def finished(self, result: PipelineRunResult) -> None:
        assert self.root_run_id is not None
        if self._heartbeat is not None:
            self._heartbeat.stop()
        steps = {
            key: {
                "task": run.task,
                "index": list(run.index),
                "state": run.state.value,
                "attempts": run.attempts,
                "reason": run.reason,
                "run_id": self.run_ids.get((run.task, run.index)),
            }
            for key, run in result.steps.items()
        }
        summary = {"state": result.state.value, "reason": result.reason, "steps": steps}
        self.client.log_dict(self.root_run_id, summary, "steps.json")
        self.client.set_tags(self.root_run_id, state_tags(result.state.value, result.reason))
        self.client.finish_pipeline_run(self.root_run_id, result.state.value)
        self.client.set_terminated(self.root_run_id, _RUN_STATUS[result.state])

    # ---- step runs ----------------------------------------------------------------------------

    # A step run's tracked run is made on the worker as the step runs (``_open_run``), or, for
    # a cache hit, made whole and finished in one call (``_adopt``): not here, on the
    # scheduler thread, before anyone knows which.

    def _first_params(
        self, task: g.TaskSpec, run: StepRun, kwargs: Mapping[str, Any]
    ) -> dict[str, str]:
        """The params a step run starts with: its inputs but the cache hits (not loaded to
        make a param of: ``_late_params`` logs them as the step run ends)."""
        return {
            name: self._param(task, run, name, value)
            for name, value in kwargs.items()
            if not _deferred(value)
        }

    def _open_run(self, task: g.TaskSpec, run: StepRun, kwargs: Mapping[str, Any]) -> str:
        """The tracked run of a step run that runs, made on its first attempt (a retry's is
        the same run, waited for if its earlier attempt is still making it)."""
        key = (run.task, run.index)
        assert self.experiment_id is not None and self.root_run_id is not None
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            run_id = self.run_ids.get(key)
            if run_id is not None:
                return run_id
            created = self.client.create_run(  # the run, its tags and its params in one call
                self.experiment_id,
                run_name=run.key,
                parent_run_id=self.root_run_id,
                tags={PIPELINE_RUN_TAG: self.root_run_id, STEP_TAG: task.name},
                params=self._first_params(task, run, kwargs),
            )
            run_id = created.info.run_id
            with self._lock:
                self.run_ids[key] = run_id
                self._held[key] = created
                ended = self._ended_early.pop(key, None)
        if ended is not None:  # given up on while the run was made: end it as ``changed`` would
            self._record_end(key, run_id, *ended)
            raise Abandoned("the step ran past its timeout")
        return run_id

    def _param(self, task: g.TaskSpec, run: StepRun, name: str, value: Any) -> str:
        text = None if holds_reference(value) else _text(value)
        if text is not None:
            return text
        source = task.inputs[name]
        found = self._upstream(source, run) if isinstance(source, g.TaskOutput) else []
        return f"sha256:{found[0][1]}" if found else f"<{type(value).__name__}>"

    def _upstream(
        self, source: g.Source, run: StepRun
    ) -> list[tuple[tuple[str, tuple[int, ...]], str]]:
        """The stored outputs ``source`` reads for ``run``: ``((task, index), digest)`` each,
        in item order (one for a step output, one per iteration for a ``collect``)."""
        if isinstance(source, g.TaskOutput):
            index = run.index[: len(self.spec.task(source.task).loops)]
            found = self.digests.get((source.task, index, source.output))
            return [((source.task, index), found)] if found else []
        if isinstance(source, g.Collected):
            width = len(self.spec.task(source.task).loops) - 1
            return sorted(
                ((task_name, index), found)
                for (task_name, index, output), found in self.digests.items()
                if task_name == source.task
                and output == source.output
                and index[:width] == run.index[:width]
            )
        return []

    def call(self, task: g.TaskSpec, run: StepRun, invoker: Invoker, kwargs: dict[str, Any]) -> Any:
        # Every step run that makes or adopts outputs records its key: a cache lookup finds it,
        # and a resume reuses an earlier step run only under the same key (same code, inputs
        # and environment), whatever the caching options.
        key = self._cache_key(task, run, invoker.function, kwargs)
        earlier = self.reuse.get(run.key)
        by_reference = invoker.by_reference
        if earlier is not None and key is not None:
            reused = self._reuse(task, run, earlier, key, kwargs, by_reference)
            if reused is not None:
                return reused
        if key is not None and self.cache and task.options.caching.enabled:
            hit = self._cached(task, run, key, kwargs, by_reference)
            if hit is not None:
                return hit
        run_id = self._open_run(task, run, kwargs)
        # The step runs: it reads its inputs' values, cache hits upstream included (a
        # by-reference invoker loads references where it runs).
        values = {name: resolved(value) for name, value in kwargs.items()}
        late = self._late_params(task, run, kwargs, values, {})
        if late:
            self.client.log_params(run_id, late)
        try:
            return self._run_tracked(task, run, run_id, key, invoker, values)
        except StopBranch:
            self.client.set_terminated(run_id, "FINISHED")  # the step decided: not a failure
            raise

    def _run_tracked(
        self,
        task: g.TaskSpec,
        run: StepRun,
        run_id: str,
        key: str | None,
        invoker: Invoker,
        kwargs: dict[str, Any],
    ) -> Any:
        # The step's fluent calls log to its run, on whichever thread or process it runs;
        # its outputs are then stored from here, or where it ran for a by-reference invoker
        # (a failure to store fails the step), and the run gets its output tags, key and
        # state and is ended in one request.
        held = self._held.get((run.task, run.index))
        store = OutputStore(task, run.key, self.materializers) if invoker.by_reference else None
        value = invoker(kwargs, RunContext(self.client, run_id, held, store))
        files: dict[str, dict[str, bytes]] = {}
        if isinstance(value, Stored):
            refs = value.outputs
            value = as_return(task, refs)
        else:
            small = HeldFiles()  # small outputs' files go with the end, in its transaction
            refs = {
                name: store_output(
                    self.client, self.materializers, run_id, name, output, step=run.key, held=small
                )
                for name, output in outputs_of(task, value).items()
            }
            files = small.files
        with self._lock:
            for name, ref in refs.items():
                self.digests[(run.task, run.index, name)] = ref.digest
        tags = {OUTPUT_TAG + name: ref.tag for name, ref in refs.items()}
        tags[STATE_TAG] = StepState.SUCCEEDED.value
        if key is not None:
            tags[CACHE_KEY_TAG] = key
        self._end_step(task, run, run_id, [ref.record for ref in refs.values()], {}, tags, files)
        return value

    def _end_step(
        self,
        task: g.TaskSpec,
        run: StepRun,
        run_id: str,
        outputs: list[StepOutput],
        params: Mapping[str, str],
        tags: Mapping[str, str],
        files: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> None:
        """The step run's output nodes (and small outputs' files) and INPUT edges to the step
        outputs it read, its last params and tags, and its end (FINISHED): one request, one
        transaction."""
        assert self.root_run_id is not None
        inputs = self._inputs(task, run)
        # A fan-in can read more outputs than one call takes: the rest go first, in parts.
        room = max(records.MAX_EDGES - len(outputs), 0)
        for start in range(room, len(inputs), records.MAX_EDGES):
            part = inputs[start : start + records.MAX_EDGES]
            self.client.record_pipeline_step(self.root_run_id, run_id, (), part)
        self.client.record_pipeline_step(self.root_run_id, run_id, outputs, inputs[:room],
                                         params=params, tags=tags, status="FINISHED",
                                         files=files or None)  # fmt: skip
        self._held.pop((run.task, run.index), None)

    def _inputs(self, task: g.TaskSpec, run: StepRun) -> list[StepInput]:
        """The INPUT edges of a step run: each step output it read, by its producer's run."""
        inputs: list[StepInput] = []
        for name, source in task.inputs.items():
            if isinstance(source, g.TaskOutput | g.Collected):
                for producer_key, _ in self._upstream(source, run):
                    producer = self.run_ids.get(producer_key)
                    if producer:
                        inputs.append(StepInput(name, producer, source.output))
        return inputs

    def _late_params(
        self,
        task: g.TaskSpec,
        run: StepRun,
        kwargs: Mapping[str, Any],
        values: Mapping[str, Any],
        earlier: Mapping[str, str],
    ) -> dict[str, str]:
        """The params ``before`` left out (inputs that were cache hits, not loaded): from
        ``earlier``, the params of the step run whose outputs this one adopts (the same key,
        so the same inputs), else from the value, loaded."""
        late: dict[str, str] = {}
        for name, value in kwargs.items():
            if _deferred(value):
                late[name] = earlier.get(name) or self._param(
                    task, run, name, values[name] if name in values else resolved(value)
                )
        return late

    # ---- caching ------------------------------------------------------------------------------

    def _cache_key(
        self, task: g.TaskSpec, run: StepRun, function: Callable[..., Any], kwargs: dict[str, Any]
    ) -> str | None:
        if not task.step:
            return None
        # Once per step per pipeline run: a loop's iterations, and every task calling the same
        # step (``task.step``, its import path), share their function's code.
        code = self._code.get(task.step)
        if code is None:
            code = self._code[task.step] = code_fingerprint(function)
        return cache_key(
            task.step,
            function,
            {name: self._fingerprint(task, run, name, value) for name, value in kwargs.items()},
            code,
        )

    def _fingerprint(self, task: g.TaskSpec, run: StepRun, name: str, value: Any) -> str | None:
        source = task.inputs[name]
        if isinstance(source, g.TaskOutput):
            found = self._upstream(source, run)
            return f"sha256:{found[0][1]}" if found else None
        if isinstance(source, g.Collected):
            return orjson.dumps([d for _, d in self._upstream(source, run)]).decode()
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            return None

    def _reuse(
        self,
        task: g.TaskSpec,
        run: StepRun,
        earlier: str,
        key: str,
        kwargs: Mapping[str, Any],
        by_ref: bool,
    ) -> Cached | None:
        """The outputs step run ``earlier`` of the run being resumed made, if it ran under the
        same key and they are still stored."""
        assert self.experiment_id is not None
        found = self.client.find_cached_step(self.experiment_id, key, run_id=earlier)
        if found is None:  # not under this key
            return None
        outputs = stored_outputs(self.materializers, task, found, self.client, by_ref)
        if outputs is None:
            return None
        return self._adopt(task, run, found, outputs, key, kwargs)

    def _adopt(
        self,
        task: g.TaskSpec,
        run: StepRun,
        earlier: CachedStep,
        outputs: StoredOutputs,
        key: str,
        kwargs: Mapping[str, Any],
    ) -> Cached:
        """The outputs of step run ``earlier``, checked to be stored, as this step run's: its
        tracked run made whole in one call, or (a retry whose earlier attempt made the run)
        ended with them."""
        source = earlier.files_run_id  # a cached run's files are in the run it was cached from
        with self._lock:
            for name, tag in outputs.tags.items():
                self.digests[(run.task, run.index, name)] = tag.split(":", 1)[1]
        attempt = attempts.current()  # settled here, as a step's function returning settles it
        if attempt is not None and not attempt.finish():
            raise Abandoned("the step was given up on while its outputs were checked")
        late = self._late_params(task, run, kwargs, {}, earlier.params)
        output_tags = {OUTPUT_TAG + name: tag for name, tag in outputs.tags.items()}
        reused = [
            StepOutput(name, tag.split(":", 1)[1], tag.split(":", 1)[0])
            for name, tag in outputs.tags.items()
        ]
        tags = {**output_tags, CACHED_FROM_TAG: source, CACHE_KEY_TAG: key,
                STATE_TAG: StepState.CACHED.value}  # fmt: skip
        step_key = (run.task, run.index)
        with self._lock:
            run_id = self.run_ids.get(step_key)
        inputs = self._inputs(task, run)
        if run_id is None and len(reused) + len(inputs) > records.MAX_EDGES:
            run_id = self._open_run(task, run, kwargs)  # a wide fan-in: recorded in parts
        if run_id is not None:
            self._end_step(task, run, run_id, reused, late, tags)
        else:
            assert self.experiment_id is not None and self.root_run_id is not None
            run_id = self.client.record_cached_pipeline_step(
                self.root_run_id,
                self.experiment_id,
                run.key,
                reused,
                inputs,
                params={**self._first_params(task, run, kwargs), **late},
                tags={PIPELINE_RUN_TAG: self.root_run_id, STEP_TAG: task.name, **tags},
            )
            with self._lock:
                self.run_ids[step_key] = run_id
        return Cached(outputs.value, f"run {source}")

    def _cached(
        self,
        task: g.TaskSpec,
        run: StepRun,
        key: str,
        kwargs: Mapping[str, Any],
        by_ref: bool,
    ) -> Cached | None:
        """An earlier step run's outputs under ``key``, if they still exist (not loaded)."""
        assert self.experiment_id is not None
        expiry = task.options.caching.expiry_s
        with self._lock:
            asking = self.run_ids.get((run.task, run.index))  # a retry's run, made already
        hit = find_hit(
            self.client,
            self.materializers,
            task,
            self.experiment_id,
            key,
            run_id=asking,
            expiry_s=expiry,
            now_s=clock(),
            by_ref=by_ref,
        )
        if hit is None:
            return None
        found, outputs = hit
        return self._adopt(task, run, found, outputs, key, kwargs)

    def resolve(self, value: Any) -> Any:
        """A by-reference or deferred output loaded here, for what the driver decides on."""
        return resolve(self.client, self.materializers, resolved(value))

    def changed(self, run: StepRun) -> None:
        if not run.state.is_terminal or run.state.produced:
            return  # a step that produced its outputs was tagged and ended as it stored them
        key = (run.task, run.index)
        with self._lock:
            run_id = self.run_ids.get(key)
            if run_id is None:
                # Never made, or being made by a worker the scheduler gave up on (a timeout):
                # then the maker ends it (``_open_run``).
                if run.state in (StepState.FAILED, StepState.CANCELED):
                    self._ended_early[key] = (run.state, run.reason)
                return
        self._record_end(key, run_id, run.state, run.reason)

    def _record_end(
        self, key: tuple[str, tuple[int, ...]], run_id: str, state: StepState, reason: str | None
    ) -> None:
        """A step run that ended without outputs (failed, skipped, canceled): its state tags,
        and its end if it failed or was canceled."""
        self._held.pop(key, None)
        self.client.set_tags(run_id, state_tags(state.value, reason))
        if state in (StepState.FAILED, StepState.CANCELED):
            # A timeout ends the step here while its thread may still run.
            status = "FAILED" if state is StepState.FAILED else "KILLED"
            self.client.set_terminated(run_id, status)


def _deferred(value: Any) -> bool:
    """A cache hit's output not loaded yet, or a ``collect()`` holding one."""
    return isinstance(value, Deferred) or (
        isinstance(value, list) and any(isinstance(v, Deferred) for v in value)
    )
