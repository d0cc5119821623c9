"""Pipelines: a Python DSL traced into plain graphs (``dsl`` → ``graph``), run by ``engine``."""

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
from clew.pipelines.engine import Engine
from clew.pipelines.graph import PipelineDefinitionError, PipelineSpec
from clew.pipelines.launch import run
from clew.pipelines.state import PipelineRunResult, PipelineState, StepRun, StepState

__all__ = [
    "Condition",
    "Elif",
    "Else",
    "Engine",
    "Finally",
    "If",
    "ParallelFor",
    "Pipeline",
    "PipelineDefinitionError",
    "PipelineRunResult",
    "PipelineSpec",
    "PipelineState",
    "Step",
    "StepRun",
    "StepState",
    "collect",
    "pipeline",
    "pipeline_status",
    "run",
    "step",
]
