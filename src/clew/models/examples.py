"""Input examples on disk in MLflow's two shapes.

``input_example.json`` holds the example itself (a DataFrame as ``{"columns", "data"}``, an array
as nested lists) and ``serving_input_example.json`` the body a scoring server accepts
(``{"dataframe_split": ...}`` or ``{"inputs": ...}``), so ``clew``/``mlflow models serve`` can be
smoke-tested with the file as is. ``saved_input_example_info`` in MLmodel says which shape it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from clew.core.errors import InvalidInput, InvalidModel

EXAMPLE_FILE = "input_example.json"
SERVING_FILE = "serving_input_example.json"


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes | bytearray):
        return base64.encodebytes(obj).decode("ascii")
    if isinstance(obj, dt.date | dt.datetime | dt.time):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _nan_to_none(values: Any) -> Any:
    if isinstance(values, list):
        return [_nan_to_none(v) for v in values]
    if isinstance(values, float) and values != values:
        return None
    return values


def save_example(example: Any, directory: Path) -> dict[str, str]:
    """Write both example files and return ``saved_input_example_info``."""
    import numpy as np

    info = {"artifact_path": EXAMPLE_FILE}
    serving: Any
    if _is_dataframe(example):
        split = example.to_dict(orient="split")
        body: Any = {"data": _nan_to_none(split["data"])}
        if list(example.columns) != list(range(len(example.columns))):
            body = {"columns": [str(c) for c in split["columns"]], **body}
        info |= {"type": "dataframe", "pandas_orient": "split" if "columns" in body else "values"}
        serving = {"dataframe_split": body}
    elif isinstance(example, np.ndarray):
        body = _nan_to_none(example.tolist())
        info["type"] = "ndarray"
        serving = {"inputs": body}
    elif isinstance(example, dict) and any(isinstance(v, np.ndarray) for v in example.values()):
        if not all(isinstance(v, np.ndarray) for v in example.values()):
            raise InvalidInput("An input example dict mixes numpy arrays and other values")
        body = {k: _nan_to_none(v.tolist()) for k, v in example.items()}
        info["type"] = "ndarray"
        serving = {"inputs": body}
    elif isinstance(example, dict | list | str | int | float | bool):
        body = example
        info["type"] = "json_object"
        serving = {"inputs": body}
    else:
        raise InvalidInput(f"Unsupported input example type {type(example).__name__}")
    (directory / EXAMPLE_FILE).write_text(json.dumps(body, default=_default))
    (directory / SERVING_FILE).write_text(json.dumps(serving, default=_default, indent=2))
    info["serving_input_path"] = SERVING_FILE
    return info


def load_example(directory: Path, info: dict[str, Any]) -> Any:
    """Read an example back into the object kind it was saved from (DataFrame, array, JSON)."""
    path = directory / str(info.get("artifact_path", EXAMPLE_FILE))
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidModel(f"Cannot read input example {path.name}: {exc}") from exc
    kind = info.get("type")
    if kind == "dataframe":
        import pandas as pd

        return pd.DataFrame(body["data"], columns=body.get("columns"))
    if kind == "ndarray":
        import numpy as np

        if isinstance(body, dict):
            return {k: np.asarray(v) for k, v in body.items()}
        return np.asarray(body)
    return body


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and type(obj).__module__.startswith("pandas")
