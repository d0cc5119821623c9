"""The UI's run views on every backend: distinct keys, counting a search, bulk metric series."""

from __future__ import annotations

import math

import pytest

from clew.core.actor import Actor
from clew.core.errors import (
    InvalidFilter,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
)
from clew.core.settings import Settings
from clew.platform import Platform
from clew.tracking.model import Dataset, DatasetInput, Metric, ViewType
from clew.tracking.service import TrackingService

PASSWORD = "correct horse battery"


def _run(
    tracking: TrackingService, actor: Actor, exp: str, params: dict[str, str], tags: dict[str, str]
) -> str:
    run_id = tracking.create_run(actor, exp, tags=tags).run_id
    tracking.log_batch(
        actor, run_id, metrics=[Metric(f"m_{k}", 1.0, 1, 0) for k in params], params=params
    )
    return run_id


def test_keys_are_distinct_sorted_and_scoped(tracking: TrackingService, alice: Actor) -> None:
    a = tracking.create_experiment(alice, "keys-a")
    b = tracking.create_experiment(alice, "keys-b")
    _run(tracking, alice, a, {"lr": "0.1", "depth": "3"}, {"team": "x"})
    _run(tracking, alice, a, {"lr": "0.2", "alpha": "1"}, {})
    gone = _run(tracking, alice, a, {"deleted_only": "1"}, {})
    tracking.delete_run(alice, gone)
    other = _run(tracking, alice, b, {"other": "1"}, {"b_tag": "y"})
    data = DatasetInput(Dataset(name="iris", digest="d1"), {})
    tracking.log_inputs(alice, other, [data])

    keys = tracking.run_keys(alice, [a])
    assert keys.params == ("alpha", "depth", "lr")
    assert keys.metrics == ("m_alpha", "m_depth", "m_lr")
    assert "team" in keys.tags and "mlflow.runName" in keys.tags and "b_tag" not in keys.tags
    assert keys.datasets == () and keys.truncated is False

    assert tracking.run_keys(alice, [a], ViewType.DELETED_ONLY).params == ("deleted_only",)
    both = tracking.run_keys(alice, None, ViewType.ALL)
    assert both.params == ("alpha", "deleted_only", "depth", "lr", "other")
    assert both.datasets == ("iris",)
    assert tracking.run_keys(alice, [b]).datasets == ("iris",)

    cut = tracking.run_keys(alice, [a], limit=2)
    assert cut.params == ("alpha", "depth") and cut.truncated is True
    with pytest.raises(NotFound):
        tracking.run_keys(alice, ["999"])
    with pytest.raises(InvalidInput):
        tracking.run_keys(alice, [a], limit=0)


def test_keys_count_and_series_follow_roles(settings: Settings) -> None:
    """A viewer of one experiment sees its keys, counts and series only."""
    on = settings.model_copy(update={"auth": True, "password_hash_memory_kib": 1024,
                                     "password_hash_time_cost": 1})  # fmt: skip
    platform = Platform.open(on)
    try:
        root, vic = Actor("root"), Actor("vic")
        platform.users.bootstrap_admin("root", PASSWORD)
        platform.users.create_user(root, "vic", password=PASSWORD)
        tracking = platform.tracking
        shown = tracking.create_experiment(root, "shown")
        hidden = tracking.create_experiment(root, "hidden")
        _run(tracking, root, shown, {"visible": "1"}, {})
        secret = _run(tracking, root, hidden, {"secret": "1"}, {})
        platform.access.grant(root, "vic", "viewer", "experiment", shown)
        assert tracking.run_keys(vic).params == ("visible",)
        assert tracking.count_runs(vic) == 1
        assert tracking.count_runs(root) == 2
        with pytest.raises(PermissionDenied):
            tracking.run_keys(vic, [hidden])
        with pytest.raises(PermissionDenied):
            tracking.count_runs(vic, [hidden])
        with pytest.raises(PermissionDenied):
            tracking.metric_series(vic, [secret], ["m_secret"])
    finally:
        platform.close()


