"""The tags a pipeline run and its step runs carry: how the engine, a resume, the cache and the
job worker find them and tell what happened."""

from __future__ import annotations

from typing import Final

PIPELINE_TAG: Final = "clew.pipeline"
PIPELINE_RUN_TAG: Final = "clew.pipeline.run"
STEP_TAG: Final = "clew.pipeline.step"
STATE_TAG: Final = "clew.pipeline.state"
OUTPUT_TAG: Final = "clew.output."
CACHE_KEY_TAG: Final = "clew.pipeline.cache_key"
CACHED_FROM_TAG: Final = "clew.pipeline.cached_from"
RESUMED_FROM_TAG: Final = "clew.pipeline.resumed_from"
#: Why a step run or pipeline run failed, was skipped or canceled.
REASON_TAG: Final = "clew.pipeline.reason"


def state_tags(state: str, reason: str | None) -> dict[str, str]:
    """A run's state tag, and its reason if it has one."""
    tags = {STATE_TAG: state}
    if reason:
        tags[REASON_TAG] = reason[:4000]
    return tags
