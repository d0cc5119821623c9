"""Pipeline lineage use cases: authorize → validate → write → audit, one transaction each.

The engine runs where the user's code is (a laptop, a worker), and records through the client,
so these are the writes a pipeline run makes in the metadata graph: its contexts when it
starts, each step run's output nodes and input edges as the step ends, its state at the end.
The step runs themselves are ordinary tracked runs (``pipelines.tracking``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from clew.artifacts.blobstore import BlobStore
from clew.artifacts.model import FileInfo
from clew.artifacts.service import ArtifactService
from clew.artifacts.store import ArtifactFileStore
from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission, Resource
from clew.core.db import Database, retry_conflicts
from clew.core.errors import InvalidInput, NotFound
from clew.core.ids import check_experiment_id, check_run_id, now_ms
from clew.pipelines import records
from clew.pipelines.records import (
    CachedStep,
    CachedStepRecord,
    CacheLookup,
    PipelineRunInfo,
    StepInput,
    StepOutput,
)
from clew.pipelines.run_tags import CACHE_KEY_TAG, CACHED_FROM_TAG, OUTPUT_TAG
from clew.pipelines.state import PipelineState
from clew.pipelines.store import PIPELINE, PIPELINE_RUN, PipelineStore
from clew.tracking import validation as v
from clew.tracking.service_base import experiment_resource, run_resource

if TYPE_CHECKING:
    from clew.tracking.service import TrackingService

__all__ = ["CachedStep", "PipelineRunInfo", "PipelineService", "StepInput", "StepOutput"]

_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
#: Step runs a cache lookup may pass over (``exclude``): the candidates a hit tries.
MAX_EXCLUDED: Final = 100
_MAX_HEARTBEAT_S: Final = 3600.0


def _resource(pipeline: str) -> Resource:
    return Resource("pipeline", pipeline)


class PipelineService:
    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        tracking: TrackingService,
        blobs: BlobStore,
        artifacts: ArtifactService,
    ) -> None:
        self.db = db
        self.authz = authz
        #: A step run is a tracked run: its last params, tags and end go through tracking.
        self.tracking = tracking
        #: Where a cache lookup checks that the outputs' blobs are still stored.
        self.blobs = blobs
        #: The runs' artifacts: a step's end may carry its small outputs' files.
        self.artifacts = artifacts

    @retry_conflicts
    def start_run(self, actor: Actor, pipeline: str, run_id: str, digest: str) -> PipelineRunInfo:
        """The pipeline's context (made on first use) and this run's context under it, named
        by the tracked run that stands for the pipeline run."""
        v.check_name("Pipeline", pipeline)
        check_run_id(run_id)
        _check_digest(digest)
        self.authz.check(actor, Permission.EDIT, _resource(pipeline))
        with self.db.write() as conn:
            store = PipelineStore(conn)
            if not store.execution_exists(run_id):
                raise NotFound("No such run", run_id=run_id)
            if store.context_id(PIPELINE_RUN, run_id) is not None:
                raise InvalidInput("This run already stands for a pipeline run", run_id=run_id)
            now = now_ms()
            parent = store.ensure_context(PIPELINE, pipeline, None, now)
            context = store.ensure_context(PIPELINE_RUN, run_id, parent, now)
            state = PipelineState.RUNNING.value
            store.set_context_tags(
                context,
                {"pipeline": pipeline, "digest": digest, "state": state, "heartbeat_at": str(now)},
            )
            audit.append(conn, actor, "pipeline_run.start", "pipeline_run", run_id,
                         {"pipeline": pipeline, "digest": digest})  # fmt: skip
        return PipelineRunInfo(pipeline, run_id, state, digest, heartbeat_at=now)

    @retry_conflicts
    def heartbeat(self, actor: Actor, run_id: str, interval_s: float) -> PipelineRunInfo:
        """The engine of running pipeline run ``run_id`` is alive, and says so every
        ``interval_s`` seconds; a run that has ended takes no beat (the answer's state tells
        its engine, e.g. one declared lost meanwhile).

        Not audited: it records liveness, which nobody decides, and an audit event every few
        seconds would drown the log; the start and the end of the run are audited.
        """
        check_run_id(run_id)
        if not 0 < interval_s <= _MAX_HEARTBEAT_S:
            raise InvalidInput(f"interval_s must be more than 0 and at most {_MAX_HEARTBEAT_S}")
        with self.db.write() as conn:
            store = PipelineStore(conn)
            info = self._require_run(store, run_id)
            self.authz.check(actor, Permission.EDIT, _resource(info.pipeline))
            if info.state != PipelineState.RUNNING.value:
                return info
            context = store.context_id(PIPELINE_RUN, run_id)
            assert context is not None
            now = now_ms()
            store.set_context_tags(
                context, {"heartbeat_at": str(now), "heartbeat_s": repr(float(interval_s))}
            )
        return dataclasses.replace(
            info, heartbeat_at=now, heartbeat_s=float(interval_s), engine_lost=False
        )

    @retry_conflicts
    def record_step(
        self,
        actor: Actor,
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
        """A step run's outputs as nodes (OUTPUT edges) and the outputs it read (INPUT edges).

        With ``status`` the step run also ends in the same transaction, after its last
        ``params`` and ``tags`` (``TrackingService.log_and_end``, its checks and audit
        events): one commit for everything a step writes when it is done. ``files`` (with a
        status) are small outputs' files, ``{output: {path below outputs/<output>/: bytes}}``,
        at most ``records.MAX_INLINE_BYTES``: their blobs are made durable first, then their
        rows and ``artifact.log`` events commit with the end. Each such output's ``digest``
        must be its files' manifest digest (what a cache hit checks).
        """
        check_run_id(pipeline_run_id)
        check_run_id(step_run_id)
        _check_edges(outputs, inputs)
        if status is None and (params or tags or files):
            raise InvalidInput("params, tags and files go with a status: the step run's end")
        stored = self._store_files(actor, step_run_id, outputs, files or {})

        def record(conn: Connection) -> None:
            for name, infos in stored.items():
                self.artifacts.record_in(conn, actor, step_run_id, f"outputs/{name}", infos)
            self._record_in(conn, actor, pipeline_run_id, step_run_id, outputs, inputs)

        if status is not None:
            self.tracking.log_and_end(actor, step_run_id, status, params=params or {},
                                      tags=tags or {}, within=record)  # fmt: skip
            return
        with self.db.write() as conn:
            record(conn)

    def record_cached_step(
        self,
        actor: Actor,
        pipeline_run_id: str,
        experiment_id: str,
        run_name: str,
        outputs: Sequence[StepOutput] = (),
        inputs: Sequence[StepInput] = (),
        *,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """One cached step run (``record_cached_steps``); returns the new run's id."""
        step = CachedStepRecord(run_name, tuple(outputs), tuple(inputs), params or {}, tags or {})
        return self.record_cached_steps(actor, pipeline_run_id, experiment_id, [step])[0]

    @retry_conflicts
    def record_cached_steps(
        self,
        actor: Actor,
        pipeline_run_id: str,
        experiment_id: str,
        steps: Sequence[CachedStepRecord],
    ) -> list[str]:
        """Step runs that were cache hits, whole, in one transaction: each a run nested under
        the pipeline run and already FINISHED, with its tags and params
        (``TrackingService.prepare_run``/``insert_runs``, their checks and ``run.create``
        event), and its output nodes and input edges (``pipeline_step.record``), as
        ``record_step`` writes them. Returns the new runs' ids, in order.

        A hit's run is made as it is recorded, not before the lookup: a hit costs one write
        where creating the run first and ending it after took two, and the hits of a fan-out
        that are found together share that write.
        """
        check_run_id(pipeline_run_id)
        if not 0 < len(steps) <= records.MAX_BATCH:
            raise InvalidInput(f"From 1 to {records.MAX_BATCH} cached step runs in one call")
        if sum(step.edges for step in steps) > records.MAX_EDGES:
            raise InvalidInput(f"At most {records.MAX_EDGES} inputs and outputs in one call")
        for step in steps:
            _check_edges(step.outputs, step.inputs)
        new = [
            self.tracking.prepare_run(
                actor,
                experiment_id,
                step.run_name,
                tags=step.tags,
                parent_run_id=pipeline_run_id,
                params=step.params,
                status="FINISHED",
            )
            for step in steps
        ]
        step_of = {made.info.run_id: step for made, step in zip(new, steps, strict=True)}
        with self.db.write() as conn:
            store = PipelineStore(conn)
            self._check_recording(store, actor, pipeline_run_id)

            def record(conn: Connection, run_id: str) -> None:
                step = step_of[run_id]
                self._record_edges(store, actor, pipeline_run_id, run_id, step.outputs,
                                   step.inputs)  # fmt: skip

            self.tracking.insert_runs(conn, actor, new, each=record)
        return [made.info.run_id for made in new]

    def _store_files(
        self,
        actor: Actor,
        step_run_id: str,
        outputs: Sequence[StepOutput],
        files: Mapping[str, Mapping[str, bytes]],
    ) -> dict[str, list[FileInfo]]:
        """Small outputs' files as durable blobs, checked against their outputs' digests,
        before the transaction that writes their rows opens."""
        if not files:
            return {}
        self.authz.check(actor, Permission.EDIT, run_resource(step_run_id))
        digests = {out.name: out.digest for out in outputs}
        count = sum(len(below) for below in files.values())
        size = sum(len(data) for below in files.values() for data in below.values())
        if count > records.MAX_INLINE_FILES or size > records.MAX_INLINE_BYTES:
            raise InvalidInput(
                f"At most {records.MAX_INLINE_FILES} files and {records.MAX_INLINE_BYTES} bytes "
                "of outputs in a step's end; upload larger outputs as artifacts"
            )
        stored: dict[str, list[FileInfo]] = {}
        for name, below in sorted(files.items()):
            if name not in digests:
                raise InvalidInput("Files of an output the call does not record", output=name)
            if not below:
                raise InvalidInput("An output with no files", output=name)
            stored[name] = self.artifacts.put_small(f"outputs/{name}", below)
            manifest = records.manifest_digest({f.path: f.digest or "" for f in stored[name]})
            if manifest != digests[name]:
                raise InvalidInput("The output's digest is not its files' digest", output=name)
        return stored

    def _record_in(
        self,
        conn: Connection,
        actor: Actor,
        pipeline_run_id: str,
        step_run_id: str,
        outputs: Sequence[StepOutput],
        inputs: Sequence[StepInput],
    ) -> None:
        store = PipelineStore(conn)
        self._check_recording(store, actor, pipeline_run_id)
        if not store.execution_exists(step_run_id):
            raise NotFound("No such step run", run_id=step_run_id)
        self._record_edges(store, actor, pipeline_run_id, step_run_id, outputs, inputs)

    def _check_recording(self, store: PipelineStore, actor: Actor, pipeline_run_id: str) -> None:
        """The pipeline run exists and ``actor`` may record its steps."""
        info = self._require_run(store, pipeline_run_id)
        self.authz.check(actor, Permission.EDIT, _resource(info.pipeline))

    def _record_edges(
        self,
        store: PipelineStore,
        actor: Actor,
        pipeline_run_id: str,
        step_run_id: str,
        outputs: Sequence[StepOutput],
        inputs: Sequence[StepInput],
    ) -> None:
        """An existing step run's output nodes with OUTPUT edges and INPUT edges to the outputs
        it read, and their ``pipeline_step.record`` event."""
        now = now_ms()
        for out in outputs:
            node = store.ensure_output_node(
                step_run_id, out.name, out.digest, {"materializer": out.materializer}, now
            )
            store.add_event(step_run_id, node, "OUTPUT", out.name, now)
        for src in inputs:
            node_id = store.output_node(src.producer_run_id, src.output)
            if node_id is None:
                raise NotFound(
                    "The step run has no such recorded output",
                    run_id=src.producer_run_id,
                    output=src.output,
                )
            store.add_event(step_run_id, node_id, "INPUT", src.name, now)
        audit.append(store.conn, actor, "pipeline_step.record", "run", step_run_id, {
            "pipeline_run": pipeline_run_id,
            "outputs": {o.name: o.digest for o in outputs},
            "inputs": {i.name: f"{i.producer_run_id}/{i.output}" for i in inputs},
        })  # fmt: skip

    @retry_conflicts
    def finish_run(self, actor: Actor, run_id: str, state: str) -> PipelineRunInfo:
        check_run_id(run_id)
        terminal = {s.value for s in PipelineState} - {"PENDING", "RUNNING"}
        if state not in terminal:
            raise InvalidInput(f"state must be one of {sorted(terminal)}")
        with self.db.write() as conn:
            store = PipelineStore(conn)
            info = self._require_run(store, run_id)
            self.authz.check(actor, Permission.EDIT, _resource(info.pipeline))
            context = store.context_id(PIPELINE_RUN, run_id)
            assert context is not None
            store.set_context_tags(context, {"state": state})
            audit.append(conn, actor, "pipeline_run.finish", "pipeline_run", run_id,
                         {"pipeline": info.pipeline, "state": state})  # fmt: skip
        return PipelineRunInfo(info.pipeline, run_id, state, info.digest)

    def get_run(self, actor: Actor, run_id: str) -> PipelineRunInfo:
        check_run_id(run_id)
        with self.db.read() as conn:
            info = self._require_run(PipelineStore(conn), run_id)
        self.authz.check(actor, Permission.READ, _resource(info.pipeline))
        return info

    def step_edges(
        self, actor: Actor, pipeline_run_id: str, step_run_ids: Sequence[str]
    ) -> list[Any]:
        """The recorded edges of some step runs: ``(run, INPUT|OUTPUT, name, node, digest)``."""
        self.get_run(actor, pipeline_run_id)  # authorizes on the run's pipeline
        if len(step_run_ids) > records.MAX_EDGES:
            raise InvalidInput(f"At most {records.MAX_EDGES} step runs in one call")
        for run_id in step_run_ids:
            check_run_id(run_id)
        with self.db.read() as conn:
            rows = PipelineStore(conn).events_of(list(step_run_ids))
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows]

    def find_cached_step(
        self,
        actor: Actor,
        experiment_id: str,
        cache_key: str,
        *,
        started_since: int | None = None,
        run_id: str | None = None,
        exclude: Sequence[str] = (),
    ) -> CachedStep | None:
        """One lookup (``find_cached_steps``)."""
        lookup = CacheLookup(cache_key, started_since, run_id, tuple(exclude))
        return self.find_cached_steps(actor, experiment_id, [lookup])[0]

    def find_cached_steps(
        self, actor: Actor, experiment_id: str, lookups: Sequence[CacheLookup]
    ) -> list[CachedStep | None]:
        """For each lookup, the newest FINISHED (active) step run of ``experiment_id`` tagged
        with cache key ``cache_key`` that started at ``started_since`` (UTC ms) or later and
        is not in ``exclude``; with ``run_id``, that step run if it is in the experiment under
        the key, whatever its status (a resume adopts what the run it resumes made). None
        where none is. All of them in one read: a fan-out's steps are looked up together.

        What a cache hit checks comes with it, and no file is opened: its tags and params,
        and each output's files (below ``outputs/<name>/`` of the run that holds them, itself
        or the run it was a hit of) with digests, each blob checked to exist (``missing``).
        Whether the files are the tagged output is the caller's to judge (the manifest digest
        is the engine's).
        """
        experiment = check_experiment_id(experiment_id)
        if len(lookups) > records.MAX_BATCH:
            raise InvalidInput(f"At most {records.MAX_BATCH} lookups in one call")
        for lookup in lookups:
            _check_lookup(lookup)
        self.authz.check(actor, Permission.READ, experiment_resource(experiment))
        with self.db.read() as conn:
            store = PipelineStore(conn)
            files = ArtifactFileStore(conn)
            found = [self._candidate(store, files, actor, experiment, lk) for lk in lookups]
        present: dict[str, bool] = {}  # a blob shared by files (or step runs) is checked once
        return [None if step is None else self._with_missing(step, present) for step in found]

    def _candidate(
        self,
        store: PipelineStore,
        files: ArtifactFileStore,
        actor: Actor,
        experiment: int,
        lookup: CacheLookup,
    ) -> CachedStep | None:
        """The step run ``lookup`` asks for with its tags, params and output files, read in
        the caller's transaction; blobs not yet checked."""
        found: tuple[str, int] | None = None
        if lookup.run_id is not None:
            start = store.keyed_run(experiment, CACHE_KEY_TAG, lookup.cache_key, lookup.run_id)
            found = None if start is None else (lookup.run_id, start)
        else:
            skip = set(lookup.exclude)
            since = 0 if lookup.started_since is None else int(lookup.started_since)
            rows = store.keyed_runs(experiment, CACHE_KEY_TAG, lookup.cache_key, since,
                                    len(skip) + 1)  # fmt: skip
            found = next((row for row in rows if row[0] not in skip), None)
        if found is None:
            return None
        step_id, start_time = found
        tags = store.run_tags(step_id)
        params = store.run_params(step_id)
        source = tags.get(CACHED_FROM_TAG, step_id)
        if source != step_id:
            check_run_id(source)
            self.authz.check(actor, Permission.READ, run_resource(source))
        stored = files.walk(source, "outputs")
        names = [key[len(OUTPUT_TAG) :] for key in tags if key.startswith(OUTPUT_TAG)]
        below: dict[str, dict[str, str]] = {}
        for name in sorted(names):
            prefix = f"outputs/{name}/"
            below[name] = {
                f.path: f.digest for f in stored if f.path.startswith(prefix) and f.digest
            }
        return CachedStep(step_id, start_time, tags, params, source, below)

    def _with_missing(self, step: CachedStep, present: dict[str, bool]) -> CachedStep:
        """``step`` with the outputs that lost a blob named (``missing``)."""
        missing: list[str] = []
        for name, below in step.files.items():
            for digest in below.values():
                if digest not in present:
                    present[digest] = self.blobs.exists(digest)
                if not present[digest]:
                    missing.append(name)
                    break
        return dataclasses.replace(step, missing=tuple(missing)) if missing else step

    @staticmethod
    def _require_run(store: PipelineStore, run_id: str) -> PipelineRunInfo:
        row = store.context(PIPELINE_RUN, run_id)
        if row is None:
            raise NotFound("No such pipeline run", run_id=run_id)
        tags = store.context_tags(int(row.id))
        state = tags.get("state", "")
        beat = int(tags["heartbeat_at"]) if "heartbeat_at" in tags else None
        interval = float(tags["heartbeat_s"]) if "heartbeat_s" in tags else None
        return PipelineRunInfo(
            tags.get("pipeline", ""),
            run_id,
            state,
            tags.get("digest", ""),
            heartbeat_at=beat,
            heartbeat_s=interval,
            engine_lost=records.engine_lost(state, beat, interval, now_ms()),
        )


def _check_edges(outputs: Sequence[StepOutput], inputs: Sequence[StepInput]) -> None:
    if len(outputs) + len(inputs) > records.MAX_EDGES:
        raise InvalidInput(f"At most {records.MAX_EDGES} inputs and outputs in one call")
    for out in outputs:
        v.check_key("Output", out.name)
        _check_digest(out.digest)
        v.check_key("Materializer", out.materializer)
    for src in inputs:
        v.check_key("Input", src.name)
        check_run_id(src.producer_run_id)
        v.check_key("Output", src.output)


def _check_lookup(lookup: CacheLookup) -> None:
    _check_digest(lookup.cache_key)
    if lookup.started_since is not None:
        v.check_int64("started_since", lookup.started_since)
    if lookup.run_id is not None:
        check_run_id(lookup.run_id)
    if len(lookup.exclude) > MAX_EXCLUDED:
        raise InvalidInput(f"At most {MAX_EXCLUDED} step runs to exclude")
    for excluded in lookup.exclude:
        check_run_id(excluded)


def _check_digest(digest: str) -> None:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidInput("A digest is 64 lowercase hex characters (sha256)")
