"""``log_model`` (fluent and Client) and ``register_model``, on both transports and databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import clew
from clew.client.client import Client
from clew.core import schema
from clew.core.db import Database
from clew.core.errors import InvalidInput, NotFound
from tests.conftest import need


@pytest.fixture
def frame() -> Any:
    pd = need("pandas")
    return pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})


@pytest.fixture
def estimator(frame: Any) -> Any:
    need("sklearn")
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame, [0, 0, 1, 1])


def test_log_model_in_the_active_run(fluent: Client, estimator: Any, frame: Any) -> None:
    with clew.start_run() as run:
        info = clew.log_model(estimator, "clf", input_example=frame.head(2))
    assert info.model_id.startswith("m-") and len(info.model_id) == 34
    assert info.model_uri == f"models:/{info.model_id}"
    assert (info.run_id, info.name, info.artifact_path) == (run.info.run_id, "clf", "clf")
    assert sorted(info.flavors) == ["python_function", "sklearn"]
    assert info.signature is not None
    assert [s.name for s in info.signature.inputs.specs] == ["a", "b"]
    assert info.model_uuid == info.model_id  # MLflow 3 writes the model id as model_uuid
    assert info.model_digest.startswith("sha256:")
    model = fluent.get_logged_model(info.model_id)
    assert (model.status, model.source_run_id, model.name) == ("READY", run.info.run_id, "clf")
    assert model.experiment_id == run.info.experiment_id
    paths = {f.path for f in fluent.list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "model.skops", "input_example.json", "requirements.txt"} <= paths
    # MLflow 3: a logged model's files live under the model, not in the run's artifacts.
    assert fluent.list_artifacts(run.info.run_id) == []


def test_the_logged_model_is_an_output_of_the_run(
    fluent: Client, estimator: Any, db: Database
) -> None:
    with clew.start_run() as run:
        info = clew.log_model(estimator, "clf")
    with db.read() as conn:
        row = conn.execute(
            select(schema.events.c.execution_id, schema.events.c.type, schema.events.c.name)
            .join(
                schema.logged_models,
                schema.logged_models.c.artifact_id == schema.events.c.artifact_id,
            )
            .where(schema.logged_models.c.id == info.model_id)
        ).one()
    assert tuple(row) == (run.info.run_id, "OUTPUT", "clf")


def test_without_an_active_run_the_model_has_no_source_run(fluent: Client, estimator: Any) -> None:
    exp = clew.set_experiment("models-no-run")
    info = clew.log_model(estimator, "standalone")
    assert info.run_id is None and clew.active_run() is None
    assert fluent.get_logged_model(info.model_id).experiment_id == exp.experiment_id


def test_registered_model_name_registers_a_version(fluent: Client, estimator: Any) -> None:
    with clew.start_run() as run:
        first = clew.log_model(estimator, "clf", registered_model_name="churn")
        second = clew.log_model(estimator, "clf", registered_model_name="churn")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    mv = fluent.get_model_version("churn", 2)
    assert (mv.logged_model_id, mv.run_id, mv.source) == (
        second.model_id,
        run.info.run_id,
        second.model_uri,
    )
    assert mv.digest == second.digest


def test_a_failed_save_marks_the_model_failed(fluent: Client) -> None:
    with clew.start_run() as run, pytest.raises(InvalidInput):
        clew.log_model(object(), "broken")  # no flavor can save a plain object
    [model] = fluent.search_logged_models([run.info.experiment_id])
    assert model.status == "FAILED" and model.status_message


def test_flavor_modules_force_their_flavor(fluent: Client, estimator: Any) -> None:
    lgb = need("lightgbm")
    import numpy as np

    x = np.arange(40, dtype=float).reshape(20, 2)
    booster = lgb.train({"verbose": -1, "min_data_in_leaf": 1}, lgb.Dataset(x, x[:, 0]), 2)

    class Doubler:
        def predict(self, model_input: Any) -> Any:
            return model_input * 2

    with clew.start_run():
        sk = clew.sklearn.log_model(estimator, name="sk")
        lg = clew.lightgbm.log_model(booster, name="lgb")
        py = clew.pyfunc.log_model(python_model=Doubler(), name="py")
    assert "sklearn" in sk.flavors and "lightgbm" in lg.flavors
    assert sorted(py.flavors) == ["python_function"]
    assert type(clew.sklearn.load_model(sk.model_uri)).__name__ == "LogisticRegression"
    assert type(clew.lightgbm.load_model(lg.model_uri)).__name__ == "Booster"
    assert clew.pyfunc.load_model(py.model_uri).predict(np.array([1.0])).tolist() == [2.0]


def test_client_log_model_names_its_run(client: Client, estimator: Any) -> None:
    run = client.create_run()
    info = client.log_model(run.run_id, estimator, "clf", params={"C": 1.0}, tags={"t": "x"})
    model = client.get_logged_model(info.model_id)
    assert (model.source_run_id, model.params, model.tags) == (
        run.run_id,
        {"C": "1.0"},
        {"t": "x"},
    )


def test_register_model_from_every_source(client: Client, estimator: Any, tmp_path: Any) -> None:
    run = client.create_run()
    info = client.log_model(run.run_id, estimator, "clf")
    by_id = client.register_model(info.model_uri, "reg")  # creates "reg"
    by_run = client.register_model(f"runs:/{run.run_id}/clf", "reg")  # MLflow 3: finds the model
    copied = client.register_model("models:/reg/1", "reg-copy")
    assert [v.version for v in (by_id, by_run, copied)] == [1, 2, 1]
    assert {by_id.logged_model_id, by_run.logged_model_id, copied.logged_model_id} == {
        info.model_id
    }
    assert by_run.run_id == run.run_id
    # A run whose own artifacts hold a model there is registered from those files.
    from clew.models import save_model

    save_model(estimator, tmp_path / "m")
    client.log_artifacts(run.run_id, tmp_path / "m", "own")
    own = client.register_model(f"runs:/{run.run_id}/own", "reg")
    assert (own.source, own.logged_model_id) == (f"runs:/{run.run_id}/own", None)
    with pytest.raises(NotFound):
        client.register_model(f"runs:/{run.run_id}/nothing-here", "reg")
    with pytest.raises(InvalidInput):
        client.register_model(str(tmp_path / "m"), "reg")
