"""Clew's tracking objects in MLflow's JSON shapes (``service.proto``), and MLflow's request
items read into Clew's, one function each.

The domain models already use MLflow's field names; what differs is the wire: tags and params
are ``[{key, value}]``, a run carries its id twice (``run_id`` and the legacy ``run_uuid``), and
artifact locations are the ``mlflow-artifacts:`` roots the proxy serves (``uris``), not Clew's
``clew-artifacts:`` URIs. An experiment created with its own location elsewhere keeps it.
Empty fields are dropped later by ``protocol.ok``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Final

from clew.core.errors import InvalidInput
from clew.server.mlflow_compat import uris
from clew.server.mlflow_compat.protocol import Fields, key_values
from clew.tracking.model import (
    Dataset,
    DatasetInput,
    DatasetSummary,
    Experiment,
    Metric,
    MetricHistory,
    Run,
    RunInfo,
    ViewType,
    encode_float,
)

#: Clew's own artifact scheme: locations in it are answered as ``mlflow-artifacts:`` roots.
CLEW_SCHEME: Final = "clew-artifacts:"
#: ``ViewType`` as MLflow's proto enum numbers (a client may send either spelling).
_VIEW_NUMBERS: Final = {1: ViewType.ACTIVE_ONLY, 2: ViewType.DELETED_ONLY, 3: ViewType.ALL}


def experiment(e: Experiment) -> dict[str, Any]:
    location = e.artifact_location
    if not location or location.startswith(CLEW_SCHEME):
        location = uris.experiment_root(e.experiment_id)
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": location,
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": e.last_update_time,
        "creation_time": e.creation_time,
        "tags": key_values(e.tags),
    }


def run_info(info: RunInfo) -> dict[str, Any]:
    """``parent_run_id`` is Clew's column; MLflow carries it as the ``mlflow.parentRunId`` tag,
    which the run has too."""
    return {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": uris.run_root(info.experiment_id, info.run_id),
        "lifecycle_stage": info.lifecycle_stage,
    }


def dataset_input(item: DatasetInput) -> dict[str, Any]:
    d = item.dataset
    return {
        "tags": key_values(item.tags),
        "dataset": {
            "name": d.name,
            "digest": d.digest,
            # Optional in the proto: unset rather than "" when the client sent none.
            "source_type": d.source_type or None,
            "source": d.source or None,
            "schema": d.schema or None,
            "profile": d.profile or None,
        },
    }


def run(r: Run) -> dict[str, Any]:
    return {
        "info": run_info(r.info),
        "data": {
            "metrics": [m.to_dict() for m in r.data.metrics.values()],
            "params": key_values(r.data.params),
            "tags": key_values(r.data.tags),
        },
        "inputs": {
            "dataset_inputs": [dataset_input(i) for i in r.inputs],
            "model_inputs": [m.to_dict() for m in r.model_inputs],
        },
        "outputs": {"model_outputs": [o.to_dict() for o in r.outputs]},
    }


def dataset_summary(s: DatasetSummary) -> dict[str, Any]:
    """An empty context is left out, as MLflow does."""
    return {"experiment_id": s.experiment_id, "name": s.name, "digest": s.digest,
            "context": s.context or None}  # fmt: skip


def history_points(history: MetricHistory, start: int, stop: int) -> list[dict[str, Any]]:
    """Points ``start:stop`` of a history as MLflow's metrics (NaN and ±Infinity as the
    strings proto JSON uses)."""
    key = history.key
    return [
        {
            "key": key,
            "value": value if math.isfinite(value) else encode_float(value),
            "timestamp": ts,
            "step": step,
        }
        for step, ts, value in zip(
            history.steps[start:stop],
            history.timestamps[start:stop],
            history.values[start:stop],
            strict=True,
        )
    ]


def view_type(value: Any, default: ViewType = ViewType.ACTIVE_ONLY) -> ViewType:
    """``run_view_type`` / ``view_type``: MLflow's enum by name or by number."""
    if value is None or value == "":
        return default
    if isinstance(value, int | str) and str(value).isdigit():
        found = _VIEW_NUMBERS.get(int(value))
        if found is not None:
            return found
    if isinstance(value, str):
        try:
            return ViewType(value.upper())
        except ValueError:
            pass
    raise InvalidInput(
        f"Invalid view type {value!r}; expected one of {[v.value for v in ViewType]}"
    )


def metric(item: Any) -> tuple[Metric, str | None, str | None, str | None]:
    """One ``Metric`` message of a request: the point, and the model and dataset it was
    computed for (``model_id``, ``dataset_name``, ``dataset_digest``; MLflow 3)."""
    if not isinstance(item, dict):
        raise InvalidInput("Every metric must be an object with key, value and timestamp")
    f = Fields(item)
    point = Metric(
        f.text("key", required=True),
        f.number("value", required=True),
        f.integer("timestamp", required=True),
        f.integer("step", default=0),
    )
    return point, f.text("model_id"), f.text("dataset_name"), f.text("dataset_digest")


def dataset_inputs(items: list[Any]) -> Iterator[DatasetInput]:
    """``datasets`` of ``log-inputs``: ``[{tags: [...], dataset: {name, digest, …}}]``."""
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
            raise InvalidInput("Every entry of 'datasets' needs a 'dataset' object")
        d = Fields(item["dataset"])
        yield DatasetInput(
            dataset=Dataset(
                name=d.text("name", required=True),
                digest=d.text("digest", required=True),
                source_type=d.text("source_type", default=""),
                source=d.text("source", default=""),
                schema=d.text("schema", default=""),
                profile=d.text("profile", default=""),
            ),
            tags=dict(Fields(item).pairs("tags")),
        )
