"""Every step a tracked run, with no code in the step: ``TrackingHooks`` for the engine.

A pipeline run is a run of its own (in an experiment named after the pipeline, tagged
``clew.pipeline``, with the pipeline's parameters as params and its definition as
``pipeline.json``); each step run that starts is a run nested under it, named ``fit`` or
``fit[2]``. A step run's params are its inputs: the value when it is short JSON, else the
digest of the upstream output it came from. Inside the step the fluent API logs to the step's
run (``clew.log_metric("loss", 0.1)`` just works, on whichever worker thread). Each output is
written by its materializer and stored as the run's artifacts under ``outputs/<name>/``, so it
has a digest; the run is tagged ``clew.output.<name>`` with ``<materializer>:<digest>``.

Everything goes through ``clew.Client``, so a pipeline on a laptop tracks into the local
store and one pointed at a server (``CLEW_TRACKING_URI``) tracks there.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from clew.client.client import Client
from clew.pipelines import graph as g
from clew.pipelines.engine import Hooks, outputs_of
from clew.pipelines.flatten import flatten
from clew.pipelines.materializers import Materializers
from clew.pipelines.serialize import digest, to_dict
from clew.pipelines.state import PipelineRunResult, PipelineState, StepRun, StepState

PIPELINE_TAG: Final = "clew.pipeline"
PIPELINE_RUN_TAG: Final = "clew.pipeline.run"
STEP_TAG: Final = "clew.pipeline.step"
STATE_TAG: Final = "clew.pipeline.state"
OUTPUT_TAG: Final = "clew.output."
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


def manifest_digest(files: Mapping[str, str]) -> str:
    """One digest for a directory: sha256 over its ``path\\0digest`` lines in path order."""
    lines = "".join(f"{path}\0{files[path]}\n" for path in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


class TrackingHooks(Hooks):
    def __init__(
        self,
        client: Client,
        spec: g.PipelineSpec,
        params: Mapping[str, Any],
        *,
        materializers: Materializers | None = None,
        experiment: str | None = None,
    ) -> None:
        self.client = client
        self.definition = spec
        self.spec = flatten(spec)
        self.materializers = materializers or Materializers()
        self.experiment_name = experiment or spec.name
        self.params = dict(params)
        self.root_run_id: str | None = None
        self.experiment_id: str | None = None
        #: The tracked run of each step run, and the digest of each output it stored.
        self.run_ids: dict[tuple[str, tuple[int, ...]], str] = {}
        self.digests: dict[tuple[str, tuple[int, ...], str], str] = {}
        self._lock = threading.Lock()

    # ---- the pipeline run ---------------------------------------------------------------------

    def started(self) -> None:
        found = self.client.get_experiment_by_name(self.experiment_name)
        if found is None:
            self.experiment_id = self.client.create_experiment(self.experiment_name)
        else:
            self.experiment_id = found.experiment_id
        root = self.client.create_run(
            self.experiment_id,
            run_name=self.spec.name,
            tags={PIPELINE_TAG: self.spec.name, "clew.pipeline.digest": digest(self.definition)},
        )
        self.root_run_id = root.info.run_id
        params = {k: _text(v) or f"<{type(v).__name__}>" for k, v in self.params.items()}
        if params:
            self.client.log_params(self.root_run_id, params)
        self.client.log_dict(self.root_run_id, to_dict(self.definition), "pipeline.json")

    def finished(self, result: PipelineRunResult) -> None:
        assert self.root_run_id is not None
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
        self.client.log_dict(self.root_run_id, {"state": result.state.value, "steps": steps},
                             "steps.json")  # fmt: skip
        self.client.set_tag(self.root_run_id, STATE_TAG, result.state.value)
        self.client.set_terminated(self.root_run_id, _RUN_STATUS[result.state])

    # ---- step runs ----------------------------------------------------------------------------

    def before(self, task: g.TaskSpec, run: StepRun, kwargs: dict[str, Any]) -> None:
        key = (run.task, run.index)
        if key in self.run_ids:
            return  # a retry: the same tracked run, resumed by ``call``
        assert self.experiment_id is not None and self.root_run_id is not None
        created = self.client.create_run(
            self.experiment_id,
            run_name=run.key,
            parent_run_id=self.root_run_id,
            tags={PIPELINE_RUN_TAG: self.root_run_id, STEP_TAG: task.name},
        )
        self.run_ids[key] = created.info.run_id
        params = {name: self._param(task, run, name, value) for name, value in kwargs.items()}
        if params:
            self.client.log_params(created.info.run_id, params)

    def _param(self, task: g.TaskSpec, run: StepRun, name: str, value: Any) -> str:
        text = _text(value)
        if text is not None:
            return text
        source = task.inputs[name]
        if isinstance(source, g.TaskOutput):
            width = len(self.spec.task(source.task).loops)
            found = self.digests.get((source.task, run.index[:width], source.output))
            if found:
                return f"sha256:{found}"
        return f"<{type(value).__name__}>"

    def call(
        self,
        task: g.TaskSpec,
        run: StepRun,
        function: Callable[..., Any],
        kwargs: dict[str, Any],
    ) -> Any:
        from clew.client.fluent import start_run, use_client

        run_id = self.run_ids[(run.task, run.index)]
        with use_client(self.client), start_run(run_id=run_id):
            value = function(**kwargs)
            for name, output in outputs_of(task, value).items():
                self._store(task, run, run_id, name, output)
        return value

    def _store(self, task: g.TaskSpec, run: StepRun, run_id: str, name: str, value: Any) -> None:
        materializer = self.materializers.for_value(value, step=run.key)
        with tempfile.TemporaryDirectory(prefix="clew-output-") as tmp:
            directory = Path(tmp)
            materializer.save(value, directory)
            stored = self.client.log_artifacts(run_id, directory, f"outputs/{name}")
        files = {f.path: f.digest for f in stored if f.digest}
        found = manifest_digest(files)
        with self._lock:
            self.digests[(run.task, run.index, name)] = found
        self.client.set_tag(run_id, OUTPUT_TAG + name, f"{materializer.name}:{found}")

    def changed(self, run: StepRun) -> None:
        run_id = self.run_ids.get((run.task, run.index))
        if run_id is None or not run.state.is_terminal:
            return
        self.client.set_tag(run_id, STATE_TAG, run.state.value)
        if run.state in (StepState.FAILED, StepState.CANCELED):
            # A timeout ends the step here while its thread may still run.
            status = "FAILED" if run.state is StepState.FAILED else "KILLED"
            self.client.set_terminated(run_id, status)
