"""Pipelines: a Python DSL whose definitions are plain graphs (``graph``), traced by ``dsl``."""

from clew.pipelines.dsl import (
    Condition,
    Elif,
    Else,
    Finally,
    If,
    ParallelFor,
    Pipeline,
    Step,
    collect,
    pipeline,
    pipeline_status,
    step,
)
from clew.pipelines.graph import PipelineDefinitionError, PipelineSpec

__all__ = [
    "Condition",
    "Elif",
    "Else",
    "Finally",
    "If",
    "ParallelFor",
    "Pipeline",
    "PipelineDefinitionError",
    "PipelineSpec",
    "Step",
    "collect",
    "pipeline",
    "pipeline_status",
    "step",
]
