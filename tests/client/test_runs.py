"""Runs, params, metrics, tags and inputs through the SDK, on both transports."""

from __future__ import annotations

import json
import math

import pytest

import clew
from clew import Client, Conflict, Metric, Param, ParamOverwrite, RunStatus, RunTag
from tests.conftest import need


def test_create_get_and_terminate(client: Client) -> None:
    run = client.create_run("0", run_name="r1", tags={"k": "v"})
    assert run.info.status == RunStatus.RUNNING
    assert run.info.run_name == "r1"
    assert run.data.tags["k"] == "v"
    info = client.set_terminated(run.run_id, "FAILED")
    assert info.status == "FAILED"
    assert info.end_time is not None
    assert client.get_run(run.run_id).info.status == "FAILED"


def test_update_run_renames_and_resumes(client: Client) -> None:
    run = client.create_run()
    client.set_terminated(run.run_id)
    info = client.update_run(run.run_id, status="RUNNING", name="renamed")
    assert (info.status, info.run_name, info.end_time) == ("RUNNING", "renamed", None)


def test_delete_and_restore_run(client: Client) -> None:
    run = client.create_run()
    client.delete_run(run.run_id)
    assert client.get_run(run.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(Conflict):
        client.log_param(run.run_id, "a", 1)
    client.restore_run(run.run_id)
    client.log_param(run.run_id, "a", 1)


def test_params_are_immutable(client: Client) -> None:
    run = client.create_run()
    assert client.log_param(run.run_id, "lr", 0.1) == 0.1
    client.log_param(run.run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(ParamOverwrite):
        client.log_param(run.run_id, "lr", 0.2)
    client.log_params(run.run_id, {"depth": 3, "name": "x"})
    assert client.get_run(run.run_id).data.params == {"lr": "0.1", "depth": "3", "name": "x"}


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, 0.0, -1.5e300],
    ids=["nan", "inf", "-inf", "zero", "tiny"],
)
def test_special_float_metrics_round_trip(client: Client, value: float) -> None:
    run = client.create_run()
    client.log_metric(run.run_id, "m", value, step=1)
    latest = client.get_run(run.run_id).data.metrics["m"].value
    history = client.get_metric_history(run.run_id, "m").values
    for got in (latest, history[0]):
        assert (math.isnan(got) and math.isnan(value)) or got == value


def test_metric_history_order_and_step_range(client: Client) -> None:
    run = client.create_run()
    for step in (3, 1, 2, 0):
        client.log_metric(run.run_id, "loss", float(step) / 10, step=step, timestamp=1000 + step)
    client.log_metrics(run.run_id, {"loss": 0.9, "acc": 0.5}, step=4, timestamp=2000)
    history = client.get_metric_history(run.run_id, "loss")
    assert history.steps == [0, 1, 2, 3, 4]
    assert history.values == [0.0, 0.1, 0.2, 0.3, 0.9]
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert client.get_metric_history(run.run_id, "loss", start_step=1, end_step=3).steps == [
        1,
        2,
        3,
    ]
    assert client.get_run(run.run_id).data.metrics["acc"].step == 4


def test_tags_set_overwrite_and_delete(client: Client) -> None:
    run = client.create_run()
    client.set_tag(run.run_id, "stage", "a")
    client.set_tags(run.run_id, {"stage": "b", "owner": "me"})
    client.delete_tag(run.run_id, "owner")
    tags = client.get_run(run.run_id).data.tags
    assert tags["stage"] == "b"
    assert "owner" not in tags


def test_log_batch_accepts_entity_objects(client: Client) -> None:
    run = client.create_run()
    client.log_batch(
        run.run_id,
        metrics=[Metric("m", 1.0, 5, 0), Metric("m", 2.0, 6, 1)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "x")],
    )
    got = client.get_run(run.run_id)
    assert (got.data.params, got.data.tags["t"], got.data.metrics["m"].value) == (
        {"p": "1"},
        "x",
        2.0,
    )


def test_log_batch_larger_than_the_limits_is_split(client: Client) -> None:
    run = client.create_run()
    n = client.limits.metrics + 5
    client.log_batch(
        run.run_id,
        metrics=[Metric("m", float(i), 1, i) for i in range(n)],
        params={f"p{i}": i for i in range(client.limits.params + 1)},
    )
    assert len(client.get_metric_history(run.run_id, "m")) == n
    assert len(client.get_run(run.run_id).data.params) == client.limits.params + 1


def test_nested_run_records_parent(client: Client) -> None:
    parent = client.create_run()
    child = client.create_run(parent.info.experiment_id, parent_run_id=parent.run_id)
    assert child.info.parent_run_id == parent.run_id
    assert child.data.tags["mlflow.parentRunId"] == parent.run_id


def test_log_input_from_pandas_round_trip(client: Client) -> None:
    pd = need("pandas")
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    ds = clew.data.from_pandas(df, source="s3://bucket/train.parquet", name="train", targets="y")
    run = client.create_run()
    client.log_input(run.run_id, ds, context="training")
    (got,) = client.get_run(run.run_id).inputs
    assert got.dataset == ds
    assert got.context == "training"
    schema = json.loads(got.dataset.schema)["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in schema] == [("x", "double"), ("y", "long")]
    assert json.loads(got.dataset.profile)["num_rows"] == 3
