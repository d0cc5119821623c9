"""The lightgbm flavor: Booster as text (no pickle), sklearn-API models through skops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clew.models import load_model, load_native, save_model
from tests.conftest import need


def _booster(matrix: Any) -> Any:
    lgb = need("lightgbm")
    params = {"objective": "regression", "verbose": -1, "min_data_in_leaf": 2}
    return lgb.train(params, lgb.Dataset(matrix, label=matrix[:, 0]), num_boost_round=4)


def test_booster_is_saved_as_text(matrix: Any, tmp_path: Path) -> None:
    info = save_model(_booster(matrix), tmp_path / "m")
    assert info.flavors["lightgbm"]["model_class"] == "lightgbm.basic.Booster"
    assert info.flavors["python_function"]["loader_module"] == "mlflow.lightgbm"
    assert (tmp_path / "m" / "model.lgb").read_text().startswith("tree")


def test_booster_round_trip(matrix: Any, tmp_path: Path) -> None:
    booster = _booster(matrix)
    save_model(booster, tmp_path / "m", input_example=matrix[:2])
    assert load_model(tmp_path / "m").predict(matrix).tolist() == booster.predict(matrix).tolist()
    assert type(load_native(tmp_path / "m")).__name__ == "Booster"


def test_sklearn_api_round_trip_via_skops(matrix: Any, tmp_path: Path) -> None:
    lgb = need("lightgbm")
    labels = (matrix[:, 0] > 0.5).astype(int)
    model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=2, verbose=-1).fit(matrix, labels)
    info = save_model(model, tmp_path / "m")
    assert info.flavors["lightgbm"]["serialization_format"] == "skops"
    native = load_native(tmp_path / "m")
    assert native.predict_proba(matrix).tolist() == model.predict_proba(matrix).tolist()
