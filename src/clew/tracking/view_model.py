"""What the UI's run views read besides runs: the keys a search can name, and metric series
shrunk for a chart. Frozen domain models with the one ``to_dict``/``from_dict`` of each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from clew.tracking.model import decode_float, encode_float

XAxis = Literal["step", "time", "wall"]
X_AXES: tuple[XAxis, ...] = ("step", "time", "wall")


@dataclass(frozen=True, slots=True)
class RunKeys:
    """Distinct metric, param, tag and dataset names over some experiments' runs, each sorted
    and at most ``limit`` long; ``truncated`` says at least one list was cut."""

    metrics: tuple[str, ...]
    params: tuple[str, ...]
    tags: tuple[str, ...]
    datasets: tuple[str, ...]
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": list(self.metrics),
            "params": list(self.params),
            "tags": list(self.tags),
            "datasets": list(self.datasets),
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunKeys:
        return cls(
            metrics=tuple(d["metrics"]),
            params=tuple(d["params"]),
            tags=tuple(d["tags"]),
            datasets=tuple(d.get("datasets") or ()),
            truncated=bool(d["truncated"]),
        )


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One run's metric as chart points ``(x, value)``: x is the step, the milliseconds since
    the series' first point (``time``) or the timestamp (``wall``). ``total_points`` is how
    many the run logged; ``downsampled`` says ``points`` holds fewer."""

    run_id: str
    key: str
    points: tuple[tuple[int, float], ...]
    total_points: int
    downsampled: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "key": self.key,
            "points": [[x, encode_float(y)] for x, y in self.points],
            "total_points": self.total_points,
            "downsampled": self.downsampled,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricSeries:
        return cls(
            run_id=d["run_id"],
            key=d["key"],
            points=tuple((int(x), decode_float(y)) for x, y in d["points"]),
            total_points=int(d["total_points"]),
            downsampled=bool(d["downsampled"]),
        )
