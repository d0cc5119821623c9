"""The sklearn flavor: skops by default, pickle formats on request, same predictions back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clew.models import load_model, load_native, read_mlmodel, save_model
from tests.conftest import need


def test_skops_is_the_default(sk_logreg: Any, tmp_path: Path) -> None:
    info = save_model(sk_logreg, tmp_path / "m")
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert info.flavors["python_function"]["model_path"] == "model.skops"
    assert (tmp_path / "m" / "model.skops").is_file()


def test_forest_uses_skops_with_tree_trusted(matrix: Any, tmp_path: Path) -> None:
    ensemble = need("sklearn.ensemble")
    est = ensemble.RandomForestRegressor(n_estimators=2, random_state=0).fit(matrix, matrix[:, 0])
    info = save_model(est, tmp_path / "m")
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert info.flavors["sklearn"]["skops_trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert load_model(tmp_path / "m").predict(matrix).tolist() == est.predict(matrix).tolist()


def test_unrepresentable_falls_back_to_cloudpickle(matrix: Any, tmp_path: Path) -> None:
    preprocessing = need("sklearn.preprocessing")
    pipeline = need("sklearn.pipeline")
    linear_model = need("sklearn.linear_model")
    est = pipeline.make_pipeline(
        preprocessing.FunctionTransformer(lambda x: x * 2), linear_model.Ridge()
    ).fit(matrix, matrix[:, 0])
    info = save_model(est, tmp_path / "m")
    assert info.flavors["sklearn"]["serialization_format"] == "cloudpickle"
    assert load_model(tmp_path / "m").predict(matrix).tolist() == est.predict(matrix).tolist()


@pytest.mark.parametrize(
    "fmt", [pytest.param("skops"), pytest.param("pickle"), pytest.param("cloudpickle")]
)
def test_round_trip_per_format(fmt: str, sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", serialization_format=fmt, input_example=frame.head(2))
    model = load_model(tmp_path / "m")
    assert model.predict(frame).tolist() == sk_logreg.predict(frame).tolist()
    assert type(model.raw_model) is type(sk_logreg)
    assert read_mlmodel(tmp_path / "m").flavors["sklearn"]["serialization_format"] == fmt


def test_native_is_the_estimator(sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m")
    est = load_native(tmp_path / "m")
    assert est.predict_proba(frame).tolist() == sk_logreg.predict_proba(frame).tolist()


def test_predict_fn_option(sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", predict_fn="predict_proba")
    got = load_model(tmp_path / "m").predict(frame)
    assert got.tolist() == sk_logreg.predict_proba(frame).tolist()


def test_signature_inferred_with_outputs(sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    info = save_model(sk_logreg, tmp_path / "m", input_example=frame.head(2))
    assert info.signature is not None and info.signature.outputs is not None
    assert info.signature.inputs.names == ["a", "b"]
    assert info.signature.outputs.to_json() == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
    )


def test_loaded_model_enforces_signature(sk_logreg: Any, frame: Any, tmp_path: Path) -> None:
    from clew.core.errors import InvalidInput

    save_model(sk_logreg, tmp_path / "m", input_example=frame.head(2))
    with pytest.raises(InvalidInput, match="'b'"):
        load_model(tmp_path / "m").predict(frame[["a"]])
