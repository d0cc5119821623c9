"""Cache hits and resumes: step runs that adopt an earlier step run's outputs instead of running.

A step run's key covers its code, its inputs' fingerprints (upstream outputs by digest, other
values as JSON) and the environment (``cache_key``). Every step run that makes or adopts
outputs is tagged with it, so a lookup finds it, and a resume reuses an earlier step run
only under the same key, whatever the caching options.

A hit's tracked run is made whole, FINISHED with its tags, params and lineage, in one call.
The iterations of a fan-out that start together are looked up together (``batches`` and
``look_up``, the engine's batched lookup): one read finds them all and one write records all
the hits, on one worker. Looked up one by one, each paid its own read and write, and many
threads doing so at once spent more time handing the interpreter lock around than working.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from clew.client.client import Client
from clew.pipelines import attempts, records
from clew.pipelines import graph as g
from clew.pipelines.attempts import Abandoned
from clew.pipelines.cache_hits import StoredOutputs, find_hit, since_ms, stored_outputs
from clew.pipelines.cache_key import cache_key, code_fingerprint
from clew.pipelines.hooks import Cached, Missed, Start
from clew.pipelines.materializers import Materializers
from clew.pipelines.records import CachedStep, CachedStepRecord, CacheLookup, StepOutput
from clew.pipelines.run_tags import (
    CACHE_KEY_TAG,
    CACHED_FROM_TAG,
    OUTPUT_TAG,
    PIPELINE_RUN_TAG,
    STATE_TAG,
    STEP_TAG,
)
from clew.pipelines.state import StepRun, StepState
from clew.pipelines.tracked_steps import TrackedSteps

#: The time cache expiry is judged by (a test moves it on).
clock: Callable[[], float] = time.time


class CachedSteps(TrackedSteps):
    def __init__(
        self,
        client: Client,
        spec: g.PipelineSpec,
        materializers: Materializers | None,
        *,
        cache: bool,
        reuse: Mapping[str, str],
    ) -> None:
        super().__init__(client, spec, materializers)
        self.cache = cache
        #: Step keys whose outputs an earlier run of this pipeline already made (a resume).
        self.reuse = dict(reuse)
        #: Each step's code fingerprint, by its import path.
        self._code: dict[str, str] = {}

    # ---- keys ---------------------------------------------------------------------------------

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

    # ---- one step run -------------------------------------------------------------------------

    def _earlier(
        self,
        task: g.TaskSpec,
        run: StepRun,
        key: str | None,
        kwargs: dict[str, Any],
        by_ref: bool,
    ) -> Cached | None:
        """Outputs an earlier step run made under ``key``: the run being resumed's, else a
        cache hit's if the step caches."""
        if key is None:
            return None
        earlier = self.reuse.get(run.key)
        if earlier is not None:
            reused = self._reuse(task, run, earlier, key, kwargs, by_ref)
            if reused is not None:
                return reused
        if self.cache and task.options.caching.enabled:
            return self._cached(task, run, key, kwargs, by_ref)
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

    def _cached(
        self,
        task: g.TaskSpec,
        run: StepRun,
        key: str,
        kwargs: Mapping[str, Any],
        by_ref: bool,
    ) -> Cached | None:
        """An earlier step run's outputs under ``key``, if they still exist (not loaded)."""
        with self._lock:
            asking = self.run_ids.get((run.task, run.index))  # a retry's run, made already
        hit = self._hit(task, key, None, asking=asking, by_ref=by_ref)
        if hit is None:
            return None
        found, outputs = hit
        return self._adopt(task, run, found, outputs, key, kwargs)

    def _hit(
        self,
        task: g.TaskSpec,
        key: str,
        first: CachedStep | None,
        *,
        asking: str | None = None,
        by_ref: bool,
    ) -> tuple[CachedStep, StoredOutputs] | None:
        """The newest step run under ``key`` whose outputs are all still stored, starting from
        ``first`` when a batched lookup found that one already."""
        assert self.experiment_id is not None
        if first is not None:
            outputs = stored_outputs(self.materializers, task, first, self.client, by_ref)
            if outputs is not None:
                return first, outputs
        return find_hit(
            self.client,
            self.materializers,
            task,
            self.experiment_id,
            key,
            run_id=asking,
            expiry_s=task.options.caching.expiry_s,
            now_s=clock(),
            by_ref=by_ref,
            passed=() if first is None else (first.run_id,),
        )

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
        attempt = attempts.current()  # settled here, as a step's function returning settles it
        if attempt is not None and not attempt.finish():
            raise Abandoned("the step was given up on while its outputs were checked")
        record = self._adopted(task, run, earlier, outputs, key, kwargs)
        with self._lock:
            run_id = self.run_ids.get((run.task, run.index))
        if run_id is None and record.edges > records.MAX_EDGES:
            run_id = self._open_run(task, run, kwargs)  # a wide fan-in: recorded in parts
        if run_id is not None:
            self._end_step(task, run, run_id, list(record.outputs), record.params, record.tags)
        else:
            self._record_hits([(task, run, kwargs, record)])
        return Cached(outputs.value, f"run {earlier.files_run_id}")

    def _adopted(
        self,
        task: g.TaskSpec,
        run: StepRun,
        earlier: CachedStep,
        outputs: StoredOutputs,
        key: str,
        kwargs: Mapping[str, Any],
    ) -> CachedStepRecord:
        """What adopting step run ``earlier``'s outputs records: the outputs (their digests
        noted for the steps that read them), the inputs read, the params the step run's start
        left out (``earlier``'s: the same key, so the same inputs) and the tags."""
        with self._lock:
            for name, tag in outputs.tags.items():
                self.digests[(run.task, run.index, name)] = tag.split(":", 1)[1]
        reused = tuple(
            StepOutput(name, tag.split(":", 1)[1], tag.split(":", 1)[0])
            for name, tag in outputs.tags.items()
        )
        tags = {OUTPUT_TAG + name: tag for name, tag in outputs.tags.items()}
        tags.update({CACHED_FROM_TAG: earlier.files_run_id, CACHE_KEY_TAG: key,
                     STATE_TAG: StepState.CACHED.value})  # fmt: skip
        late = self._late_params(task, run, kwargs, {}, earlier.params)
        return CachedStepRecord(run.key, reused, tuple(self._inputs(task, run)), late, tags)

    def _record_hits(
        self, hits: Sequence[tuple[g.TaskSpec, StepRun, Mapping[str, Any], CachedStepRecord]]
    ) -> None:
        """Cache hits with no tracked run yet, made whole in one call: each a FINISHED run
        under the pipeline run, with its first and late params, its tags and its edges."""
        assert self.experiment_id is not None and self.root_run_id is not None
        whole = [
            dataclasses.replace(
                record,
                params={**self._first_params(task, run, kwargs), **record.params},
                tags={PIPELINE_RUN_TAG: self.root_run_id, STEP_TAG: task.name, **record.tags},
            )
            for task, run, kwargs, record in hits
        ]
        made = self.client.record_cached_pipeline_steps(self.root_run_id, self.experiment_id, whole)
        with self._lock:
            for (_, run, _, _), run_id in zip(hits, made, strict=True):
                self.run_ids[(run.task, run.index)] = run_id

    # ---- many step runs at once ---------------------------------------------------------------

    def batches(self, starting: Sequence[Start]) -> list[list[int]]:
        """The first attempts of cached steps that start together, in groups of at most
        ``records.MAX_BATCH`` step runs and ``records.MAX_EDGES`` edges; a group of one is
        left to ``call`` (it costs the same there)."""
        if not self.cache:
            return []
        groups: list[list[int]] = []
        group: list[int] = []
        edges = 0
        for i, start in enumerate(starting):
            task, run = start.task, start.run
            if not (task.step and task.options.caching.enabled) or run.attempts != 1:
                continue
            if run.key in self.reuse:  # a resume: it reuses what the run it resumes made
                continue
            mine = len(task.outputs) + len(self._inputs(task, run))
            if mine > records.MAX_EDGES:
                continue  # a wide fan-in, recorded in parts
            if group and (len(group) == records.MAX_BATCH or edges + mine > records.MAX_EDGES):
                groups.append(group)
                group, edges = [], 0
            group.append(i)
            edges += mine
        groups.append(group)
        return [found for found in groups if len(found) > 1]

    def look_up(self, group: Sequence[Start]) -> list[Cached | Missed | BaseException]:
        """A group of step runs looked up in one read, and its hits recorded in one write:
        ``Cached`` for each hit (its attempt settled), ``Missed`` for each miss, ``Abandoned``
        for a hit given up on meanwhile (its timeout passed)."""
        assert self.experiment_id is not None
        keys = [self._cache_key(s.task, s.run, s.invoker.function, s.kwargs) for s in group]
        now_s = clock()
        asked = {
            i: CacheLookup(key, since_ms(group[i].task.options.caching.expiry_s, now_s))
            for i, key in enumerate(keys)
            if key is not None
        }
        lookups = list(asked.values())
        found = self.client.find_cached_steps(self.experiment_id, lookups) if lookups else []
        firsts: dict[int, CachedStep | None] = dict(zip(asked, found, strict=True))
        outcomes: list[Cached | Missed | BaseException] = []
        hits: list[tuple[g.TaskSpec, StepRun, Mapping[str, Any], CachedStepRecord]] = []
        for i, start in enumerate(group):
            key, first = keys[i], firsts.get(i)
            by_ref = start.invoker.by_reference
            hit = None if key is None or first is None else self._hit(start.task, key, first,
                                                                      by_ref=by_ref)  # fmt: skip
            if key is None or hit is None:
                outcomes.append(Missed(key))
            elif not start.attempt.finish():
                outcomes.append(
                    Abandoned("the step was given up on while its outputs were checked")
                )
            else:
                earlier, outputs = hit
                record = self._adopted(start.task, start.run, earlier, outputs, key, start.kwargs)
                hits.append((start.task, start.run, start.kwargs, record))
                outcomes.append(Cached(outputs.value, f"run {earlier.files_run_id}"))
        if hits:
            self._record_hits(hits)
        return outcomes
