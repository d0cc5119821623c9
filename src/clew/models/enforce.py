"""Check prediction input against a model's input schema before the model sees it.

A model trained on doubles fed strings fails deep inside numpy with a message naming nothing;
checking at the boundary turns that into an ``InvalidInput`` that names the column, which the
scoring server returns as a 400. Conversions follow MLflow's safe-cast rules (int -> long,
float -> double, small int -> double, object -> string/datetime) and nothing lossy:
int64 -> double is refused, as in MLflow, because it can round.
"""

from __future__ import annotations

from typing import Any

from clew.core.errors import InvalidInput
from clew.models.signature import ColSpec, Schema, TensorSpec

_NUMPY = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "datetime": "datetime64[ns]",
}


def enforce_schema(schema: Schema, data: Any) -> Any:
    """Return ``data`` converted to what ``schema`` declares, or raise ``InvalidInput``."""
    if not schema.specs:
        return data
    if schema.is_tensor:
        return _enforce_tensors(schema, data)
    return _enforce_columns(schema, data)


def _as_frame(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        if all(not isinstance(v, list | np.ndarray) for v in data.values()):
            return pd.DataFrame([data])
        return pd.DataFrame(data)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    if isinstance(data, np.ndarray | list):
        array = np.asarray(data)
        if array.ndim == 1:
            array = array.reshape(-1, 1) if len(schema.specs) == 1 else array.reshape(1, -1)
        names = schema.names if schema.has_names else None
        if array.ndim != 2 or array.shape[1] != len(schema.specs):
            raise InvalidInput(
                f"Model input has shape {array.shape}; the signature has "
                f"{len(schema.specs)} columns"
            )
        return pd.DataFrame(array, columns=names)
    raise InvalidInput(f"Model input of type {type(data).__name__} does not fit a column schema")


def _enforce_columns(schema: Schema, data: Any) -> Any:
    import pandas as pd

    frame = _as_frame(data, schema)
    specs = [s for s in schema.specs if isinstance(s, ColSpec)]
    if not schema.has_names:
        if frame.shape[1] != len(specs):
            raise InvalidInput(
                f"Model input has {frame.shape[1]} columns; the signature has {len(specs)}"
            )
        out = {c: _column(specs[i], frame[c], str(c)) for i, c in enumerate(frame.columns)}
        return pd.DataFrame(out, index=frame.index)
    out = {}
    for spec in specs:
        assert spec.name is not None
        if spec.name not in frame.columns:
            if spec.required:
                raise InvalidInput(
                    f"Model input is missing required column {spec.name!r}", column=spec.name
                )
            continue
        out[spec.name] = _column(spec, frame[spec.name], spec.name)
    return pd.DataFrame(out, index=frame.index)


def _column(spec: ColSpec, values: Any, name: str) -> Any:
    import numpy as np
    import pandas as pd

    if not isinstance(spec.type, str):
        return values  # nested types (array/object/map) are passed through unchecked
    kind = spec.type
    if values.dtype == object and kind not in ("string", "binary"):
        values = values.infer_objects()
    if kind == "string":
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            return values
        return _refuse(name, values.dtype, kind)
    if kind == "binary":
        if values.dtype.kind == "S" or (
            values.dtype == object and all(isinstance(v, bytes) for v in values)
        ):
            return values
        return _refuse(name, values.dtype, kind)
    if kind == "datetime":
        if values.dtype.kind == "M" or values.dtype == object:
            try:
                return values.astype("datetime64[ns]")
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"Column {name!r} cannot be read as datetime: {exc}", column=name
                ) from exc
        return _refuse(name, values.dtype, kind)
    target = np.dtype(_NUMPY[kind])
    if values.dtype == target:
        return values
    if _safe_cast(values.dtype, target):
        return values.astype(target)
    return _refuse(name, values.dtype, kind)


def _safe_cast(source: Any, target: Any) -> bool:
    """MLflow's upcast table: same kind growing, unsigned into wider signed, small int to float."""
    if not hasattr(source, "kind") or source.kind not in "biuf":
        return False
    if source.kind == target.kind:
        return bool(source.itemsize <= target.itemsize)
    if source.kind == "u" and target.kind == "i":
        return bool(source.itemsize < target.itemsize)
    if source.kind in "iu" and target.kind == "f":
        return bool(source.itemsize <= (4 if target.itemsize == 8 else 2))
    return False


def _refuse(name: str, dtype: Any, kind: str) -> Any:
    raise InvalidInput(
        f"Column {name!r} has type {dtype}, which cannot be safely converted to {kind}",
        column=name,
        expected=kind,
        got=str(dtype),
    )


def _enforce_tensors(schema: Schema, data: Any) -> Any:
    import numpy as np
    import pandas as pd

    specs = [s for s in schema.specs if isinstance(s, TensorSpec)]
    if (schema.has_names and len(specs) > 1) or isinstance(data, dict):
        if not isinstance(data, dict):
            raise InvalidInput("This model takes a dict of named tensors")
        out = {}
        for spec in specs:
            name = spec.name or "input"
            if name not in data:
                raise InvalidInput(f"Model input is missing tensor {name!r}", column=name)
            out[name] = _tensor(spec, np.asarray(data[name]), name)
        return out
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy()
    return _tensor(specs[0], np.asarray(data), specs[0].name or "input")


def _tensor(spec: TensorSpec, array: Any, name: str) -> Any:
    import numpy as np

    shape = spec.shape
    if array.ndim != len(shape) or any(
        want != -1 and want != got for want, got in zip(shape, array.shape, strict=True)
    ):
        raise InvalidInput(
            f"Tensor {name!r} has shape {list(array.shape)}; the signature expects {list(shape)}",
            column=name,
            expected=list(shape),
            got=list(array.shape),
        )
    target = np.dtype(spec.dtype)
    if array.dtype == target:
        return array
    if array.dtype.kind in "biuf" and target.kind in "biuf" and _safe_cast(array.dtype, target):
        return array.astype(target)
    if array.dtype.kind == target.kind and target.kind in "US":
        return array
    raise InvalidInput(
        f"Tensor {name!r} has dtype {array.dtype}, which cannot be safely converted "
        f"to {spec.dtype}",
        column=name,
        expected=spec.dtype,
        got=str(array.dtype),
    )