def test_count_matches_search(tracking: TrackingService, alice: Actor) -> None:
    exp = tracking.create_experiment(alice, "count")
    for i in range(7):
        _run(tracking, alice, exp, {"lr": str(i % 3)}, {"even": str(i % 2 == 0)})
    for flt in ["", "params.lr = '1'", "tags.even = 'True' OR params.lr = '2'", "metrics.m_lr > 0"]:
        found = tracking.search_runs(alice, [exp], flt, max_results=100).items
        assert tracking.count_runs(alice, [exp], flt) == len(found), flt
    assert tracking.count_runs(alice, [exp], view_type=ViewType.DELETED_ONLY) == 0
    with pytest.raises(InvalidFilter):
        tracking.count_runs(alice, [exp], "params.lr ==")


def test_series_downsampled_in_order_with_nan(tracking: TrackingService, alice: Actor) -> None:
    a = tracking.create_run(alice).run_id
    b = tracking.create_run(alice).run_id
    points = [Metric("loss", 1.0 / (s + 1), 1_000 + 10 * s, s) for s in range(5_000)]
    points[1234] = Metric("loss", math.nan, 1_000 + 12340, 1234)
    points[4321] = Metric("loss", math.inf, 1_000 + 43210, 4321)
    for i in range(0, len(points), 1000):
        tracking.log_batch(alice, a, metrics=points[i : i + 1000])
    tracking.log_batch(alice, b, metrics=[Metric("loss", 2.0, 5, 0), Metric("acc", 0.5, 5, 0)])

    series = tracking.metric_series(alice, [a, b], ["loss", "acc"], max_points=100)
    assert [(s.run_id, s.key) for s in series] == [(a, "loss"), (a, "acc"), (b, "loss"), (b, "acc")]
    loss = series[0]
    assert loss.total_points == 5_000 and loss.downsampled and len(loss.points) <= 100
    xs = [x for x, _ in loss.points]
    assert xs == sorted(xs) and xs[0] == 0 and xs[-1] == 4_999
    ys = [y for _, y in loss.points]
    assert any(math.isnan(y) for y in ys) and math.inf in ys and 1.0 in ys
    assert series[1].points == () and series[1].total_points == 0
    assert series[2].points == ((0, 2.0),) and not series[2].downsampled

    wall = tracking.metric_series(alice, [a], ["loss"], max_points=10_000, x="wall")[0]
    assert wall.points[0] == (1_000, 1.0) and len(wall.points) == 5_000
    rel = tracking.metric_series(alice, [a], ["loss"], max_points=10, x="time")[0]
    assert rel.points[0][0] == 0 and rel.points[-1][0] == 49_990


@pytest.mark.parametrize(
    ("runs", "keys", "max_points", "x", "error"),
    [
        pytest.param(0, 1, 100, "step", InvalidInput, id="no-runs"),
        pytest.param(1, 0, 100, "step", InvalidInput, id="no-keys"),
        pytest.param(101, 1, 100, "step", LimitExceeded, id="too-many-runs"),
        pytest.param(1, 21, 100, "step", LimitExceeded, id="too-many-keys"),
        pytest.param(1, 1, 4, "step", InvalidInput, id="too-few-points"),
        pytest.param(1, 1, 10_001, "step", InvalidInput, id="too-many-points"),
        pytest.param(1, 1, 100, "epoch", InvalidInput, id="unknown-x"),
    ],
)
def test_series_limits(
    tracking: TrackingService,
    alice: Actor,
    runs: int,
    keys: int,
    max_points: int,
    x: str,
    error: type[Exception],
) -> None:
    run_ids = [f"{i:032x}" for i in range(runs)]
    with pytest.raises(error):
        tracking.metric_series(alice, run_ids, [f"k{i}" for i in range(keys)], max_points, x)  # type: ignore[arg-type]


def test_series_of_a_missing_run(tracking: TrackingService, alice: Actor) -> None:
    with pytest.raises(NotFound):
        tracking.metric_series(alice, ["f" * 32], ["loss"])
