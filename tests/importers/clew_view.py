"""Clew's side of an import, read back through its services in the readback script's shape,
so one dict comparison checks a whole import (and two imports can be compared whole)."""

from __future__ import annotations

from typing import Any

from clew.artifacts.service import ArtifactService
from clew.core.actor import Actor
from clew.importers.mlflow import MARK
from clew.platform import Platform
from clew.tracking.model import ViewType

ACTOR = Actor("importer")


def files(service: ArtifactService, owner: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    pending = [""]
    while pending:
        for f in service.list(ACTOR, owner, pending.pop()):
            if f.is_dir:
                pending.append(f.path)
            else:
                out[f.path] = [f.size, f.digest]
    return out


def without_mark(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k != MARK}


def view(platform: Platform, names: list[str], model: str) -> dict[str, Any]:
    t = platform.tracking
    out: dict[str, Any] = {"experiments": {}, "runs": {}, "logged_models": {}, "marks": {}}
    for name in names:
        e = t.get_experiment_by_name(ACTOR, name)
        out["experiments"][name] = {"lifecycle": e.lifecycle_stage, "tags": e.tags}
        runs = t.search_runs(ACTOR, [e.experiment_id], view_type=ViewType.ALL).items
        for r in runs:
            rid = r.info.run_id
            out["marks"][rid] = MARK in r.data.tags
            histories = {k: t.get_metric_history(ACTOR, rid, k) for k in r.data.metrics}
            out["runs"][rid] = {
                "experiment": name,
                "name": r.info.run_name,
                "status": r.info.status,
                "start_time": r.info.start_time,
                "end_time": r.info.end_time,
                "lifecycle": r.info.lifecycle_stage,
                "params": r.data.params,
                "tags": without_mark(r.data.tags),
                "metrics": {
                    k: [
                        [s, ts, repr(v)]
                        for s, ts, v in zip(h.steps, h.timestamps, h.values, strict=True)
                    ]
                    for k, h in histories.items()
                },
                "inputs": sorted(
                    [
                        i.dataset.name,
                        i.dataset.digest,
                        i.dataset.source_type,
                        i.dataset.source,
                        i.dataset.schema,
                        i.dataset.profile,
                        i.tags,
                    ]
                    for i in r.inputs
                ),
                "files": files(platform.artifacts, rid)
                if r.info.lifecycle_stage == "active"
                else None,
            }
        page = platform.logged_models.search(ACTOR, experiment_ids=[e.experiment_id])
        for m in page.items:
            out["marks"][m.model_id] = MARK in m.tags
            out["logged_models"][m.model_id] = {
                "name": m.name,
                "status": str(m.status),
                "source_run_id": m.source_run_id,
                "params": m.params,
                "tags": without_mark(m.tags),
                "metrics": sorted([x.key, x.step, x.timestamp, repr(x.value)] for x in m.metrics),
                "files": files(platform.logged_model_artifacts, m.model_id),
            }
    registry = platform.registry
    rm = registry.get_registered_model(ACTOR, model)
    versions = registry.search_model_versions(ACTOR, f"name = '{model}'").items
    out["model"] = {
        "description": rm.description,
        "tags": rm.tags,
        "aliases": {a: str(n) for a, n in rm.aliases.items()},
        "versions": {
            str(v.version): {
                "source": v.source,
                "run_id": v.run_id,
                "stage": str(v.current_stage),
                "description": v.description,
                "tags": v.tags,
                "status": str(v.status),
                "logged_model_id": v.logged_model_id,
                "digest": v.digest,
                "run_link": v.run_link,
            }
            for v in versions
        },
    }
    return out
