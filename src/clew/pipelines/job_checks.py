"""The checks a job or a schedule passes before it is written, shared by both services.

Each raises ``InvalidInput`` or ``NotFound`` naming what is wrong, so a bad request fails with
a 400 or a 404 when it is made, not later on a worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any, Final

import orjson

from clew.core.actor import Actor
from clew.core.authz import Authorizer, Resource, readable_scope
from clew.core.errors import InvalidInput, NotFound
from clew.pipelines import serialize
from clew.pipelines.executors import BUILT_IN, ENTRY_POINT_GROUP
from clew.pipelines.flatten import flatten
from clew.pipelines.graph import bind_params
from clew.pipelines.job_records import PipelineVersion
from clew.pipelines.jobs_store import JobStore

MAX_PAGE: Final = 1000


def pipeline_resource(pipeline: str) -> Resource:
    """What access to a pipeline's versions, jobs and schedules is checked against."""
    return Resource("pipeline", pipeline)


def readable_pipelines(authz: Authorizer, actor: Actor) -> list[str] | None:
    """The pipelines a listing may show ``actor``, for its query; None: every one."""
    found = readable_scope(authz, actor, "pipeline")
    return None if found is None else sorted(found)


def check_steps_allowed(version: PipelineVersion, allowed: tuple[str, ...]) -> None:
    """Every step of ``version`` is a module-level name in a module under ``allowed``.

    A server that imports and calls what a request names runs the requester's choice of code;
    the allowlist keeps that to the team's pipeline modules. The name must be one identifier
    (``module:fit``, not ``module:os.system``); the worker also checks that it is a ``@step``.
    """
    if not allowed:
        raise InvalidInput(
            "This server runs no pipeline jobs: set CLEW_PIPELINE_MODULES to the modules "
            "whose steps it may run"
        )
    assert version.spec is not None
    for task in flatten(serialize.from_dict(version.spec)).tasks:
        ref = task.step or ""
        module, _, name = ref.partition(":")
        if not name.isidentifier() or name.startswith("_"):
            raise InvalidInput(f"step {task.name!r}: {ref!r} is not a module-level step")
        if not any(module == m or module.startswith(m + ".") for m in allowed):
            raise InvalidInput(
                f"step {task.name!r}: module {module!r} is not in CLEW_PIPELINE_MODULES",
                step=task.name,
            )


def check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")


def job_options(cache: bool, executor: str) -> dict[str, Any]:
    known = {*BUILT_IN, *(e.name for e in metadata.entry_points(group=ENTRY_POINT_GROUP))}
    if executor not in known:
        raise InvalidInput(f"unknown executor {executor!r}; known: {', '.join(sorted(known))}")
    return {"cache": bool(cache), "executor": executor}


def json_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    given = dict(params or {})
    try:
        orjson.dumps(given)
    except TypeError as exc:
        raise InvalidInput(f"Parameters must be JSON values: {exc}") from None
    return given


def version_of(store: JobStore, pipeline: str, digest: str | None) -> PipelineVersion:
    if digest is None:
        found = store.latest_version(pipeline)
        if found is None:
            raise NotFound("The pipeline has no registered version", pipeline=pipeline)
        return found
    found = store.version(digest)
    if found is None or found.pipeline != pipeline:
        raise NotFound("The pipeline has no such version", pipeline=pipeline, digest=digest)
    return found


def check_params(version: PipelineVersion, given: dict[str, Any], *, resume: bool) -> None:
    """The parameters the run will bind, checked now so a bad submit fails with a 400."""
    assert version.spec is not None
    spec = flatten(serialize.from_dict(version.spec))
    if resume:  # missing values come from the run it resumes
        known = {p.name for p in spec.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise InvalidInput(f"pipeline {spec.name!r} has no parameters {unknown}")
        return
    bind_params(spec, given)
