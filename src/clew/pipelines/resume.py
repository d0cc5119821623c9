"""What resuming a pipeline run starts from: its parameters, and the step runs whose outputs it
made, read from the store as the step runs left it.

The step runs themselves are the record, not the summary the engine writes as it ends
(``steps.json``): an engine that was killed wrote none, and what its finished steps made is
just as reusable. A run whose engine is lost (``pipelines.liveness``) is first ended FAILED,
with the step runs that were running when it stopped, so nothing is left looking alive.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson

from clew.client.client import Client
from clew.core.errors import InvalidInput, NotFound
from clew.pipelines.records import PipelineRunInfo
from clew.pipelines.run_tags import PIPELINE_RUN_TAG, PIPELINE_TAG, REASON_TAG, STATE_TAG
from clew.pipelines.state import PipelineState, StepState

_PRODUCED = (StepState.SUCCEEDED.value, StepState.CACHED.value)


def resume_plan(
    client: Client, pipeline: str, run_id: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Pipeline run ``run_id``'s parameters, and its step runs (by key) whose outputs exist.

    Raises:
        InvalidInput: it is not a run of ``pipeline``, its engine is still running it, or it
            recorded no parameters to resume with.
    """
    root = client.get_run(run_id)
    if root.data.tags.get(PIPELINE_TAG) != pipeline:
        raise InvalidInput(f"Run {run_id} is not a run of pipeline {pipeline!r}")
    steps = list(
        client.iter_runs([root.info.experiment_id], f"tags.`{PIPELINE_RUN_TAG}` = '{run_id}'")
    )
    if root.info.status == "RUNNING":
        info = client.get_pipeline_run(run_id)
        if not info.engine_lost:
            raise InvalidInput(
                f"Pipeline run {run_id} is still running (its engine last said so at "
                f"{_when(info.heartbeat_at)}); there is nothing to resume yet"
            )
        end_lost_run(client, info, steps)
    try:
        with client.open_artifact(run_id, "params.json") as chunks:
            params = orjson.loads(b"".join(chunks))["params"]
    except NotFound:
        raise InvalidInput(
            f"Pipeline run {run_id} has no params.json: it cannot be resumed"
        ) from None
    reuse = {
        str(step.info.run_name): step.info.run_id
        for step in steps
        if step.data.tags.get(STATE_TAG) in _PRODUCED
    }
    return params, reuse


def end_lost_run(client: Client, info: PipelineRunInfo, steps: list[Any]) -> str:
    """End pipeline run ``info``, whose engine is lost, FAILED, and each of its ``steps`` that
    was still running with it; returns the reason they are given.

    A step run already tagged SUCCEEDED or CACHED but not ended lost only its end: the engine
    tags a step run once every output is stored, and ends it right after. It is ended FINISHED,
    and reused like any other.
    """
    reason = f"the engine stopped: its last heartbeat was at {_when(info.heartbeat_at)}"
    failed = {STATE_TAG: StepState.FAILED.value, REASON_TAG: reason}
    for step in steps:
        if step.info.status != "RUNNING":
            continue
        if step.data.tags.get(STATE_TAG) in _PRODUCED:
            client.set_terminated(step.info.run_id, "FINISHED")
        else:
            client.set_tags(step.info.run_id, failed)
            client.set_terminated(step.info.run_id, "FAILED")
    client.set_tags(info.run_id, failed)
    client.finish_pipeline_run(info.run_id, PipelineState.FAILED.value)
    client.set_terminated(info.run_id, "FAILED")
    return reason


def _when(ms: int | None) -> str:
    if ms is None:
        return "an unknown time"
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
