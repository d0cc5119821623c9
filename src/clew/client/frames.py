"""Runs as a pandas DataFrame, in MLflow's ``search_runs`` column layout.

Kept apart from the client so that pandas is imported only when a frame is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clew.tracking.model import Run

if TYPE_CHECKING:
    import pandas as pd

BASE_COLUMNS = (
    "run_id",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
)


def runs_to_frame(runs: Sequence[Run], next_page_token: str | None = None) -> pd.DataFrame:
    """One row per run: info columns, then ``metrics.<key>``, ``params.<key>``, ``tags.<key>``.

    Times are timezone-aware UTC datetimes, as MLflow returns them. Metric columns hold each
    metric's latest value. The next page's token, if any, is in ``df.attrs["next_page_token"]``.
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    metric_keys: dict[str, None] = {}
    param_keys: dict[str, None] = {}
    tag_keys: dict[str, None] = {}
    for run in runs:
        info = run.info
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": str(info.status),
            "artifact_uri": info.artifact_uri,
            "start_time": info.start_time,
            "end_time": info.end_time,
        }
        for key, metric in run.data.metrics.items():
            row["metrics." + key] = metric.value
            metric_keys[key] = None
        for key, value in run.data.params.items():
            row["params." + key] = value
            param_keys[key] = None
        for key, value in run.data.tags.items():
            row["tags." + key] = value
            tag_keys[key] = None
        rows.append(row)
    columns = [
        *BASE_COLUMNS,
        *("metrics." + k for k in sorted(metric_keys)),
        *("params." + k for k in sorted(param_keys)),
        *("tags." + k for k in sorted(tag_keys)),
    ]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(df[col], unit="ms", utc=True)
    for key in metric_keys:
        df["metrics." + key] = df["metrics." + key].astype("float64")
    df.attrs["next_page_token"] = next_page_token
    return df
