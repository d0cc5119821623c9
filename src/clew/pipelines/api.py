"""The pipeline-lineage REST API: parse → ``PipelineService`` → response."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from clew.core.errors import InvalidInput
from clew.pipelines.records import (
    MAX_BATCH,
    CachedStepRecord,
    CacheLookup,
    StepInput,
    StepOutput,
)
from clew.server.deps import ActorDep, PlatformDep
from clew.server.routing import FeatureRouter

router = FeatureRouter(tags=["pipelines"])

RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Name = Annotated[str, Field(min_length=1, max_length=250)]


class StartRun(BaseModel):
    pipeline: Annotated[str, Field(min_length=1, max_length=500)]
    run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class OutputIn(BaseModel):
    name: Name
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    materializer: Name


class InputIn(BaseModel):
    name: Name
    producer_run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    output: Name


class RecordStep(BaseModel):
    outputs: Annotated[list[OutputIn], Field(max_length=1000)] = []
    inputs: Annotated[list[InputIn], Field(max_length=1000)] = []
    #: With ``status``, the step run's last params and tags, and its end, in the same request.
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    status: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    #: With ``status``, small outputs' files: ``{output: {path below outputs/<output>/:
    #: base64 bytes}}`` (``records.MAX_INLINE_BYTES`` in all).
    files: dict[str, dict[str, str]] = {}


ExperimentId = Annotated[str, Field(pattern=r"^[0-9]+$", max_length=19)]
RunName = Annotated[str, Field(min_length=1, max_length=500)]


class CachedStepIn(BaseModel):
    run_name: RunName
    outputs: Annotated[list[OutputIn], Field(max_length=1000)] = []
    inputs: Annotated[list[InputIn], Field(max_length=1000)] = []
    params: dict[str, str] = {}
    tags: dict[str, str] = {}

    def record(self) -> CachedStepRecord:
        return CachedStepRecord(
            self.run_name,
            tuple(StepOutput(o.name, o.digest, o.materializer) for o in self.outputs),
            tuple(StepInput(i.name, i.producer_run_id, i.output) for i in self.inputs),
            self.params,
            self.tags,
        )


class RecordCachedStep(CachedStepIn):
    experiment_id: ExperimentId


class RecordCachedSteps(BaseModel):
    experiment_id: ExperimentId
    steps: Annotated[list[CachedStepIn], Field(min_length=1, max_length=MAX_BATCH)]


class CachedStepRecorded(BaseModel):
    run_id: str


class CachedStepsRecorded(BaseModel):
    run_ids: list[str]


class FinishRun(BaseModel):
    state: Annotated[str, Field(min_length=1, max_length=16)]


class Heartbeat(BaseModel):
    interval_s: Annotated[float, Field(gt=0, le=3600)]


class PipelineRunOut(BaseModel):
    pipeline: str
    run_id: str
    state: str
    digest: str
    heartbeat_at: int | None = None
    heartbeat_s: float | None = None
    engine_lost: bool = False


class EdgeOut(BaseModel):
    run_id: str
    type: str
    name: str
    node_id: int
    digest: str


class EdgesOut(BaseModel):
    edges: list[EdgeOut]


class CachedStepOut(BaseModel):
    run_id: str
    start_time: int
    tags: dict[str, str]
    params: dict[str, str]
    files_run_id: str
    files: dict[str, dict[str, str]]
    missing: list[str]


class CachedStepFound(BaseModel):
    step: CachedStepOut | None


class LookupIn(BaseModel):
    cache_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    started_since: int | None = None
    run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    exclude: Annotated[list[str], Field(max_length=100)] = []

    def lookup(self) -> CacheLookup:
        return CacheLookup(self.cache_key, self.started_since, self.run_id, tuple(self.exclude))


class Lookups(BaseModel):
    lookups: Annotated[list[LookupIn], Field(max_length=MAX_BATCH)]


class CachedStepsFound(BaseModel):
    steps: list[CachedStepOut | None]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


@router.post("/pipeline-runs", status_code=201, response_model=PipelineRunOut)
def start_pipeline_run(body: StartRun, platform: PlatformDep, actor: ActorDep) -> Response:
    """A pipeline run's context (and its pipeline's, on first use), for its tracked run."""
    info = platform.pipelines.start_run(actor, body.pipeline, body.run_id, body.digest)
    return _json(info.to_dict(), 201)


@router.get("/pipeline-runs/{run_id}", response_model=PipelineRunOut)
def get_pipeline_run(run_id: RunId, platform: PlatformDep, actor: ActorDep) -> Response:
    return _json(platform.pipelines.get_run(actor, run_id).to_dict())


@router.post("/pipeline-runs/{run_id}/steps/{step_run_id}", status_code=204)
def record_pipeline_step(
    run_id: RunId, step_run_id: RunId, body: RecordStep, platform: PlatformDep, actor: ActorDep
) -> Response:
    """A step run's outputs (nodes with OUTPUT edges) and the outputs it read (INPUT edges);
    with ``status``, its last params and tags and its end too, in one transaction."""
    platform.pipelines.record_step(
        actor,
        run_id,
        step_run_id,
        outputs=[StepOutput(o.name, o.digest, o.materializer) for o in body.outputs],
        inputs=[StepInput(i.name, i.producer_run_id, i.output) for i in body.inputs],
        params=body.params,
        tags=body.tags,
        status=body.status,
        files={name: _decoded(below) for name, below in body.files.items()},
    )
    return Response(status_code=204)


@router.post(
    "/pipeline-runs/{run_id}/cached-steps", status_code=201, response_model=CachedStepRecorded
)
def record_cached_pipeline_step(
    run_id: RunId, body: RecordCachedStep, platform: PlatformDep, actor: ActorDep
) -> Response:
    """A step run that was a cache hit, whole: a FINISHED run nested under the pipeline run,
    with its params, tags, output nodes and input edges, in one transaction."""
    recorded = platform.pipelines.record_cached_steps(
        actor, run_id, body.experiment_id, [body.record()]
    )
    return _json({"run_id": recorded[0]}, 201)


@router.post(
    "/pipeline-runs/{run_id}/cached-steps/batch",
    status_code=201,
    response_model=CachedStepsRecorded,
)
def record_cached_pipeline_steps(
    run_id: RunId, body: RecordCachedSteps, platform: PlatformDep, actor: ActorDep
) -> Response:
    """Several cache hits' step runs, whole, in one transaction (a fan-out's hits found
    together); the new runs' ids in order."""
    steps = [step.record() for step in body.steps]
    recorded = platform.pipelines.record_cached_steps(actor, run_id, body.experiment_id, steps)
    return _json({"run_ids": recorded}, 201)


