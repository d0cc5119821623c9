"""Signature (de)serialization: MLflow's JSON strings, read back to the same objects."""

from __future__ import annotations

import pytest

from clew.core.errors import InvalidModel
from clew.models import ColSpec, ModelSignature, Schema, TensorSpec

# Strings exactly as mlflow 3.17.2 writes them (reference/mlflow.md §3.1).
MLFLOW_INPUTS = '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
MLFLOW_COLUMNS = '[{"type": "double", "name": "x", "required": true}]'


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(MLFLOW_INPUTS, id="tensor"),
        pytest.param(MLFLOW_COLUMNS, id="columns"),
        pytest.param(
            '[{"type": "array", "items": {"type": "string"}, "name": "tags", "required": false}]',
            id="nested-array-kept-raw",
        ),
    ],
)
def test_schema_json_round_trips_byte_identical(text: str) -> None:
    assert Schema.from_json(text).to_json() == text


def test_signature_dict_shape_matches_mlflow() -> None:
    sig = ModelSignature(Schema((ColSpec("double", "x"),)), Schema((TensorSpec("int64", (-1,)),)))
    assert sig.to_dict() == {
        "inputs": MLFLOW_COLUMNS,
        "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
        "params": None,
    }
    assert ModelSignature.from_dict(sig.to_dict()) == sig


def test_params_schema_kept_verbatim() -> None:
    params = '[{"name": "temperature", "type": "double", "default": 0.5, "shape": null}]'
    sig = ModelSignature.from_dict({"inputs": MLFLOW_COLUMNS, "outputs": None, "params": params})
    assert sig.to_dict()["params"] == params


def test_mixed_schema_refused() -> None:
    with pytest.raises(InvalidModel):
        Schema((ColSpec("double", "x"), TensorSpec("float64", (-1,))))
