"""Input examples on disk in MLflow's shapes, and read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clew.models.examples import load_example, save_example
from tests.conftest import need


def _frame() -> Any:
    return need("pandas").DataFrame({"a": [1.0, None], "b": ["x", "y"]})


def _array() -> Any:
    return need("numpy").asarray([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    ("make", "example", "serving", "kind"),
    [
        pytest.param(
            _frame,
            {"columns": ["a", "b"], "data": [[1.0, "x"], [None, "y"]]},
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, "x"], [None, "y"]]}},
            "dataframe",
            id="dataframe-split-nan-as-null",
        ),
        pytest.param(
            _array,
            [[1.0, 2.0], [3.0, 4.0]],
            {"inputs": [[1.0, 2.0], [3.0, 4.0]]},
            "ndarray",
            id="ndarray",
        ),
        pytest.param(
            lambda: {"t": _array()},
            {"t": [[1.0, 2.0], [3.0, 4.0]]},
            {"inputs": {"t": [[1.0, 2.0], [3.0, 4.0]]}},
            "ndarray",
            id="dict-of-arrays",
        ),
        pytest.param(
            lambda: {"q": "hi"}, {"q": "hi"}, {"inputs": {"q": "hi"}}, "json_object", id="json"
        ),
    ],
)
def test_example_files(make: Any, example: Any, serving: Any, kind: str, tmp_path: Path) -> None:
    info = save_example(make(), tmp_path)
    assert info["type"] == kind
    assert json.loads((tmp_path / "input_example.json").read_text()) == example
    assert json.loads((tmp_path / "serving_input_example.json").read_text()) == serving


def test_dataframe_example_reads_back(tmp_path: Path) -> None:
    info = save_example(_frame(), tmp_path)
    back = load_example(tmp_path, info)
    assert list(back.columns) == ["a", "b"]
    assert back["b"].tolist() == ["x", "y"]
