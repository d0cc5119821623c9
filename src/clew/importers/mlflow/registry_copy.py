"""The registry part of an import: registered models, their versions, stages and aliases.

Models are merged by name. Versions are keyed by the reserved tag ``clew.import.source``
(see ``job.py``) and numbered by Clew in MLflow's order, so a fresh model's numbers match
MLflow's as long as MLflow had no deleted versions in between; aliases and stages are mapped
through the keys, so they name the same model files either way.

A version's source is rewritten to what Clew holds: MLflow 3's ``models:/m-…`` stays (the
LoggedModel kept its id), and a run's files in any of MLflow's spellings
(``runs:/<run>/<path>``, ``mlflow-artifacts:/<exp>/<run>/artifacts/<path>``, a
``file:``/bucket URI ending in ``/<run>/artifacts/<path>``) become ``runs:/<run>/<path>`` of
the imported run, so the version records the digests of files Clew stores. Anything else is
kept as given if the registry accepts it as an external URI (``s3://``, ``https://``…), and
otherwise skipped with the reason.
"""

from __future__ import annotations

import re

from clew.core.errors import ClewError, NotFound
from clew.importers.mlflow.job import MARK, Job
from clew.importers.mlflow.source import SourceRegisteredModel, SourceVersion
from clew.importers.summary import ALREADY
from clew.registry.model import ModelVersion
from clew.registry.sources import parse_source

_RUNS = re.compile(r"^runs:/([0-9a-f]{32})(?:/(.*))?$")
_RUN_FILES = re.compile(r"/([0-9a-f]{32})/artifacts(?:/(.*))?$")
_PROXY_RUN = re.compile(r"^mlflow-artifacts:/[^/]+/([0-9a-f]{32})/artifacts(?:/(.*))?$")
_PROXY_MODEL = re.compile(r"^mlflow-artifacts:/[^/]+/models/(m-[0-9a-f]{32})/artifacts/?$")


def copy_registry(job: Job) -> None:
    for model in job.source.registered_models():
        versions = list(job.source.versions(model.name))
        job.summary.found(len(versions))
        try:
            numbers = _model(job, model, versions)
        except ClewError as exc:
            job.summary.skip("registered models", f"refused by Clew: {exc.code}: {exc.message}")
            continue
        _aliases(job, model, numbers)


def version_key(v: SourceVersion) -> str:
    """A version's identity across imports: its model, number and producing run or model."""
    return f"{v.name}/{v.version}@{v.model_id or v.run_id or ''}"


def _model(job: Job, model: SourceRegisteredModel, versions: list[SourceVersion]) -> dict[int, int]:
    """Create or merge the model and copy its versions; returns MLflow number → Clew number."""
    registry, actor = job.platform.registry, job.actor
    try:
        current = registry.get_registered_model(actor, model.name)
    except NotFound:
        registry.create_registered_model(
            actor, model.name, description=model.description or None, tags=model.tags
        )
        job.summary.copy("registered models")
    else:
        changed = {k: v for k, v in model.tags.items() if current.tags.get(k) != v}
        if changed:
            registry.set_registered_model_tags(actor, model.name, changed)
        if model.description and current.description != model.description:
            registry.update_registered_model(actor, model.name, description=model.description)
        if changed or (model.description and current.description != model.description):
            job.summary.copy("registered models")
        else:
            job.summary.skip("registered models", "already in Clew (merged by name)")
    existing = {mv.tags.get(MARK): mv for mv in _clew_versions(job, model.name)}
    numbers: dict[int, int] = {}
    for v in versions:
        try:
            target = _version(job, v, existing.get(version_key(v)))
        except ClewError as exc:
            job.summary.skip("model versions", f"refused by Clew: {exc.code}: {exc.message}")
            target = None
        if target is not None:
            numbers[v.version] = target.version
            _stage(job, v, target)
        job.summary.tick(f"{v.name} v{v.version}")
    return numbers


