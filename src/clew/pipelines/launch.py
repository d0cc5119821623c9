"""Running a pipeline from Python: ``run`` (to the end) and ``prepare`` (the ``Engine`` to hold
while it runs), with the tracking, the cache and the executor they set up; ``bind_params``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clew.pipelines import graph as g
from clew.pipelines.engine import Engine, Listener
from clew.pipelines.executors import Executor
from clew.pipelines.executors import executor as make_executor
from clew.pipelines.flatten import flatten
from clew.pipelines.graph import bind_params
from clew.pipelines.hooks import Hooks
from clew.pipelines.state import PipelineRunResult

__all__ = ["bind_params", "prepare", "run"]


def run(
    pipeline: Any,
    params: Mapping[str, Any] | None = None,
    *,
    client: Any = None,
    track: bool = True,
    cache: bool = True,
    resume_from: str | None = None,
    allow_pickle: bool = True,
    executor: Executor | str | None = None,
    listener: Listener | None = None,
) -> PipelineRunResult:
    """Run a ``@pipeline`` (or a ``PipelineSpec``) to the end and return what happened.

    Args:
        client: where the runs are tracked (``clew.Client()`` by default: the local store,
            or the server ``CLEW_TRACKING_URI`` names).
        track: ``False`` runs the steps without recording anything (values stay in memory).
        cache: ``False`` runs every step even where an earlier run's outputs would do
            (``--no-cache``); caching needs ``track``.
        resume_from: a failed (or canceled) run of this pipeline: its parameters are the
            defaults, and the steps that succeeded there reuse their outputs (CACHED) instead
            of running again, whatever their caching options.
        allow_pickle: ``False`` fails a step whose output only pickle could store.
        executor: an ``Executor`` or a registered name (``"threads"``, ``"processes"``,
            ``"ray"``).
    """
    engine = prepare(
        pipeline,
        params,
        client=client,
        track=track,
        cache=cache,
        resume_from=resume_from,
        allow_pickle=allow_pickle,
        executor=executor,
        listener=listener,
    )
    return engine.run()


def prepare(
    pipeline: Any,
    params: Mapping[str, Any] | None = None,
    *,
    client: Any = None,
    track: bool = True,
    cache: bool = True,
    resume_from: str | None = None,
    allow_pickle: bool = True,
    executor: Executor | str | None = None,
    listener: Listener | None = None,
) -> Engine:
    """The ``Engine`` that ``run`` runs, for a caller that also needs to hold it while it runs
    (to cancel it, or to read ``engine.hooks.root_run_id``). Takes ``run``'s arguments; an
    executor given by name is the engine's own, shut down when its run ends."""
    spec = getattr(pipeline, "spec", pipeline)
    if not isinstance(spec, g.PipelineSpec):
        raise TypeError("run() takes a @pipeline or a PipelineSpec")
    steps = getattr(pipeline, "steps", {})
    hooks: Hooks | None = None
    if resume_from is not None and not track:
        raise ValueError("resume_from needs track=True: the earlier run's outputs are tracked")
    if track:
        from clew.client.client import Client
        from clew.pipelines.materializers import Materializers
        from clew.pipelines.resume import resume_plan
        from clew.pipelines.tracking import TrackingHooks

        client = client or Client()
        reuse: dict[str, str] = {}
        if resume_from is not None:
            earlier, reuse = resume_plan(client, spec.name, resume_from)
            params = {**earlier, **(params or {})}
        engine_params = bind_params(flatten(spec), params or {})
        hooks = TrackingHooks(
            client,
            spec,
            engine_params,
            materializers=Materializers(allow_pickle=allow_pickle),
            cache=cache,
            reuse=reuse,
            resumed_from=resume_from,
        )
    owned = executor is None or isinstance(executor, str)
    if isinstance(executor, str):  # made last: a refused resume leaves nothing to shut down
        executor = make_executor(executor)
    return Engine(
        spec,
        params or {},
        steps=steps,
        executor=executor,
        listener=listener,
        hooks=hooks,
        owns_executor=owned,
    )