def _decoded(files: dict[str, str]) -> dict[str, bytes]:
    try:
        return {path: base64.b64decode(data, validate=True) for path, data in files.items()}
    except ValueError:  # binascii.Error, or characters beyond ASCII
        raise InvalidInput("A file's bytes are not base64") from None


@router.post("/pipeline-runs/{run_id}/finish", response_model=PipelineRunOut)
def finish_pipeline_run(
    run_id: RunId, body: FinishRun, platform: PlatformDep, actor: ActorDep
) -> Response:
    return _json(platform.pipelines.finish_run(actor, run_id, body.state).to_dict())


@router.post("/pipeline-runs/{run_id}/heartbeat", response_model=PipelineRunOut)
def pipeline_run_heartbeat(
    run_id: RunId, body: Heartbeat, platform: PlatformDep, actor: ActorDep
) -> Response:
    """The run's engine is alive and beats every ``interval_s`` seconds (not audited)."""
    return _json(platform.pipelines.heartbeat(actor, run_id, body.interval_s).to_dict())


@router.get("/pipeline-runs/{run_id}/edges", response_model=EdgesOut)
def pipeline_step_edges(
    run_id: RunId,
    platform: PlatformDep,
    actor: ActorDep,
    step_run_id: Annotated[list[str], Query(max_length=1000)],
) -> Response:
    rows = platform.pipelines.step_edges(actor, run_id, step_run_id)
    keys = ("run_id", "type", "name", "node_id", "digest")
    return _json({"edges": [dict(zip(keys, row, strict=True)) for row in rows]})


@router.get("/pipeline-cache/{experiment_id}/{cache_key}", response_model=CachedStepFound)
def find_cached_step(
    experiment_id: Annotated[str, Path(pattern=r"^[0-9]+$")],
    cache_key: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    platform: PlatformDep,
    actor: ActorDep,
    started_since: int | None = None,
    run_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
    exclude: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """The newest finished step run under a cache key, with its outputs' files and whether
    their blobs are stored (``PipelineService.find_cached_step``)."""
    found = platform.pipelines.find_cached_step(
        actor, experiment_id, cache_key, started_since=started_since, run_id=run_id, exclude=exclude
    )
    return _json({"step": None if found is None else found.to_dict()})


@router.post("/pipeline-cache/{experiment_id}/lookups", response_model=CachedStepsFound)
def find_cached_steps(
    experiment_id: Annotated[str, Path(pattern=r"^[0-9]+$")],
    body: Lookups,
    platform: PlatformDep,
    actor: ActorDep,
) -> Response:
    """Several cache lookups in one read (a POST for the body's size: it writes nothing);
    for each, the step run found, or null (``PipelineService.find_cached_steps``)."""
    lookups = [lookup.lookup() for lookup in body.lookups]
    found = platform.pipelines.find_cached_steps(actor, experiment_id, lookups)
    return _json({"steps": [None if step is None else step.to_dict() for step in found]})
