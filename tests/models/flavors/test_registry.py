"""The entry-point registry: built-ins register through it, auto-detection picks by priority."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from clew.core.errors import InvalidInput, InvalidModel
from clew.models import flavors
from clew.models.flavors.registry import GROUP, flavor_for_object, get_flavor
from tests.conftest import need


def test_builtins_come_from_entry_points() -> None:
    declared = {ep.name for ep in importlib.metadata.entry_points(group=GROUP)}
    assert {"sklearn", "lightgbm", "python_function"} <= declared
    assert {"sklearn", "lightgbm", "python_function"} <= set(flavors())


def test_order_is_specific_first() -> None:
    names = list(flavors())
    assert names.index("lightgbm") < names.index("sklearn") < names.index("python_function")


def test_pyfunc_alias() -> None:
    assert get_flavor("pyfunc").name == "python_function"


def test_unknown_flavor_refused() -> None:
    with pytest.raises(InvalidModel):
        get_flavor("tensorflow-9000")


class _HasPredict:
    def predict(self, model_input: Any) -> Any:
        return model_input


def _logreg() -> Any:
    return need("sklearn.linear_model").LogisticRegression()


def _lgb_classifier() -> Any:
    return need("lightgbm").LGBMClassifier()


def _booster() -> Any:
    lgb = need("lightgbm")
    np = need("numpy")
    data = lgb.Dataset(np.arange(20.0).reshape(10, 2), label=np.arange(10.0))
    return lgb.train({"verbose": -1, "min_data_in_leaf": 1}, data, num_boost_round=1)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_logreg, "sklearn", id="sklearn-estimator"),
        pytest.param(_lgb_classifier, "lightgbm", id="lgbm-sklearn-api-goes-to-lightgbm"),
        pytest.param(_booster, "lightgbm", id="lgbm-booster"),
        pytest.param(_HasPredict, "python_function", id="any-object-with-predict"),
    ],
)
def test_auto_detection(make: Any, expected: str) -> None:
    assert flavor_for_object(make()).name == expected


def test_object_without_predict_refused() -> None:
    with pytest.raises(InvalidInput, match="No installed model flavor"):
        flavor_for_object(object())
