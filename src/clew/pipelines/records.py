"""The records pipeline lineage exchanges between the engine, the client and the service.

Plain dataclasses in a module of their own, so the client can name them without importing the
service (and SQLAlchemy with it): ``import clew`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Inputs and outputs one ``record_step`` call takes; a fan-in over more is recorded in parts.
MAX_EDGES = 1000


@dataclass(frozen=True)
class StepOutput:
    name: str
    digest: str
    materializer: str


@dataclass(frozen=True)
class StepInput:
    """An input that came from another step run's output."""

    name: str
    producer_run_id: str
    output: str


@dataclass(frozen=True)
class PipelineRunInfo:
    pipeline: str
    run_id: str
    state: str
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
