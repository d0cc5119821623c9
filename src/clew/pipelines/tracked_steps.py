"""A step run's tracked run, made, filled and ended: the recording half of ``TrackingHooks``.

A step run that runs gets its run on the worker as it starts (``_open_run``: its tags and its
params in one call), and it ends in one call with its outputs, their lineage edges, its last
params and tags (``_end_step``). Its params are its inputs: the value when it is short JSON,
else the digest of the upstream output it came from (``_param``); inputs that were cache hits
upstream are not loaded to make a param of, and are logged as the step run ends
(``_late_params``). A step run that ends without outputs gets its state (``_record_end``).

What the step runs of one pipeline run share (their runs, the digests of the outputs they
stored) lives here, under one lock: steps end on many worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

import orjson

from clew.client.client import Client
from clew.pipelines import graph as g
from clew.pipelines import records
from clew.pipelines.attempts import Abandoned
from clew.pipelines.flatten import flatten
from clew.pipelines.materializers import Materializers
from clew.pipelines.records import StepInput, StepOutput
from clew.pipelines.run_tags import PIPELINE_RUN_TAG, STEP_TAG, state_tags
from clew.pipelines.state import Deferred, StepRun, StepState, resolved
from clew.pipelines.stored import holds_reference

#: A param value longer than this is recorded as a digest instead.
_MAX_PARAM_TEXT: Final = 500

StepKey = tuple[str, tuple[int, ...]]


def param_text(value: Any) -> str | None:
    """A short JSON rendering of ``value``, or None if it has none."""
    if isinstance(value, str):
        return value if len(value) <= _MAX_PARAM_TEXT else None
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        return None
    return text if len(text) <= _MAX_PARAM_TEXT else None


class TrackedSteps:
    """The tracked runs of one pipeline run's step runs (``root_run_id``, in experiment
    ``experiment_id``, both set as the pipeline run starts)."""

    def __init__(
        self, client: Client, spec: g.PipelineSpec, materializers: Materializers | None
    ) -> None:
        self.client = client
        self.spec = flatten(spec)
        self.materializers = materializers or Materializers()
        self.root_run_id: str | None = None
        self.experiment_id: str | None = None
        #: The tracked run of each step run, and the digest of each output it stored.
        self.run_ids: dict[StepKey, str] = {}
        self.digests: dict[tuple[str, tuple[int, ...], str], str] = {}
        #: The ``Run`` of each step run that runs, while it runs (its fluent calls attach).
        self._held: dict[StepKey, Any] = {}
        self._lock = threading.Lock()
        #: Per step run, held while its tracked run is made: a retry waits for the run its
        #: earlier attempt is making instead of making a second one.
        self._making: dict[StepKey, threading.Lock] = {}
        #: Step runs that failed or were canceled with no tracked run: one being made then
        #: (a timeout while ``_open_run`` ran) is ended with this state by its maker.
        self._ended_early: dict[StepKey, tuple[StepState, str | None]] = {}

    # ---- step runs ----------------------------------------------------------------------------

    # A step run's tracked run is made on the worker as the step runs (``_open_run``), or, for
    # a cache hit, made whole and finished in one call (``cached_steps``): not on the
    # scheduler thread, before anyone knows which.

    def _first_params(
        self, task: g.TaskSpec, run: StepRun, kwargs: Mapping[str, Any]
    ) -> dict[str, str]:
        """The params a step run starts with: its inputs but the cache hits (not loaded to
        make a param of: ``_late_params`` logs them as the step run ends)."""
        return {
            name: self._param(task, run, name, value)
            for name, value in kwargs.items()
            if not deferred(value)
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
        text = None if holds_reference(value) else param_text(value)
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
            with self._lock:  # other steps store outputs meanwhile
                stored = list(self.digests.items())
            return sorted(
                ((task_name, index), found)
                for (task_name, index, output), found in stored
                if task_name == source.task
                and output == source.output
                and index[:width] == run.index[:width]
            )
        return []

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
            if deferred(value):
                late[name] = earlier.get(name) or self._param(
                    task, run, name, values[name] if name in values else resolved(value)
                )
        return late

    def _record_end(self, key: StepKey, run_id: str, state: StepState, reason: str | None) -> None:
        """A step run that ended without outputs (failed, skipped, canceled): its state tags,
        and its end if it failed or was canceled."""
        self._held.pop(key, None)
        self.client.set_tags(run_id, state_tags(state.value, reason))
        if state in (StepState.FAILED, StepState.CANCELED):
            # A timeout ends the step here while its thread may still run.
            status = "FAILED" if state is StepState.FAILED else "KILLED"
            self.client.set_terminated(run_id, status)


def deferred(value: Any) -> bool:
    """A cache hit's output not loaded yet, or a ``collect()`` holding one."""
    return isinstance(value, Deferred) or (
        isinstance(value, list) and any(isinstance(v, Deferred) for v in value)
    )
