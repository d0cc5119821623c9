"""Every step a tracked run, with no code in the step: ``TrackingHooks`` for the engine.

A pipeline run is a run of its own (in an experiment named after the pipeline, tagged
``clew.pipeline``, with the pipeline's parameters as params and its definition as
``pipeline.json``); each step run that starts is a run nested under it, named ``fit`` or
``fit[2]``, made on the worker as the step runs (``tracked_steps``), or for a cache hit made
whole (FINISHED, with its tags, params and lineage) in one call (``cached_steps``). Inside the
step the fluent API logs to the step's run (``clew.log_metric("loss", 0.1)`` just works, on
whichever worker thread). Each output is written by its materializer and stored as the run's
artifacts under ``outputs/<name>/``, so it has a digest (a small output's files go with the
step's end, in its transaction); the run is tagged ``clew.output.<name>`` with
``<materializer>:<digest>``. An executor that stores outputs where the step runs
(``Invoker.by_reference``: Ray) is told how and returns references (``pipelines.stored``); the
values then stay off this process.

Everything goes through ``clew.Client``, so a pipeline on a laptop tracks into the local
store and one pointed at a server (``CLEW_TRACKING_URI``) tracks there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Final

import orjson

from clew.client.client import Client
from clew.core.errors import AlreadyExists
from clew.pipelines import graph as g
from clew.pipelines.cached_steps import CachedSteps
from clew.pipelines.executors import Invoker, RunContext
from clew.pipelines.hooks import Hooks, Missed, as_return, outputs_of
from clew.pipelines.liveness import Heartbeat, heartbeat_interval
from clew.pipelines.materializers import Materializers
from clew.pipelines.run_tags import (
    CACHE_KEY_TAG,
    OUTPUT_TAG,
    PIPELINE_TAG,
    RESUMED_FROM_TAG,
    STATE_TAG,
    state_tags,
)
from clew.pipelines.serialize import digest, to_dict
from clew.pipelines.state import (
    PipelineRunResult,
    PipelineState,
    StepRun,
    StepState,
    StopBranch,
    resolved,
)
from clew.pipelines.stored import HeldFiles, OutputStore, Stored, resolve, store_output
from clew.pipelines.tracked_steps import param_text

_RUN_STATUS: Final = {
    PipelineState.SUCCEEDED: "FINISHED",
    PipelineState.FAILED: "FAILED",
    PipelineState.CANCELED: "KILLED",
}


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


class TrackingHooks(CachedSteps, Hooks):
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
        super().__init__(client, spec, materializers, cache=cache, reuse=reuse or {})
        self.definition = spec
        self.experiment_name = experiment or spec.name
        self.params = dict(params)
        self.resumed_from = resumed_from
        self.heartbeat_s = heartbeat_s or heartbeat_interval(client)
        self._heartbeat: Heartbeat | None = None

    # ---- the pipeline run ---------------------------------------------------------------------

    def started(self) -> None:
        self.experiment_id = _experiment_id(self.client, self.experiment_name)
        tags = {PIPELINE_TAG: self.spec.name, "clew.pipeline.digest": digest(self.definition)}
        if self.resumed_from:
            tags[RESUMED_FROM_TAG] = self.resumed_from
        root = self.client.create_run(self.experiment_id, run_name=self.spec.name, tags=tags)
        self.root_run_id = root.info.run_id
        params = {k: param_text(v) or f"<{type(v).__name__}>" for k, v in self.params.items()}
        if params:
            self.client.log_params(self.root_run_id, params)
        # The exact values, for a resume (params hold text); a parameter that is not JSON
        # leaves the run without them, and it cannot be resumed.
        with contextlib.suppress(TypeError):
            self.client.log_dict(self.root_run_id, {"params": self.params}, "params.json")
        self._log_json(to_dict(self.definition), "pipeline.json")
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
        self._log_json(summary, "steps.json")
        self.client.set_tags(self.root_run_id, state_tags(result.state.value, result.reason))
        self.client.finish_pipeline_run(self.root_run_id, result.state.value)
        self.client.set_terminated(self.root_run_id, _RUN_STATUS[result.state])

    def _log_json(self, data: Any, path: str) -> None:
        """A JSON file of the pipeline run's, as ``log_dict`` writes it, through orjson: the
        definition and the steps' summary grow with the steps, and the standard library's
        encoder indents in Python (a 200-step pipeline's two files cost more than its hits)."""
        assert self.root_run_id is not None
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
        self.client.log_text(self.root_run_id, text, path)

    # ---- step runs ----------------------------------------------------------------------------

    def call(
        self,
        task: g.TaskSpec,
        run: StepRun,
        invoker: Invoker,
        kwargs: dict[str, Any],
        looked_up: Missed | None = None,
    ) -> Any:
        # Every step run that makes or adopts outputs records its key: a cache lookup finds it,
        # and a resume reuses an earlier step run only under the same key (same code, inputs
        # and environment), whatever the caching options.
        # A batched lookup (``looked_up``) found nothing under the key: the step runs.
        if looked_up is not None:
            key = looked_up.key
        else:
            key = self._cache_key(task, run, invoker.function, kwargs)
            found = self._earlier(task, run, key, kwargs, invoker.by_reference)
            if found is not None:
                return found
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
