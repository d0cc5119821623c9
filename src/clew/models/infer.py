"""Infer a signature from example data, with MLflow's rules so both tools agree on the result.

- pandas DataFrame -> one column spec per column (MLflow type names), ``required`` false when
  the example has a missing value;
- numpy array -> one tensor spec, dtype kept, first axis made variable (``-1``);
- dict of numpy arrays -> named tensor specs; dict of scalars/lists -> named columns;
- list of dicts -> columns; list of scalars -> one unnamed column; a scalar -> one column.

numpy and pandas are imported here, lazily, only when a signature is inferred.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clew.core.errors import InvalidInput
from clew.models.signature import ColSpec, ModelSignature, Schema, TensorSpec


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """The signature of a model that takes ``model_input`` and returns ``model_output``.

    Example:
        >>> import numpy as np
        >>> infer_signature(np.zeros((2, 3))).inputs.to_json()
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
    """
    outputs = infer_schema(model_output) if model_output is not None else None
    return ModelSignature(infer_schema(model_input), outputs)


def infer_schema(data: Any) -> Schema:
    """The schema of one piece of example data; raises ``InvalidInput`` for unsupported kinds."""
    import numpy as np

    pd = _pandas()
    if pd is not None and isinstance(data, pd.DataFrame):
        return Schema(
            tuple(
                ColSpec(_series_type(data[c]), str(c), _required(data[c].tolist()))
                for c in data.columns
            )
        )
    if pd is not None and isinstance(data, pd.Series):
        name = None if data.name is None else str(data.name)
        return Schema((ColSpec(_series_type(data), name, _required(data.tolist())),))
    if isinstance(data, np.ndarray):
        return Schema((_tensor(data),))
    if isinstance(data, dict):
        if any(not isinstance(k, str) for k in data):
            raise InvalidInput("Dictionary input keys must all be strings")
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(tuple(_tensor(v, k) for k, v in data.items()))
        return Schema(
            tuple(ColSpec(_dict_value_type(k, v), k, _required(v)) for k, v in data.items())
        )
    if isinstance(data, list):
        if not data:
            return Schema((ColSpec("string"),))
        if all(isinstance(row, dict) for row in data):
            columns: dict[str, list[Any]] = {}
            for row in data:
                for key, value in row.items():
                    columns.setdefault(str(key), []).append(value)
            return Schema(
                tuple(
                    ColSpec(
                        _values_type(vals, key),
                        key,
                        all(row.get(key) is not None for row in data),
                    )
                    for key, vals in columns.items()
                )
            )
        return Schema((ColSpec(_values_type(data, None)),))
    return Schema((ColSpec(_values_type([data], None)),))


def _dict_value_type(name: str, value: Any) -> str | dict[str, Any]:
    """A dict value that is a list is one array-typed cell (MLflow's rule), a scalar its type."""
    if isinstance(value, list):
        return {"type": "array", "items": {"type": _values_type(value, name)}}
    return _values_type([value], name)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is in every supported install with sklearn
        return None
    return pandas


def _tensor(array: Any, name: str | None = None) -> TensorSpec:
    import numpy as np

    dtype = array.dtype
    if dtype.char == "U":
        dtype = np.dtype("str")
    elif dtype.char == "S":
        dtype = np.dtype("bytes")
    shape = list(array.shape)
    if shape:
        shape[0] = -1
    return TensorSpec(dtype.name, tuple(shape), name)


def numpy_type_name(dtype: Any) -> str:
    """MLflow's column type for a numpy/pandas dtype (its ``_infer_numpy_dtype`` table)."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return "boolean"
    if kind in "iu":
        if size < 4 or (kind == "i" and size == 4):
            return "integer"
        if size < 8 or (kind == "i" and size == 8):
            return "long"
    elif kind == "f":
        if size <= 4:
            return "float"
        if size <= 8:
            return "double"
    elif kind == "U":
        return "string"
    elif kind == "S":
        return "binary"
    elif kind == "M":
        return "datetime"
    raise InvalidInput(f"Unsupported data type {dtype} for a model signature")


def _series_type(series: Any) -> str:
    pd = _pandas()
    if series.dtype.kind == "O":
        series = series.infer_objects()
    if series.dtype.kind == "O" or isinstance(series.dtype, pd.StringDtype):
        return _values_type(series.tolist(), str(series.name))
    return numpy_type_name(series.dtype)


def _values_type(values: list[Any], name: str | None) -> str:
    """The one scalar type all non-missing Python values share (bool before int: bool is int)."""
    seen: set[str] = set()
    for value in values:
        if _missing(value):
            continue
        seen.add(_scalar_type(value, name))
    if not seen:
        raise InvalidInput(f"Cannot infer a type for column {name!r}: every value is missing")
    if seen == {"long", "double"}:
        return "double"
    if len(seen) > 1:
        raise InvalidInput(f"Column {name!r} mixes types {sorted(seen)}", column=name)
    return seen.pop()


def _scalar_type(value: Any, name: str | None) -> str:
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, np.generic):
        return numpy_type_name(value.dtype)
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes | bytearray):
        return "binary"
    if isinstance(value, dt.datetime | dt.date):
        return "datetime"
    raise InvalidInput(
        f"Cannot infer a signature type for {type(value).__name__} in column {name!r}",
        column=name,
    )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # NaN
    pd = _pandas()
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _required(values: Any) -> bool:
    if isinstance(values, list):
        return not any(_missing(v) for v in values)
    return not _missing(values)
