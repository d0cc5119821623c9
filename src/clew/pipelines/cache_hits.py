"""Finding a cache hit: earlier step runs under the same key, and their outputs checked to be
still stored (each file listed and its blob opened, the manifest matching the tagged digest)
without loading them (``Deferred``, or references for a by-reference executor)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clew.client.client import Client
from clew.pipelines import graph as g
from clew.pipelines.hooks import as_return
from clew.pipelines.materializers import Materializers
from clew.pipelines.run_tags import CACHE_KEY_TAG, OUTPUT_TAG
from clew.pipelines.state import Deferred
from clew.pipelines.stored import StoredOutput, load_output, manifest_digest
from clew.tracking.model import Run


def candidates(client: Client, experiment_id: str, key: str) -> list[Run]:
    """The finished step runs of ``experiment_id`` under cache key ``key``, newest first."""
    return list(
        client.search_runs(
            [experiment_id],
            f"tags.`{CACHE_KEY_TAG}` = '{key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=20,
        )
    )


@dataclass(frozen=True)
class StoredOutputs:
    """An earlier step run's outputs, checked to be there, not loaded: ``value`` holds
    ``Deferred`` ones (or references) in the shape the step returns, ``tags`` their output
    tags by name."""

    value: Any
    tags: dict[str, str]


def stored_outputs(
    client: Client,
    materializers: Materializers,
    task: g.TaskSpec,
    earlier_id: str,
    tags: Mapping[str, str],
    by_ref: bool,
) -> StoredOutputs | None:
    """Step run ``earlier_id``'s outputs, if each is still stored as its tag says (its
    files' manifest has the tagged digest) and its materializer is here and allowed: as
    ``Deferred`` values, loaded if a step that runs reads them, or (``by_ref``) as
    references that load where they are read."""
    values: dict[str, Any] = {}
    kept: dict[str, str] = {}
    for name in task.outputs:
        tag = tags.get(OUTPUT_TAG + name)
        if tag is None or ":" not in tag:
            return None
        materializer_name, digest_ = tag.split(":", 1)
        try:
            materializers.named(materializer_name)
            files = listed_files(client, earlier_id, f"outputs/{name}")
        except Exception:  # a refused pickle, a removed materializer, a deleted run
            return None
        if not files or manifest_digest(files) != digest_:
            return None  # missing or changed files: not a hit
        ref = StoredOutput(earlier_id, name, materializer_name, digest_)
        values[name] = (
            ref if by_ref else Deferred(functools.partial(load_output, client, materializers, ref))
        )
        kept[name] = tag
    return StoredOutputs(as_return(task, values), kept)


def listed_files(client: Client, run_id: str, directory: str) -> dict[str, str]:
    """``{path: digest}`` of every file below ``directory`` of run ``run_id``, each checked
    to be readable (its blob opens: ``NotFound`` if it is gone)."""
    files: dict[str, str] = {}
    for info in client.list_artifacts(run_id, directory):
        if info.is_dir:
            files.update(listed_files(client, run_id, info.path))
        elif info.digest:
            with client.open_artifact(run_id, info.path) as chunks:
                next(iter(chunks), b"")  # started, so closing it closes the blob
            files[info.path] = info.digest
    return files
