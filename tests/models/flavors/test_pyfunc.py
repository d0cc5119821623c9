"""The python_function flavor: a plain class, with or without context, artifacts, MLflow shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clew.models import PythonModelContext, load_model, load_native, save_model
from clew.models.flavors.pyfunc import PythonModelPredictor


class AddOne:
    def predict(self, model_input: Any) -> Any:
        return [x + 1 for x in model_input]


class WithContext:
    def load_context(self, context: Any) -> None:
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context: Any, model_input: Any) -> Any:
        return [x + self.offset for x in model_input]


def test_plain_class_round_trip(tmp_path: Path) -> None:
    save_model(AddOne(), tmp_path / "m")
    model = load_model(tmp_path / "m")
    assert model.predict([1, 2]) == [2, 3]
    assert isinstance(model.unwrap_python_model(), AddOne)


def test_mlflow_loader_module_and_keys(tmp_path: Path) -> None:
    info = save_model(AddOne(), tmp_path / "m")
    block = info.flavors["python_function"]
    assert list(info.flavors) == ["python_function"]
    assert block["loader_module"] == "mlflow.pyfunc.model"
    assert block["python_model"] == "python_model.pkl"
    assert "cloudpickle_version" in block


def test_artifacts_and_context(tmp_path: Path) -> None:
    (tmp_path / "offset.txt").write_text("10")
    info = save_model(
        WithContext(), tmp_path / "m", artifacts={"offset": str(tmp_path / "offset.txt")}
    )
    assert info.flavors["python_function"]["artifacts"]["offset"]["path"] == "artifacts/offset"
    (tmp_path / "offset.txt").write_text("99")  # the model keeps its own copy
    assert load_model(tmp_path / "m").predict([1.0]) == [11.0]


def test_native_is_the_user_object(tmp_path: Path) -> None:
    save_model(AddOne(), tmp_path / "m", flavor="pyfunc")
    assert isinstance(load_native(tmp_path / "m"), AddOne)


class InputOnly:
    def predict(self, model_input: Any) -> Any:
        return "no context"


class ContextFirst:
    def predict(self, context: Any, model_input: Any) -> Any:
        return "context"


class TwoPositional:
    def predict(self, ctx: Any, data: Any, params: Any = None) -> Any:
        return "context"


class ParamsOnly:
    def predict(self, model_input: Any, params: Any = None) -> Any:
        return "no context"


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        pytest.param(InputOnly, "no context", id="input-only"),
        pytest.param(ContextFirst, "context", id="context-first"),
        pytest.param(TwoPositional, "context", id="two-positional-is-context"),
        pytest.param(ParamsOnly, "no context", id="params-does-not-count"),
    ],
)
def test_context_detection_follows_mlflow(cls: type, expected: str) -> None:
    assert PythonModelPredictor(cls(), PythonModelContext()).predict([1]) == expected
