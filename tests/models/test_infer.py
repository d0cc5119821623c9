"""Signature inference per input kind, in MLflow's type names and JSON shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clew.core.errors import InvalidInput
from clew.models import infer_signature
from clew.models.infer import infer_schema
from tests.conftest import need


def _frame(data: dict[str, Any]) -> Any:
    return need("pandas").DataFrame(data)


def _array(data: Any, dtype: str) -> Any:
    return need("numpy").asarray(data, dtype=dtype)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(
            lambda: _frame({"x": [1.5, 2.5], "n": [1, 2], "s": ["a", "b"], "f": [True, False]}),
            [
                {"type": "double", "name": "x", "required": True},
                {"type": "long", "name": "n", "required": True},
                {"type": "string", "name": "s", "required": True},
                {"type": "boolean", "name": "f", "required": True},
            ],
            id="dataframe-columns",
        ),
        pytest.param(
            lambda: _frame({"i": _array([1, 2], "int32"), "g": _array([1, 2], "float32")}),
            [
                {"type": "integer", "name": "i", "required": True},
                {"type": "float", "name": "g", "required": True},
            ],
            id="dataframe-narrow-dtypes",
        ),
        pytest.param(
            lambda: _frame({"x": [1.0, None]}),
            [{"type": "double", "name": "x", "required": False}],
            id="dataframe-missing-value-optional",
        ),
        pytest.param(
            lambda: _frame({"t": need("pandas").to_datetime(["2024-01-01", "2024-01-02"])}),
            [{"type": "datetime", "name": "t", "required": True}],
            id="dataframe-datetime",
        ),
        pytest.param(
            lambda: _frame({"b": [b"\x00", b"\x01"]}),
            [{"type": "binary", "name": "b", "required": True}],
            id="dataframe-binary",
        ),
        pytest.param(
            lambda: _array([[1.0, 2.0, 3.0]], "float64"),
            [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}],
            id="ndarray-batch-axis-variable",
        ),
        pytest.param(
            lambda: _array([[[1, 2]], [[3, 4]]], "int32"),
            [{"type": "tensor", "tensor-spec": {"dtype": "int32", "shape": [-1, 1, 2]}}],
            id="ndarray-3d-int32",
        ),
        pytest.param(
            lambda: {"img": _array([[1, 2]], "uint8"), "mask": _array([1], "bool")},
            [
                {
                    "name": "img",
                    "type": "tensor",
                    "tensor-spec": {"dtype": "uint8", "shape": [-1, 2]},
                },
                {"name": "mask", "type": "tensor", "tensor-spec": {"dtype": "bool", "shape": [-1]}},
            ],
            id="dict-of-arrays-named-tensors",
        ),
        pytest.param(
            lambda: {"q": "hello", "k": 3},
            [
                {"type": "string", "name": "q", "required": True},
                {"type": "long", "name": "k", "required": True},
            ],
            id="dict-of-scalars-columns",
        ),
        pytest.param(
            lambda: {"ids": [1, 2]},
            [{"type": "array", "items": {"type": "long"}, "name": "ids", "required": True}],
            id="dict-list-value-is-array",
        ),
        pytest.param(
            lambda: [{"a": 1.0, "b": "x"}, {"a": 2.0, "b": None}],
            [
                {"type": "double", "name": "a", "required": True},
                {"type": "string", "name": "b", "required": False},
            ],
            id="list-of-records",
        ),
        pytest.param(
            lambda: ["one", "two"],
            [{"type": "string", "required": True}],
            id="list-of-scalars-one-column",
        ),
        pytest.param(lambda: 2.5, [{"type": "double", "required": True}], id="scalar"),
    ],
)
def test_infer_schema_by_input_kind(make: Any, expected: list[dict[str, Any]]) -> None:
    assert json.loads(infer_schema(make()).to_json()) == expected


def test_output_schema_from_output() -> None:
    np = need("numpy")
    sig = infer_signature(np.zeros((2, 3)), np.zeros(2, dtype="int64"))
    assert sig.to_dict() == {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]',
        "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
        "params": None,
    }


def test_mixed_column_types_refused_naming_column() -> None:
    with pytest.raises(InvalidInput, match="'c'"):
        infer_schema([{"c": 1}, {"c": "x"}])


def test_unsupported_value_refused() -> None:
    with pytest.raises(InvalidInput):
        infer_schema(object())
