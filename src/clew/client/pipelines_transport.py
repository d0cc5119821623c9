"""The pipeline-lineage calls on both transports (mixins of the local and HTTP transports).

Local calls ``PipelineService`` in-process as the OS user; HTTP calls ``/api/v1/pipeline-runs``
through the transport's own request plumbing (retries, error mapping). Starting a run is not
retried (a replay would be refused as a second start), nor is recording cached steps (it
makes the steps' runs); recording a step's end and finishing are idempotent and are.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from clew.pipelines.records import (
    CachedStep,
    CachedStepRecord,
    CacheLookup,
    PipelineRunInfo,
    StepInput,
    StepOutput,
)

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform

Edge = tuple[str, str, str, int, str]


class LocalPipelines:
    platform: Platform
    actor: Actor

    def start_pipeline_run(self, pipeline: str, run_id: str, digest: str) -> PipelineRunInfo:
        return self.platform.pipelines.start_run(self.actor, pipeline, run_id, digest)

    def record_pipeline_step(
        self,
        pipeline_run_id: str,
        step_run_id: str,
        outputs: Sequence[StepOutput] = (),
        inputs: Sequence[StepInput] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
        files: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> None:
        self.platform.pipelines.record_step(self.actor, pipeline_run_id, step_run_id, outputs,
                                            inputs, params=params, tags=tags, status=status,
                                            files=files)  # fmt: skip

    def record_cached_pipeline_steps(
        self, pipeline_run_id: str, experiment_id: str, steps: Sequence[CachedStepRecord]
    ) -> list[str]:
        return self.platform.pipelines.record_cached_steps(
            self.actor, pipeline_run_id, experiment_id, steps
        )

    def finish_pipeline_run(self, run_id: str, state: str) -> PipelineRunInfo:
        return self.platform.pipelines.finish_run(self.actor, run_id, state)

    def get_pipeline_run(self, run_id: str) -> PipelineRunInfo:
        return self.platform.pipelines.get_run(self.actor, run_id)

    def pipeline_run_heartbeat(self, run_id: str, interval_s: float) -> PipelineRunInfo:
        return self.platform.pipelines.heartbeat(self.actor, run_id, interval_s)

    def pipeline_step_edges(self, run_id: str, step_run_ids: Sequence[str]) -> list[Edge]:
        return list(self.platform.pipelines.step_edges(self.actor, run_id, step_run_ids))

    def find_cached_steps(
        self, experiment_id: str, lookups: Sequence[CacheLookup]
    ) -> list[CachedStep | None]:
        return self.platform.pipelines.find_cached_steps(self.actor, experiment_id, lookups)


def _info(data: dict[str, Any]) -> PipelineRunInfo:
    return PipelineRunInfo(
        data["pipeline"],
        data["run_id"],
        data["state"],
        data["digest"],
        heartbeat_at=data.get("heartbeat_at"),
        heartbeat_s=data.get("heartbeat_s"),
        engine_lost=bool(data.get("engine_lost", False)),
    )


class HttpPipelines:
    _json: Callable[..., Any]
    request: Callable[..., Any]

    def start_pipeline_run(self, pipeline: str, run_id: str, digest: str) -> PipelineRunInfo:
        body = {"pipeline": pipeline, "run_id": run_id, "digest": digest}
        return _info(self._json("POST", "/pipeline-runs", body=body))

    def record_pipeline_step(
        self,
        pipeline_run_id: str,
        step_run_id: str,
        outputs: Sequence[StepOutput] = (),
        inputs: Sequence[StepInput] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
        files: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "outputs": [vars(o) for o in outputs],
            "inputs": [vars(i) for i in inputs],
        }
        if status is not None:
            body.update(params=dict(params or {}), tags=dict(tags or {}), status=status)
        if files:
            body["files"] = {
                name: {path: base64.b64encode(data).decode() for path, data in below.items()}
                for name, below in files.items()
            }
        path = f"/pipeline-runs/{pipeline_run_id}/steps/{step_run_id}"
        self.request("POST", path, body=body, idempotent=True)

    def record_cached_pipeline_steps(
        self, pipeline_run_id: str, experiment_id: str, steps: Sequence[CachedStepRecord]
    ) -> list[str]:
        body = {
            "experiment_id": experiment_id,
            "steps": [
                {
                    "run_name": step.run_name,
                    "outputs": [vars(o) for o in step.outputs],
                    "inputs": [vars(i) for i in step.inputs],
                    "params": dict(step.params),
                    "tags": dict(step.tags),
                }
                for step in steps
            ],
        }
        # Not retried, as a run's creation is not: a replay would record second step runs.
        path = f"/pipeline-runs/{pipeline_run_id}/cached-steps/batch"
        return [str(run_id) for run_id in self._json("POST", path, body=body)["run_ids"]]

    def finish_pipeline_run(self, run_id: str, state: str) -> PipelineRunInfo:
        data = self._json(
            "POST", f"/pipeline-runs/{run_id}/finish", body={"state": state}, idempotent=True
        )
        return _info(data)

    def get_pipeline_run(self, run_id: str) -> PipelineRunInfo:
        return _info(self._json("GET", f"/pipeline-runs/{run_id}", idempotent=True))

    def pipeline_run_heartbeat(self, run_id: str, interval_s: float) -> PipelineRunInfo:
        body = {"interval_s": interval_s}
        path = f"/pipeline-runs/{run_id}/heartbeat"
        return _info(self._json("POST", path, body=body, idempotent=True))

    def pipeline_step_edges(self, run_id: str, step_run_ids: Sequence[str]) -> list[Edge]:
        data = self._json(
            "GET",
            f"/pipeline-runs/{run_id}/edges",
            params={"step_run_id": list(step_run_ids)},
            idempotent=True,
        )
        return [
            (e["run_id"], e["type"], e["name"], e["node_id"], e["digest"]) for e in data["edges"]
        ]

    def find_cached_steps(
        self, experiment_id: str, lookups: Sequence[CacheLookup]
    ) -> list[CachedStep | None]:
        body = {
            "lookups": [
                {
                    "cache_key": lk.cache_key,
                    "started_since": lk.started_since,
                    "run_id": lk.run_id,
                    "exclude": list(lk.exclude),
                }
                for lk in lookups
            ]
        }
        path = f"/pipeline-cache/{experiment_id}/lookups"
        data = self._json("POST", path, body=body, idempotent=True)  # a read: safe to replay
        return [None if step is None else CachedStep.from_dict(step) for step in data["steps"]]
