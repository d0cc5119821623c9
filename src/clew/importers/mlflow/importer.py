"""``import_mlflow``: copy an MLflow installation's history into Clew through Clew's services.

Every write is a service call (``platform.tracking``, ``platform.artifacts``,
``platform.logged_models``, ``platform.registry``), so imported data is validated, audited and
put in the metadata graph exactly like data logged live; no table is written directly. See
``job.py`` for how objects are keyed (idempotency) and how an interrupted import resumes.

Order, per experiment: the experiment (merged by name), its runs parents first (params, tags,
full metric histories, dataset inputs, files, then the marker), its LoggedModels, then the
deletions MLflow recorded. The registry comes last, because versions point at imported runs'
and logged models' files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from clew.core.actor import Actor
from clew.core.errors import AlreadyExists, ClewError, NotFound
from clew.importers.mlflow import registry_copy
from clew.importers.mlflow.job import MARK, Checkpoint, Job
from clew.importers.mlflow.source import (
    DELETED,
    MlflowSource,
    SourceExperiment,
    SourceLoggedModel,
    SourceRun,
)
from clew.importers.summary import ALREADY, Summary
from clew.platform import Platform
from clew.tracking.model import LifecycleStage, Run

T = TypeVar("T")
MERGED = "already in Clew (merged by name)"
NOT_ASKED = "deleted in MLflow (pass --include-deleted to copy)"


def import_mlflow(
    platform: Platform,
    source: MlflowSource,
    actor: Actor,
    *,
    include_deleted: bool = False,
    summary: Summary | None = None,
    checkpoint: Checkpoint | None = None,
) -> Summary:
    """Copy everything of ``source`` into ``platform``; safe to run again, and to resume.

    Args:
        include_deleted: also copy experiments, runs and logged models MLflow marked deleted
            (they arrive deleted); otherwise they are reported as skipped.
        summary: where counts go (pass one with ``on_item`` for a progress bar).
        checkpoint: called at every step boundary; raising from it interrupts the import
            (the resumability tests do).

    Returns:
        What was copied and what was skipped, and why.
    """
    job = Job(platform, source, actor, summary or Summary(), include_deleted, checkpoint)
    for experiment in source.experiments():
        _experiment(job, experiment)
    registry_copy.copy_registry(job)
    return job.summary


# ---- experiments ---------------------------------------------------------------------------------


def _experiment(job: Job, exp: SourceExperiment) -> None:
    runs = list(job.source.runs(exp.experiment_id))
    models = list(job.source.logged_models(exp.experiment_id))
    job.summary.found(len(runs) + len(models))
    if exp.lifecycle_stage == DELETED and not job.include_deleted:
        job.summary.skip("experiments", NOT_ASKED)
        job.summary.skip("runs", "in an experiment deleted in MLflow", len(runs))
        job.summary.skip("logged models", "in an experiment deleted in MLflow", len(models))
        for item in [*runs, *models]:
            job.summary.tick(getattr(item, "name", ""))
        return
    tracking, actor = job.platform.tracking, job.actor
    try:
        target = tracking.get_experiment_by_name(actor, exp.name)
    except NotFound:
        eid = tracking.create_experiment(actor, exp.name, tags=exp.tags)
        job.summary.copy("experiments")
    else:
        eid = target.experiment_id
        if target.lifecycle_stage != LifecycleStage.ACTIVE:
            if _all_done(job, runs):
                job.summary.skip("experiments", MERGED)
                job.summary.skip("runs", ALREADY, len(runs))
                job.summary.skip("logged models", ALREADY, len(models))
                return
            tracking.restore_experiment(actor, eid)  # more to copy: deleted again at the end
        changed = {k: v for k, v in exp.tags.items() if target.tags.get(k) != v}
        if changed:
            tracking.set_experiment_tags(actor, eid, changed)
            job.summary.copy("experiments")
        else:
            job.summary.skip("experiments", MERGED)
    for run in _parents_first(runs):
        _run_guarded(job, run, eid)
        job.summary.tick(run.name or run.run_id)
    for model in models:
        _logged_model_guarded(job, model, eid)
        job.summary.tick(model.name or model.model_id)
    _deletions(job, runs, models)
    if exp.lifecycle_stage == DELETED:
        current = tracking.get_experiment(actor, eid)
        if current.lifecycle_stage == LifecycleStage.ACTIVE:
            tracking.delete_experiment(actor, eid)


def _all_done(job: Job, runs: Sequence[SourceRun]) -> bool:
    """A deleted Clew experiment whose runs are all imported: nothing to restore it for."""
    for run in runs:
        if run.lifecycle_stage == DELETED and not job.include_deleted:
            continue
        found = _clew_run(job, run.run_id)
        if found is None or MARK not in found.data.tags:
            return False
    return True


def _parents_first(runs: Sequence[SourceRun]) -> list[SourceRun]:
    """Runs ordered so every parent comes before its children (create_run checks the parent)."""
    by_id = {r.run_id: r for r in runs}
    ordered: list[SourceRun] = []
    seen: set[str] = set()

    def visit(run: SourceRun, depth: int = 0) -> None:
        if run.run_id in seen:
            return
        seen.add(run.run_id)
        parent = by_id.get(run.parent_run_id or "")
        if parent is not None and depth < 1000:
            visit(parent, depth + 1)
        ordered.append(run)

    for run in runs:
        visit(run)
    return ordered


# ---- runs ----------------------------------------------------------------------------------------


def _run_guarded(job: Job, run: SourceRun, eid: str) -> None:
    if run.lifecycle_stage == DELETED and not job.include_deleted:
        job.summary.skip("runs", NOT_ASKED)
        return
    try:
        _run(job, run, eid)
    except ClewError as exc:  # one bad run must not stop the rest; it is retried next time
        job.summary.skip("runs", f"refused by Clew: {exc.code}: {exc.message}")


def _clew_run(job: Job, run_id: str) -> Run | None:
    try:
        return job.platform.tracking.get_run(job.actor, run_id)
    except NotFound:
        return None


def _run(job: Job, run: SourceRun, eid: str) -> None:
    tracking, actor, limits = job.platform.tracking, job.actor, job.platform.settings
    found = _clew_run(job, run.run_id)
    if found is not None and found.info.experiment_id != str(eid):
        job.summary.skip("runs", "its id is taken by a run of another Clew experiment")
        return
    if found is not None and MARK in found.data.tags:
        job.runs_here.add(run.run_id)
        job.summary.skip("runs", ALREADY)
        return
    tags = {k: v for k, v in run.tags.items() if k != "mlflow.parentRunId"}
    parent = run.parent_run_id if run.parent_run_id in job.runs_here else None
    if run.parent_run_id and parent is not None:
        tags["mlflow.parentRunId"] = parent
    if found is not None and found.info.lifecycle_stage != LifecycleStage.ACTIVE:
        tracking.restore_run(actor, run.run_id)  # a resumed copy: deleted again at the end
    if found is None:
        first = dict(list(tags.items())[: limits.max_batch_tags])
        tracking.create_run(
            actor,
            experiment_id=str(eid),
            run_name=run.name or None,
            start_time=run.start_time,
            tags=first,
            parent_run_id=parent,
            status=run.status,
            end_time=run.end_time,
            run_id=run.run_id,
        )
        job.at("run.created")
    job.runs_here.add(run.run_id)
    for chunk in _chunks(list(run.params.items()), limits.max_batch_params):
        tracking.log_batch(actor, run.run_id, params=chunk)
    for chunk in _chunks(list(tags.items()), limits.max_batch_tags):
        tracking.log_batch(actor, run.run_id, tags=chunk)
    for key in run.metric_keys:
        points = job.source.metric_history(run.run_id, key)
        for batch in _chunks(points, limits.max_batch_metrics):
            tracking.log_batch(actor, run.run_id, metrics=batch)
        job.summary.copy("metric points", len(points))
        job.at("run.metric")
    datasets = job.source.inputs(run.run_id)
    if datasets:
        tracking.log_inputs(actor, run.run_id, datasets)
        job.summary.copy("datasets", len(datasets))
    job.at("run.inputs")
    job.copy_files(run.artifact_uri, run.run_id, job.platform.artifacts)
    tracking.set_tag(actor, run.run_id, MARK, job.source.label)
    job.summary.copy("runs")
    job.at("run.done")


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for i in range(0, len(items), max(size, 1)):
        yield items[i : i + size]


# ---- logged models -------------------------------------------------------------------------------


def _logged_model_guarded(job: Job, model: SourceLoggedModel, eid: str) -> None:
    if model.lifecycle_stage == DELETED and not job.include_deleted:
        job.summary.skip("logged models", NOT_ASKED)
        return
    try:
        _logged_model(job, model, eid)
    except ClewError as exc:
        job.summary.skip("logged models", f"refused by Clew: {exc.code}: {exc.message}")


def _logged_model(job: Job, model: SourceLoggedModel, eid: str) -> None:
    service, actor = job.platform.logged_models, job.actor
    try:
        found = service.get(actor, model.model_id)
    except NotFound:
        found = None
    if found is not None and MARK in found.tags:
        job.logged_models_here.add(model.model_id)
        job.summary.skip("logged models", ALREADY)
        return
    if found is None:
        run_id = model.source_run_id if model.source_run_id in job.runs_here else None
        try:
            found = service.create(
                actor,
                experiment_id=str(eid),
                name=model.name or None,
                source_run_id=run_id,
                model_type=model.model_type or None,
                params=model.params,
                tags=model.tags,
                model_id=model.model_id,
            )
        except AlreadyExists:  # imported, then deleted as MLflow had it: finished
            job.logged_models_here.add(model.model_id)
            job.summary.skip("logged models", ALREADY)
            return
        job.at("logged_model.created")
    else:
        service.set_tags(actor, model.model_id, model.tags)
    job.logged_models_here.add(model.model_id)
    if str(found.status) == "PENDING":
        job.copy_files(model.artifact_location, model.model_id, job.platform.logged_model_artifacts)
    # A point names the run that computed it only if that run is in Clew (it is checked).
    points = [
        p if p.run_id in job.runs_here or p.run_id is None else replace(p, run_id=None)
        for p in model.metrics
    ]
    for batch in _chunks(points, job.platform.settings.max_batch_metrics):
        service.log_metrics(actor, model.model_id, batch)
    if model.status != "PENDING" and str(found.status) == "PENDING":
        service.finalize(actor, model.model_id, model.status, model.status_message or None)
    service.set_tags(actor, model.model_id, {MARK: job.source.label})
    job.summary.copy("logged models")
    job.at("logged_model.done")


def _deletions(job: Job, runs: Sequence[SourceRun], models: Sequence[SourceLoggedModel]) -> None:
    """What MLflow deleted (and the user asked to copy) is deleted in Clew too, last."""
    if not job.include_deleted:
        return
    for model in models:
        if model.lifecycle_stage == DELETED and model.model_id in job.logged_models_here:
            job.platform.logged_models.delete(job.actor, model.model_id)  # idempotent
    for run in runs:
        if run.lifecycle_stage == DELETED and run.run_id in job.runs_here:
            job.platform.tracking.delete_run(job.actor, run.run_id)  # idempotent
