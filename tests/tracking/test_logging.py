from __future__ import annotations

import math

import pytest

from clew.core.actor import Actor
from clew.core.errors import InvalidInput, LimitExceeded, NotFound, ParamOverwrite
from clew.tracking.model import Dataset, DatasetInput, Metric
from clew.tracking.service import TrackingService
from tests.tracking.helpers import audit_actions, count


@pytest.fixture
def run_id(tracking: TrackingService, alice: Actor) -> str:
    return tracking.create_run(alice).run_id


def test_params_are_immutable(tracking: TrackingService, alice: Actor, run_id: str) -> None:
    tracking.log_param(alice, run_id, "lr", 0.01)
    tracking.log_param(alice, run_id, "lr", "0.01")  # the same value again is fine
    with pytest.raises(ParamOverwrite) as err:
        tracking.log_param(alice, run_id, "lr", "0.02")
    assert err.value.code == "PARAM_OVERWRITE" and err.value.status == 400
    assert tracking.get_run(alice, run_id).data.params == {"lr": "0.01"}


def test_param_overwrite_fails_the_whole_batch(
    tracking: TrackingService, alice: Actor, run_id: str
) -> None:
    tracking.log_param(alice, run_id, "lr", "0.01")
    before = audit_actions(tracking.db)
    with pytest.raises(ParamOverwrite):
        tracking.log_batch(
            alice,
            run_id,
            metrics=[Metric("loss", 1.0, 1, 0)],
            params=[("depth", "3"), ("lr", "0.5")],
            tags=[("t", "v")],
        )
    run = tracking.get_run(alice, run_id)
    assert run.data.params == {"lr": "0.01"}
    assert run.data.metrics == {}
    assert "t" not in run.data.tags
    assert count(tracking.db, "metrics") == 0
    assert audit_actions(tracking.db) == before


def test_conflicting_param_inside_one_batch(
    tracking: TrackingService, alice: Actor, run_id: str
) -> None:
    with pytest.raises(ParamOverwrite):
        tracking.log_batch(alice, run_id, params=[("a", "1"), ("a", "2")])


def test_metrics_history_and_latest(tracking: TrackingService, alice: Actor, run_id: str) -> None:
    points = [Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(10)]
    tracking.log_batch(alice, run_id, metrics=list(reversed(points)))
    history = tracking.get_metric_history(alice, run_id, "loss")
    assert history.steps == list(range(10))
    assert history.values == [p.value for p in points]
    latest = tracking.get_run(alice, run_id).data.metrics["loss"]
    assert latest.step == 9 and latest.value == pytest.approx(0.1)
    window = tracking.get_metric_history(alice, run_id, "loss", start_step=3, end_step=5)
    assert window.steps == [3, 4, 5]


def test_an_older_point_does_not_move_latest(
    tracking: TrackingService, alice: Actor, run_id: str
) -> None:
    tracking.log_metric(alice, run_id, "acc", 0.9, timestamp=10, step=5)
    tracking.log_metric(alice, run_id, "acc", 0.1, timestamp=20, step=1)
    assert tracking.get_run(alice, run_id).data.metrics["acc"].value == 0.9


def test_nan_and_infinities_round_trip(
    tracking: TrackingService, alice: Actor, run_id: str
) -> None:
    values = [math.nan, math.inf, -math.inf, 0.0]
    tracking.log_batch(
        alice, run_id, metrics=[Metric("m", v, 1, step) for step, v in enumerate(values)]
    )
    got = tracking.get_metric_history(alice, run_id, "m").values
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == -math.inf and got[3] == 0.0


def test_retrying_a_batch_changes_nothing(
    tracking: TrackingService, alice: Actor, run_id: str
) -> None:
    batch = {
        "metrics": [Metric("loss", 0.5, 100, s) for s in range(5)] + [Metric("n", math.nan, 1, 0)],
        "params": [("lr", "0.1")],
        "tags": [("stage", "dev")],
    }
    tracking.log_batch(alice, run_id, **batch)  # type: ignore[arg-type]
    tracking.log_batch(alice, run_id, **batch)  # type: ignore[arg-type]
    assert count(tracking.db, "metrics") == 6
    assert len(tracking.get_metric_history(alice, run_id, "loss")) == 5
    run = tracking.get_run(alice, run_id)
    assert run.data.params == {"lr": "0.1"} and run.data.tags["stage"] == "dev"


def test_tags_overwrite_and_delete(tracking: TrackingService, alice: Actor, run_id: str) -> None:
    tracking.set_tag(alice, run_id, "stage", "dev")
    tracking.set_tag(alice, run_id, "stage", "prod")
    assert tracking.get_run(alice, run_id).data.tags["stage"] == "prod"
    tracking.delete_tag(alice, run_id, "stage")
    assert "stage" not in tracking.get_run(alice, run_id).data.tags
    with pytest.raises(NotFound):
        tracking.delete_tag(alice, run_id, "stage")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"metrics": [Metric("", 1.0, 1, 0)]}, InvalidInput, id="empty-key"),
        pytest.param({"metrics": [Metric("k" * 251, 1.0, 1, 0)]}, LimitExceeded, id="long-key"),
        pytest.param({"metrics": [Metric("m", "x", 1, 0)]}, InvalidInput, id="string-value"),  # type: ignore[arg-type]
        pytest.param({"metrics": [Metric("m", 1.0, 1, 2**63)]}, InvalidInput, id="step-overflow"),
        pytest.param({"params": [("p", "x" * 6001)]}, LimitExceeded, id="long-param"),
        pytest.param({"tags": [("../etc", "x")]}, InvalidInput, id="traversal-key"),
        pytest.param({"tags": [("t", "a\x00b")]}, InvalidInput, id="nul-value"),
        pytest.param(
            {"metrics": [Metric("m", 1.0, 1, i) for i in range(10_001)]},
            LimitExceeded,
            id="too-many-metrics",
        ),
    ],
)
def test_bad_batches_write_nothing(
    tracking: TrackingService, alice: Actor, run_id: str, kwargs: dict, error: type[Exception]
) -> None:
    with pytest.raises(error):
        tracking.log_batch(alice, run_id, **kwargs)
    assert count(tracking.db, "metrics") == 0
    assert audit_actions(tracking.db) == ["run.create"]


def test_unknown_run(tracking: TrackingService, alice: Actor) -> None:
    with pytest.raises(NotFound):
        tracking.log_metric(alice, "a" * 32, "m", 1.0)


def test_dataset_inputs_are_graph_nodes(
    tracking: TrackingService, alice: Actor, run_id: str
) -> None:
    iris = Dataset("iris", "abc123", "local", "/data/iris.csv", '{"cols": []}', '{"rows": 150}')
    tracking.log_inputs(alice, run_id, [DatasetInput(iris, {"mlflow.data.context": "training"})])
    tracking.log_inputs(alice, run_id, [DatasetInput(iris, {"mlflow.data.context": "training"})])
    tracking.log_inputs(alice, run_id, [DatasetInput(iris, {"mlflow.data.context": "eval"})])
    other = tracking.create_run(alice).run_id
    tracking.log_inputs(alice, other, [DatasetInput(iris, {"mlflow.data.context": "training"})])
    run = tracking.get_run(alice, run_id)
    assert [(i.dataset, i.context) for i in run.inputs] == [(iris, "training"), (iris, "eval")]
    assert count(tracking.db, "artifacts") == 1  # one node for the data set
    assert count(tracking.db, "events") == 3  # one INPUT edge per (run, context)
    found = tracking.search_runs(alice, filter_string="datasets.name = 'iris'")
    assert {r.run_id for r in found} == {run_id, other}
