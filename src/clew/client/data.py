"""Describe in-memory data as a :class:`~clew.tracking.model.Dataset` for ``log_input``.

A dataset is a node in the metadata graph keyed by ``(name, digest)``: logging the same frame
from two runs links both runs to one node, which is what makes "which runs read this data"
answerable. So the digest must depend on the content only, and be the same across processes
and machines (no ``hash()``, no object ids). The schema and source use MLflow's shapes
(``{"mlflow_colspec": [...]}``, ``{"uri": ...}``) so MLflow's UI and clients read them.

pandas and numpy are imported only when these functions are called.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clew.tracking.model import Dataset

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Hex characters kept of the sha256: 64 bits, plenty to tell versions of one data set apart.
DIGEST_CHARS = 16


def from_pandas(
    df: pd.DataFrame,
    source: str | None = None,
    name: str | None = None,
    targets: str | Sequence[str] | None = None,
    digest: str | None = None,
) -> Dataset:
    """A dataset describing ``df``: content digest, column schema and a small profile.

    Args:
        df: the frame the run read.
        source: where it came from (a path or URI); recorded, never read.
        name: defaults to ``"dataset"``, as in MLflow.
        targets: the label column(s); recorded in the profile.
        digest: override the computed digest (e.g. a version id you already have).

    Example:
        >>> import pandas as pd
        >>> ds = from_pandas(pd.DataFrame({"x": [1, 2]}), source="s3://bucket/train.parquet")
        >>> ds.name, len(ds.digest), json.loads(ds.profile)["num_rows"]
        ('dataset', 16, 2)
    """
    import pandas as pd

    columns = [str(c) for c in df.columns]
    dtypes = [str(t) for t in df.dtypes]
    h = hashlib.sha256()
    h.update(json.dumps({"columns": columns, "dtypes": dtypes, "shape": list(df.shape)}).encode())
    try:
        row_hashes = pd.util.hash_pandas_object(df, index=True)
    except TypeError:  # unhashable cells (lists, dicts): hash their text instead
        row_hashes = pd.util.hash_pandas_object(df.astype(str), index=True)
    h.update(row_hashes.to_numpy().tobytes())
    colspec = [
        {"type": _mlflow_type(str(dtype)), "name": col, "required": not bool(df[col].isna().any())}
        for col, dtype in zip(df.columns, dtypes, strict=True)
    ]
    profile: dict[str, Any] = {"num_rows": len(df), "num_elements": int(df.size)}
    if targets is not None:
        profile["targets"] = [targets] if isinstance(targets, str) else list(targets)
    return _dataset(
        name,
        digest or h.hexdigest()[:DIGEST_CHARS],
        source,
        "pandas",
        {"mlflow_colspec": colspec},
        profile,
    )


def from_numpy(
    features: np.ndarray,
    source: str | None = None,
    targets: np.ndarray | None = None,
    name: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A dataset describing a feature array (and optionally a target array).

    Example:
        >>> import numpy as np
        >>> ds = from_numpy(np.zeros((3, 2)), targets=np.ones(3))
        >>> json.loads(ds.profile)["num_rows"], json.loads(ds.profile)["num_elements"]
        (3, 6)
    """
    import numpy as np

    h = hashlib.sha256()
    schema: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    arrays = {"features": np.asarray(features)}
    if targets is not None:
        arrays["targets"] = np.asarray(targets)
    for role, arr in arrays.items():
        h.update(json.dumps({"role": role, "dtype": str(arr.dtype), "shape": arr.shape}).encode())
        if arr.dtype.hasobject:  # object arrays hold pointers: hash the values' text instead
            h.update(repr(arr.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
        shape = [-1, *arr.shape[1:]]
        schema[role] = json.dumps(
            {"type": "tensor", "tensor-spec": {"dtype": str(arr.dtype), "shape": shape}}
        )
        profile[f"{role}_shape"] = list(arr.shape)
        profile[f"{role}_size"] = int(arr.size)
        profile[f"{role}_nbytes"] = int(arr.nbytes)
    feats = arrays["features"]
    profile["num_rows"] = int(feats.shape[0]) if feats.ndim else 1
    profile["num_elements"] = int(feats.size)
    return _dataset(
        name,
        digest or h.hexdigest()[:DIGEST_CHARS],
        source,
        "numpy",
        {"mlflow_tensorspec": schema},
        profile,
    )


def _dataset(
    name: str | None,
    digest: str,
    source: str | None,
    kind: str,
    schema: dict[str, Any],
    profile: dict[str, Any],
) -> Dataset:
    source_type, source_json = _source(source)
    profile = {"kind": kind, **profile}
    return Dataset(
        name=name or "dataset",
        digest=digest,
        source_type=source_type,
        source=source_json,
        schema=json.dumps(schema),
        profile=json.dumps(profile),
    )


def _source(source: str | None) -> tuple[str, str]:
    """MLflow's source shape: a type (``s3``, ``http``, ``local``, ``code``) and ``{"uri": …}``."""
    if not source:
        return "code", json.dumps({})
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme in ("", "file"):
        return "local", json.dumps({"uri": source})
    if scheme == "https":
        scheme = "http"
    return scheme, json.dumps({"uri": source})


def _mlflow_type(dtype: str) -> str:
    """pandas dtype → MLflow's column type names (what its UI shows and its schemas expect)."""
    d = dtype.lower()
    if d in ("bool", "boolean"):
        return "boolean"
    if d.startswith(("int", "uint")):
        return "long" if d.endswith("64") or d in ("int", "uint") else "integer"
    if d.startswith("float"):
        return "double" if d.endswith("64") else "float"
    if d.startswith("datetime"):
        return "datetime"
    if d in ("string", "str") or d.startswith("string"):
        return "string"
    if d == "bytes":
        return "binary"
    return "string" if d == "object" else d
