"""Every request is one transaction: a failing batch writes nothing, not even an audit event;
every successful mutating call writes exactly one audit event (§5 item 55, last clause).

Runs on every backend through the shared ``settings`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clew.core import audit
from clew.core.actor import Actor
from clew.core.errors import (
    AlreadyExists,
    ClewError,
    Conflict,
    InvalidInput,
    NotFound,
    ParamOverwrite,
)
from clew.core.settings import Settings
from clew.platform import Platform
from clew.tracking.model import Dataset, DatasetInput, Metric
from clew.tracking.store import TrackingStore
from tests.durability import checks

ALICE = Actor("alice")


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform.open(settings)
    yield p
    p.close()


@pytest.fixture
def run_id(platform: Platform) -> str:
    """A run with param ``lr=0.1`` already logged."""
    eid = platform.tracking.create_experiment(ALICE, "atomic")
    rid: str = platform.tracking.create_run(ALICE, eid).info.run_id
    platform.tracking.log_param(ALICE, rid, "lr", "0.1")
    return rid


def _snapshot(platform: Platform, run_id: str) -> dict[str, Any]:
    db = platform.db
    return {
        "metrics": checks.metric_points(db, run_id),
        "latest": checks.latest_metrics(db, run_id),
        "params": checks.params(db, run_id),
        "tags": checks.tags(db, run_id),
        "audit": [e.to_dict() for e in checks.audit_events(db)],
        "run": platform.tracking.get_run(ALICE, run_id).info,
    }


def _points(n: int) -> list[Metric]:
    return [Metric(f"loss{i % 3}", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(n)]


BAD_BATCHES = [
    pytest.param(
        {"params": [("a", "1"), ("lr", "0.2"), ("z", "3")]},
        ParamOverwrite,
        id="param-overwrite-mid-batch",
    ),
    pytest.param(
        {"params": [("a", "1"), ("b", "2"), ("a", "3")]},
        ParamOverwrite,
        id="param-twice-in-batch",
    ),
    pytest.param(
        {"metrics": [*_points(5), Metric("../escape", 1.0, 1, 0), *_points(5)]},
        InvalidInput,
        id="bad-metric-key-mid-batch",
    ),
    pytest.param({"tags": [("ok", "1"), ("bad", "x\x00y")]}, InvalidInput, id="bad-tag-value"),
]


@pytest.mark.parametrize(("bad", "error"), BAD_BATCHES)
def test_a_failing_batch_writes_nothing(
    platform: Platform, run_id: str, bad: dict[str, Any], error: type[ClewError]
) -> None:
    batch: dict[str, Any] = {
        "metrics": _points(30),
        "params": [("a", "1"), ("z", "3")],
        "tags": [("stage", "train"), ("mlflow.runName", "renamed")],
    } | bad
    before = _snapshot(platform, run_id)
    with pytest.raises(error):
        platform.tracking.log_batch(ALICE, run_id, **batch)
    assert _snapshot(platform, run_id) == before
    checks.assert_audit_ok(platform.db)


def _fail_after(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError("injected failure after this write")

    return wrapper


@pytest.mark.parametrize(
    "stage",
    ["insert_params", "insert_metrics", "set_run_tags", "update_run", "audit.append"],
)
def test_a_failure_after_partial_writes_rolls_everything_back(
    platform: Platform, run_id: str, stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's rows were already sent to the database when it fails: none of them stay."""
    batch: dict[str, Any] = {
        "metrics": _points(30),
        "params": [("a", "1"), ("z", "3")],
        "tags": [("stage", "train"), ("mlflow.runName", "renamed")],
    }
    if stage == "audit.append":
        monkeypatch.setattr(audit, "append", _fail_after(audit.append))
    else:
        monkeypatch.setattr(TrackingStore, stage, _fail_after(getattr(TrackingStore, stage)))
    before = _snapshot(platform, run_id)
    with pytest.raises(RuntimeError, match="injected"):
        platform.tracking.log_batch(ALICE, run_id, **batch)
    assert _snapshot(platform, run_id) == before
    checks.assert_audit_ok(platform.db)

    monkeypatch.undo()  # the same batch, retried, lands once with one audit event
    platform.tracking.log_batch(ALICE, run_id, **batch)
    after = _snapshot(platform, run_id)
    assert sum(len(v) for v in after["metrics"].values()) == 30
    assert after["params"] == {"lr": "0.1", "a": "1", "z": "3"}
    assert len(after["audit"]) == len(before["audit"]) + 1
    assert after["audit"][-1]["action"] == "run.log"
    checks.assert_audit_ok(platform.db)


