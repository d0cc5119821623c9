"""Both directions against the real mlflow 3.x, run in its own venv (see ``mlflow_env.py``).

Predictions are compared exactly: the same library versions compute from the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clew.core.errors import UntrustedModel
from clew.models import load_model, load_native, save_model
from tests.conftest import need, require
from tests.models import mlflow_env

pytestmark = pytest.mark.slow

LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import mlflow.pyfunc
jobs = json.loads(sys.argv[1])
out = {}
for kind, job in jobs.items():
    model = mlflow.pyfunc.load_model(job["path"])
    out[kind] = np.asarray(model.predict(np.asarray(job["rows"]))).tolist()
print(json.dumps(out))
"""

SAVE_WITH_MLFLOW = """
import json, sys
import numpy as np
import mlflow.pyfunc, mlflow.sklearn
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
root, data = sys.argv[1], json.loads(sys.argv[2])
X, y = np.asarray(data["rows"]), np.asarray(data["y"])

class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return np.asarray(model_input) * 2.0 + 1.0

out = {}
for kind in ("skops", "forest", "cloudpickle", "pyfunc"):
    path = f"{root}/{kind}"
    if kind == "pyfunc":
        model = Doubler()
        mlflow.pyfunc.save_model(path, python_model=model, input_example=X[:2])
        out[kind] = np.asarray(model.predict(None, X)).tolist()
        continue
    est = RandomForestRegressor(n_estimators=3, random_state=0) if kind == "forest" else Ridge()
    est.fit(X, y)
    mlflow.sklearn.save_model(
        est,
        path,
        serialization_format="cloudpickle" if kind == "cloudpickle" else "skops",
        input_example=X[:2],
        skops_trusted_types=["sklearn.tree._tree.Tree"] if kind == "forest" else None,
    )
    out[kind] = est.predict(X).tolist()
print(json.dumps(out))
"""

CLEW_KINDS = [
    pytest.param("ridge-skops", id="sklearn-skops"),
    pytest.param("forest-skops", id="sklearn-skops-trusted-tree"),
    pytest.param("ridge-pickle", id="sklearn-pickle"),
    pytest.param("ridge-cloudpickle", id="sklearn-cloudpickle"),
    pytest.param("lgb-booster", id="lightgbm-booster"),
    pytest.param("lgb-regressor", id="lightgbm-sklearn-api"),
    pytest.param("pyfunc-plain", id="pyfunc-plain-class"),
]


@pytest.fixture(scope="session")
def mlflow_venv() -> None:
    ok, log = mlflow_env.build()
    require(ok, f"the mlflow 3.x compatibility venv could not be built:\n{log}")


def _data(matrix: Any) -> dict[str, Any]:
    y = (matrix[:, 0] * 3 + matrix[:, 1]).tolist()
    return {"rows": matrix.tolist(), "y": y}


def _scaler(factor: float) -> Any:
    """A plain Python model (no base class), its class local so cloudpickle stores it by value:
    the mlflow venv cannot import this test module."""

    class Scaler:
        def __init__(self, factor: float) -> None:
            self.factor = factor

        def predict(self, context: Any, model_input: Any) -> Any:
            import numpy as np

            return np.asarray(model_input).sum(axis=1) * self.factor

    return Scaler(factor)


def _clew_model(kind: str, matrix: Any, y: list[float]) -> Any:
    name, variant = kind.split("-")
    if name == "pyfunc":
        return _scaler(2.5)
    if name == "lgb":
        lgb = need("lightgbm")
        if variant == "booster":
            params = {"objective": "regression", "verbose": -1, "min_data_in_leaf": 2}
            return lgb.train(params, lgb.Dataset(matrix, label=y), num_boost_round=5)
        return lgb.LGBMRegressor(n_estimators=5, min_child_samples=2, verbose=-1).fit(matrix, y)
    ensemble = need("sklearn.ensemble")
    linear_model = need("sklearn.linear_model")
    est = (
        ensemble.RandomForestRegressor(n_estimators=3, random_state=0)
        if name == "forest"
        else (linear_model.Ridge())
    )
    return est.fit(matrix, y)


