"""Input checks at predict time: the error names the column, safe casts pass."""

from __future__ import annotations

from typing import Any

import pytest

from clew.core.errors import InvalidInput
from clew.models.enforce import enforce_schema
from clew.models.signature import Schema
from tests.conftest import need

COLUMNS = Schema.from_json(
    '[{"type": "double", "name": "x", "required": true},'
    ' {"type": "long", "name": "n", "required": true},'
    ' {"type": "string", "name": "s", "required": false}]'
)
TENSOR = Schema.from_json(
    '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
)


def _frame(**cols: Any) -> Any:
    return need("pandas").DataFrame(cols)


def test_missing_required_column_is_named() -> None:
    with pytest.raises(InvalidInput, match="'n'") as err:
        enforce_schema(COLUMNS, _frame(x=[1.0]))
    assert err.value.details["column"] == "n"


def test_missing_optional_column_is_fine() -> None:
    out = enforce_schema(COLUMNS, _frame(x=[1.0], n=[1]))
    assert list(out.columns) == ["x", "n"]


def test_wrong_type_is_named() -> None:
    with pytest.raises(InvalidInput, match="'x'") as err:
        enforce_schema(COLUMNS, _frame(x=["a"], n=[1]))
    assert err.value.details == {"column": "x", "expected": "double", "got": "str"}


@pytest.mark.parametrize(
    ("column", "values", "dtype"),
    [
        pytest.param("x", [1.0], "float32", id="float32-to-double"),
        pytest.param("x", [1], "int32", id="int32-to-double"),
        pytest.param("n", [1], "int8", id="int8-to-long"),
        pytest.param("n", [1], "uint32", id="uint32-to-long"),
    ],
)
def test_safe_upcast_is_converted(column: str, values: list[Any], dtype: str) -> None:
    np = need("numpy")
    data = {"x": np.asarray([1.0]), "n": np.asarray([1])}
    data[column] = np.asarray(values, dtype=dtype)
    out = enforce_schema(COLUMNS, need("pandas").DataFrame(data))
    assert str(out[column].dtype) == ("float64" if column == "x" else "int64")


def test_lossy_int64_to_double_refused() -> None:
    with pytest.raises(InvalidInput, match="'x'"):
        enforce_schema(COLUMNS, _frame(x=[2**60], n=[1]))


def test_records_and_dict_inputs_become_frames() -> None:
    out = enforce_schema(COLUMNS, [{"x": 1.0, "n": 2}])
    assert out.to_dict("records") == [{"x": 1.0, "n": 2}]


def test_tensor_wrong_shape_refused() -> None:
    np = need("numpy")
    with pytest.raises(InvalidInput, match=r"\[2, 4\]") as err:
        enforce_schema(TENSOR, np.zeros((2, 4)))
    assert err.value.details["expected"] == [-1, 3]


def test_tensor_any_batch_size_accepted() -> None:
    np = need("numpy")
    assert enforce_schema(TENSOR, np.zeros((7, 3))).shape == (7, 3)


def test_tensor_unsafe_dtype_refused() -> None:
    np = need("numpy")
    with pytest.raises(InvalidInput, match="dtype"):
        enforce_schema(TENSOR, np.zeros((1, 3), dtype="complex128"))


def test_tensor_from_nested_lists() -> None:
    out = enforce_schema(TENSOR, [[1.0, 2.0, 3.0]])
    assert out.shape == (1, 3)


def test_tensor_int64_into_float64_refused_like_mlflow() -> None:
    with pytest.raises(InvalidInput, match="int64"):
        enforce_schema(TENSOR, [[1, 2, 3]])
