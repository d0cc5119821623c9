"""Finding a cache hit: earlier step runs under the same key, and their outputs checked to be
still stored (each file's blob there, the manifest matching the tagged digest) without loading
them (``Deferred``, or references for a by-reference executor).

One narrow read per candidate (``Client.find_cached_step``, or ``find_cached_steps`` for a
fan-out's first candidates together) brings the step run's tags, params
and output files with their blobs checked; a general run search and a file listing and blob
opening per file cost about twice that a hit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from clew.client.client import Client
from clew.pipelines import graph as g
from clew.pipelines.hooks import as_return
from clew.pipelines.materializers import Materializers
from clew.pipelines.records import CachedStep
from clew.pipelines.run_tags import OUTPUT_TAG
from clew.pipelines.state import Deferred
from clew.pipelines.stored import StoredOutput, load_output, manifest_digest

#: Earlier step runs under a key a cache lookup tries, newest first, before it gives up.
MAX_CANDIDATES: Final = 20


@dataclass(frozen=True)
class StoredOutputs:
    """An earlier step run's outputs, checked to be there, not loaded: ``value`` holds
    ``Deferred`` ones (or references) in the shape the step returns, ``tags`` their output
    tags by name."""

    value: Any
    tags: dict[str, str]


def find_hit(
    client: Client,
    materializers: Materializers,
    task: g.TaskSpec,
    experiment_id: str,
    key: str,
    *,
    run_id: str | None,
    expiry_s: float | None,
    now_s: float,
    by_ref: bool,
    passed: Sequence[str] = (),
) -> tuple[CachedStep, StoredOutputs] | None:
    """The newest finished step run of ``experiment_id`` under ``key`` (not ``run_id``, the
    step run asking, nor one ``passed`` over already; started within ``expiry_s`` of
    ``now_s`` if it expires) whose outputs are all still stored, with them; one read per
    step run tried. ``run_id`` is None when the asking step run has no tracked run yet (a
    hit makes it whole)."""
    since = since_ms(expiry_s, now_s)
    passed = [*passed] if run_id is None else [*passed, run_id]
    for _ in range(MAX_CANDIDATES):
        found = client.find_cached_step(experiment_id, key, started_since=since, exclude=passed)
        if found is None:
            return None
        outputs = stored_outputs(materializers, task, found, client, by_ref)
        if outputs is not None:
            return found, outputs
        passed.append(found.run_id)  # its files are gone: not a hit (KFP does not check, #7939)
    return None


def since_ms(expiry_s: float | None, now_s: float) -> int | None:
    """The earliest start (UTC ms) of a step run that a lookup at ``now_s`` may find."""
    return None if expiry_s is None else math.ceil((now_s - expiry_s) * 1000)


def stored_outputs(
    materializers: Materializers,
    task: g.TaskSpec,
    found: CachedStep,
    client: Client,
    by_ref: bool,
) -> StoredOutputs | None:
    """Step run ``found``'s outputs, if each is still stored as its tag says (its files'
    manifest has the tagged digest, every blob is there) and its materializer is here and
    allowed: as ``Deferred`` values, loaded if a step that runs reads them, or (``by_ref``)
    as references that load where they are read."""
    values: dict[str, Any] = {}
    kept: dict[str, str] = {}
    for name in task.outputs:
        tag = found.tags.get(OUTPUT_TAG + name)
        if tag is None or ":" not in tag:
            return None
        materializer_name, digest_ = tag.split(":", 1)
        try:
            materializers.named(materializer_name)
        except Exception:  # a refused pickle, a removed materializer
            return None
        files = found.files.get(name)
        if not files or name in found.missing or manifest_digest(files) != digest_:
            return None  # missing or changed files: not a hit
        ref = StoredOutput(found.files_run_id, name, materializer_name, digest_)
        values[name] = (
            ref if by_ref else Deferred(functools.partial(load_output, client, materializers, ref))
        )
        kept[name] = tag
    return StoredOutputs(as_return(task, values), kept)