def test_each_successful_mutating_call_writes_exactly_one_audit_event(
    platform: Platform,
) -> None:
    """Walk the mutating tracking calls; failing ones must leave no event at all."""
    t = platform.tracking
    state: dict[str, str] = {}

    def new_experiment() -> None:
        state["eid"] = t.create_experiment(ALICE, "audited", tags={"team": "a"})

    def new_run() -> None:
        state["rid"] = t.create_run(ALICE, state["eid"], tags={"k": "v"}).info.run_id

    dataset = DatasetInput(
        Dataset("iris", "abc123", source="s3://b/iris"), {"mlflow.data.context": "train"}
    )
    ok: list[tuple[Callable[[], object], str, Callable[[], str]]] = [
        (new_experiment, "experiment.create", lambda: state["eid"]),
        (
            lambda: t.set_experiment_tags(ALICE, state["eid"], {"x": "1"}),
            "experiment.tag.set",
            lambda: state["eid"],
        ),
        (
            lambda: t.delete_experiment_tag(ALICE, state["eid"], "x"),
            "experiment.tag.delete",
            lambda: state["eid"],
        ),
        (
            lambda: t.rename_experiment(ALICE, state["eid"], "audited-2"),
            "experiment.rename",
            lambda: state["eid"],
        ),
        (new_run, "run.create", lambda: state["rid"]),
        (
            lambda: t.log_batch(ALICE, state["rid"], _points(7), {"p": "1"}, {"t": "1"}),
            "run.log",
            lambda: state["rid"],
        ),
        (
            lambda: t.log_metric(ALICE, state["rid"], "acc", 0.5, step=3),
            "run.log",
            lambda: state["rid"],
        ),
        (lambda: t.log_param(ALICE, state["rid"], "q", 2), "run.log", lambda: state["rid"]),
        (lambda: t.set_tag(ALICE, state["rid"], "u", "x"), "run.log", lambda: state["rid"]),
        (lambda: t.delete_tag(ALICE, state["rid"], "u"), "run.tag.delete", lambda: state["rid"]),
        (lambda: t.log_inputs(ALICE, state["rid"], [dataset]), "run.inputs", lambda: state["rid"]),
        (
            lambda: t.update_run(ALICE, state["rid"], status="FINISHED"),
            "run.update",
            lambda: state["rid"],
        ),
        (lambda: t.delete_run(ALICE, state["rid"]), "run.delete", lambda: state["rid"]),
        (lambda: t.restore_run(ALICE, state["rid"]), "run.restore", lambda: state["rid"]),
        (
            lambda: t.delete_experiment(ALICE, state["eid"]),
            "experiment.delete",
            lambda: state["eid"],
        ),
        (
            lambda: t.restore_experiment(ALICE, state["eid"]),
            "experiment.restore",
            lambda: state["eid"],
        ),
    ]
    failing: list[tuple[Callable[[], object], type[ClewError]]] = [
        (lambda: t.create_experiment(ALICE, "audited-2"), AlreadyExists),
        (lambda: t.log_param(ALICE, state["rid"], "q", 3), ParamOverwrite),
        (lambda: t.delete_tag(ALICE, state["rid"], "missing"), NotFound),
        (lambda: t.delete_experiment_tag(ALICE, state["eid"], "missing"), NotFound),
        (lambda: t.update_run(ALICE, state["rid"], status="EXPLODED"), InvalidInput),
        (lambda: t.log_batch(ALICE, "0" * 32, _points(2)), NotFound),
    ]
    db = platform.db
    seen = len(checks.audit_events(db))
    for call, action, resource in ok:
        call()
        events = checks.audit_events(db)
        assert [(e.action, e.resource_id, e.actor) for e in events[seen:]] == [
            (action, resource(), "alice")
        ]
        seen = len(events)
    for call, error in failing:
        with pytest.raises(error):
            call()
        assert len(checks.audit_events(db)) == seen
    t.delete_run(ALICE, state["rid"])
    seen += 1
    with pytest.raises(Conflict):  # logging to a deleted run
        t.log_metric(ALICE, state["rid"], "acc", 1.0)
    assert len(checks.audit_events(db)) == seen
    assert checks.assert_audit_ok(db).checked == seen
