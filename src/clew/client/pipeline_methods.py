"""The pipeline-lineage half of :class:`~clew.client.client.Client` (a mixin, for file size).

The engine's tracking hooks (``pipelines.tracking``) call these; they are public so that other
orchestrators can record into the same graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from clew.pipelines.records import (
    CachedStep,
    CachedStepRecord,
    CacheLookup,
    PipelineRunInfo,
    StepInput,
    StepOutput,
)

if TYPE_CHECKING:
    from clew.client.transport import Transport


class PipelineMethods:
    transport: Transport

    def start_pipeline_run(self, pipeline: str, run_id: str, digest: str) -> PipelineRunInfo:
        """Make the tracked run ``run_id`` a run of pipeline ``pipeline`` (definition
        ``digest``): a ``pipeline_run`` context under the pipeline's context."""
        return self.transport.start_pipeline_run(pipeline, run_id, digest)

    def record_pipeline_step(
        self,
        pipeline_run_id: str,
        step_run_id: str,
        outputs: Sequence[StepOutput] = (),
        inputs: Sequence[StepInput] = (),
        *,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
        files: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> None:
        """A step run's outputs (graph nodes with OUTPUT edges) and the earlier step outputs it
        read (INPUT edges). With ``status`` (``FINISHED``, ``FAILED``, ``KILLED``) the step run
        also gets its last ``params`` and ``tags`` and ends, in the same request and
        transaction, with ``files``: small outputs' files (``{output: {path: bytes}}``, below
        ``outputs/<output>/``, at most ``pipelines.records.MAX_INLINE_BYTES`` in all) stored as
        the run's artifacts, each output's digest their manifest digest."""
        self.transport.record_pipeline_step(pipeline_run_id, step_run_id, outputs, inputs,
                                            params, tags, status, files)  # fmt: skip

    def record_cached_pipeline_step(
        self,
        pipeline_run_id: str,
        experiment_id: str,
        run_name: str,
        outputs: Sequence[StepOutput] = (),
        inputs: Sequence[StepInput] = (),
        *,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """A step run that was a cache hit, in one request and transaction: a FINISHED run
        named ``run_name`` nested under ``pipeline_run_id``, with its ``params`` and ``tags``,
        its output nodes (the outputs it adopted) and its input edges. Returns its run id."""
        step = CachedStepRecord(run_name, tuple(outputs), tuple(inputs), params or {}, tags or {})
        return self.record_cached_pipeline_steps(pipeline_run_id, experiment_id, [step])[0]

    def record_cached_pipeline_steps(
        self, pipeline_run_id: str, experiment_id: str, steps: Sequence[CachedStepRecord]
    ) -> list[str]:
        """Several cache hits' step runs as ``record_cached_pipeline_step`` makes one, all in
        one request and transaction (at most ``records.MAX_BATCH``, with ``MAX_EDGES`` edges
        in all); their run ids, in order."""
        return self.transport.record_cached_pipeline_steps(pipeline_run_id, experiment_id, steps)

    def finish_pipeline_run(self, run_id: str, state: str) -> PipelineRunInfo:
        return self.transport.finish_pipeline_run(run_id, state)

    def get_pipeline_run(self, run_id: str) -> PipelineRunInfo:
        """The pipeline run's state; ``engine_lost`` says a RUNNING one's engine stopped."""
        return self.transport.get_pipeline_run(run_id)

    def pipeline_run_heartbeat(self, run_id: str, interval_s: float) -> PipelineRunInfo:
        """Say that the engine of ``run_id`` is alive, and beats every ``interval_s`` seconds
        (``pipelines.liveness`` does this for the engine)."""
        return self.transport.pipeline_run_heartbeat(run_id, interval_s)

    def pipeline_step_edges(
        self, run_id: str, step_run_ids: Sequence[str]
    ) -> list[tuple[str, str, str, int, str]]:
        """``(step run, INPUT|OUTPUT, name, node id, digest)`` for each recorded edge."""
        return self.transport.pipeline_step_edges(run_id, step_run_ids)

    def find_cached_step(
        self,
        experiment_id: str,
        cache_key: str,
        *,
        started_since: int | None = None,
        run_id: str | None = None,
        exclude: Sequence[str] = (),
    ) -> CachedStep | None:
        """The newest FINISHED step run of ``experiment_id`` under cache key ``cache_key``
        (its ``clew.pipeline.cache_key`` tag) that started at ``started_since`` (UTC ms) or
        later and is not in ``exclude``; with ``run_id``, that step run if it is under the key.
        It comes with its tags, params and each output's files with digests, and the outputs
        whose blobs are gone (``missing``), in one read: what a cache hit checks."""
        lookup = CacheLookup(cache_key, started_since, run_id, tuple(exclude))
        return self.find_cached_steps(experiment_id, [lookup])[0]

    def find_cached_steps(
        self, experiment_id: str, lookups: Sequence[CacheLookup]
    ) -> list[CachedStep | None]:
        """Several lookups as ``find_cached_step`` makes one, in one read (at most
        ``records.MAX_BATCH``): for each, what it found or None."""
        return self.transport.find_cached_steps(experiment_id, lookups)