@pytest.fixture(scope="module")
def clew_models_in_mlflow(
    mlflow_venv: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[list[Any], list[Any]]]:
    """Every Clew-saved kind, loaded and predicted by mlflow in one subprocess: kind -> (ours,
    mlflow's)."""
    np = need("numpy")
    matrix = np.random.default_rng(0).random((40, 3))
    data = _data(matrix)
    root = tmp_path_factory.mktemp("clew-models")
    jobs, expected = {}, {}
    for param in CLEW_KINDS:
        kind = str(param.values[0])
        model = _clew_model(kind, matrix, data["y"])
        name, variant = kind.split("-")
        opts = {"serialization_format": variant} if name in ("ridge", "forest") else {}
        save_model(model, root / kind, input_example=matrix[:2], **opts)
        expected[kind] = np.asarray(
            model.predict(None, matrix) if kind.startswith("pyfunc") else model.predict(matrix)
        ).tolist()
        jobs[kind] = {"path": str(root / kind), "rows": data["rows"]}
    got = mlflow_env.run(LOAD_AND_PREDICT, json.dumps(jobs))
    return {kind: (expected[kind], got[kind]) for kind in jobs}


@pytest.mark.parametrize("kind", CLEW_KINDS)
def test_clew_model_loads_in_mlflow(
    kind: str, clew_models_in_mlflow: dict[str, tuple[list[Any], list[Any]]]
) -> None:
    ours, theirs = clew_models_in_mlflow[kind]
    assert theirs == ours


@pytest.fixture(scope="module")
def mlflow_models(
    mlflow_venv: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Any, dict[str, list[Any]]]:
    """Models saved by mlflow itself, one subprocess: (root, input matrix, kind -> predictions)."""
    np = need("numpy")
    matrix = np.random.default_rng(1).random((40, 3))
    root = tmp_path_factory.mktemp("mlflow-models")
    out = mlflow_env.run(SAVE_WITH_MLFLOW, str(root), json.dumps(_data(matrix)))
    return root, matrix, out


@pytest.mark.parametrize(
    ("kind", "trust"),
    [
        pytest.param("skops", False, id="sklearn-skops-needs-no-trust"),
        pytest.param("forest", False, id="sklearn-skops-tree"),
        pytest.param("cloudpickle", True, id="sklearn-cloudpickle-trusted"),
        pytest.param("pyfunc", True, id="pyfunc-python-model-trusted"),
    ],
)
def test_mlflow_model_loads_in_clew(
    kind: str, trust: bool, mlflow_models: tuple[Path, Any, dict[str, list[Any]]]
) -> None:
    root, matrix, expected = mlflow_models
    model = load_model(root / kind, trust=trust)
    assert model.metadata.files is None  # MLflow records no digests
    assert model.predict(matrix).tolist() == expected[kind]


@pytest.mark.parametrize("kind", [pytest.param("cloudpickle"), pytest.param("pyfunc")])
def test_mlflow_pickle_refused_without_trust(
    kind: str, mlflow_models: tuple[Path, Any, dict[str, list[Any]]]
) -> None:
    with pytest.raises(UntrustedModel):
        load_model(mlflow_models[0] / kind)


def test_mlflow_sklearn_native_is_the_estimator(
    mlflow_models: tuple[Path, Any, dict[str, list[Any]]],
) -> None:
    root, matrix, expected = mlflow_models
    est = load_native(root / "skops")
    assert type(est).__name__ == "Ridge"
    assert est.predict(matrix).tolist() == expected["skops"]


def test_mlflow_ignores_clew_keys(mlflow_venv: None, tmp_path: Path) -> None:
    """MLflow's Model.load keeps clew_files/clew_version as plain attributes and loads anyway."""
    linear_model = need("sklearn.linear_model")
    save_model(linear_model.Ridge().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "m")
    script = """
import json, sys
from mlflow.models import Model
m = Model.load(sys.argv[1])
print(json.dumps({"files": sorted(m.clew_files), "flavors": sorted(m.flavors)}))
"""
    out = mlflow_env.run(script, str(tmp_path / "m"))
    assert out["flavors"] == ["python_function", "sklearn"]
    assert "model.skops" in out["files"]