def _clew_versions(job: Job, name: str) -> list[ModelVersion]:
    registry, found, token = job.platform.registry, [], None
    escaped = name.replace("'", "\\'")
    while True:
        page = registry.search_model_versions(
            job.actor, f"name = '{escaped}'", max_results=1000, page_token=token
        )
        found += [mv for mv in page.items if mv.name == name]
        token = page.next_page_token
        if not token:
            return found


def _version(job: Job, v: SourceVersion, existing: ModelVersion | None) -> ModelVersion | None:
    registry, actor = job.platform.registry, job.actor
    if existing is not None:
        job.summary.skip("model versions", ALREADY)
        if v.description and existing.description != v.description:
            registry.update_model_version(
                actor, v.name, existing.version, description=v.description
            )
        changed = {k: x for k, x in v.tags.items() if existing.tags.get(k) != x}
        if changed:
            registry.set_model_version_tags(actor, v.name, existing.version, changed)
        return existing
    if v.status == "FAILED_REGISTRATION":
        job.summary.skip("model versions", "a failed registration in MLflow")
        return None
    source, why = _clew_source(job, v)
    if source is None:
        job.summary.skip("model versions", why)
        return None
    run_id = v.run_id if v.run_id in job.runs_here else None
    created = registry.create_model_version(
        actor,
        v.name,
        source,
        run_id=None if source.startswith("runs:/") else run_id,  # a run source implies it
        tags={**v.tags, MARK: version_key(v)},
        description=v.description or None,
        logged_model_id=v.model_id if source.startswith("models:/") else None,
        status="PENDING_REGISTRATION" if v.status == "PENDING_REGISTRATION" else "READY",
        run_link=v.run_link or None,
    )
    job.summary.copy("model versions")
    job.at("version.created")
    return created


def _clew_source(job: Job, v: SourceVersion) -> tuple[str | None, str]:
    """The source Clew registers the version from, or ``None`` and why not."""
    src = v.source
    model_id = v.model_id
    if model_id is None and (m := _PROXY_MODEL.match(src)):
        model_id = m.group(1)
    if model_id is not None:
        if model_id in job.logged_models_here:
            return f"models:/{model_id}", ""
        return None, "its logged model was not imported"
    m = _RUNS.match(src) or _PROXY_RUN.match(src) or _RUN_FILES.search(src)
    if m is not None:
        run_id, path = m.group(1), (m.group(2) or "").strip("/")
        if run_id not in job.runs_here:
            return None, "its run was not imported"
        return (f"runs:/{run_id}/{path}" if path else f"runs:/{run_id}"), ""
    try:
        parse_source(src)
    except ClewError:
        return None, "its source is outside what was imported and not an allowed URI"
    return src, ""


def _stage(job: Job, v: SourceVersion, target: ModelVersion) -> None:
    if str(target.current_stage).lower() == v.stage.lower():
        if v.stage.lower() != "none":
            job.summary.skip("stages", ALREADY)
        return
    job.platform.registry.transition_model_version_stage(job.actor, v.name, target.version, v.stage)
    job.summary.copy("stages")


def _aliases(job: Job, model: SourceRegisteredModel, numbers: dict[int, int]) -> None:
    registry, actor = job.platform.registry, job.actor
    try:
        current = registry.get_registered_model(actor, model.name).aliases
    except NotFound:
        current = {}
    for alias, version in sorted(model.aliases.items()):
        target = numbers.get(version)
        if target is None:
            job.summary.skip("aliases", "its version was not imported")
        elif current.get(alias) == target:
            job.summary.skip("aliases", ALREADY)
        else:
            try:
                registry.set_registered_model_alias(actor, model.name, alias, target)
            except ClewError as exc:  # e.g. a protected alias: the policy decides, not us
                job.summary.skip("aliases", f"refused by Clew: {exc.code}: {exc.message}")
                continue
            job.summary.copy("aliases")
