"""The fluent API (``clew.start_run`` …) on both transports, through ``clew.use_client``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import clew
from clew import Client, Conflict, NotFound, ParamOverwrite
from tests.conftest import need


def test_set_experiment_creates_then_reuses(fluent: Client) -> None:
    exp = clew.set_experiment("fluent-exp")
    assert clew.set_experiment("fluent-exp").experiment_id == exp.experiment_id
    assert clew.set_experiment(experiment_id=exp.experiment_id).name == "fluent-exp"
    with clew.start_run() as run:
        pass
    assert run.info.experiment_id == exp.experiment_id


def test_set_experiment_refuses_missing_id_and_deleted(fluent: Client) -> None:
    with pytest.raises(NotFound):
        clew.set_experiment(experiment_id="424242")
    eid = fluent.create_experiment("deleted-exp")
    fluent.delete_experiment(eid)
    with pytest.raises(Conflict):
        clew.set_experiment("deleted-exp")


def test_run_statuses_on_each_exit_path(fluent: Client) -> None:
    with clew.start_run() as ok:
        assert clew.active_run() is ok
    assert clew.active_run() is None
    with pytest.raises(ValueError), clew.start_run() as failed:
        raise ValueError("boom")
    with pytest.raises(KeyboardInterrupt), clew.start_run() as killed:
        raise KeyboardInterrupt
    statuses = [fluent.get_run(r.info.run_id).info.status for r in (ok, failed, killed)]
    assert statuses == ["FINISHED", "FAILED", "KILLED"]
    assert fluent.get_run(ok.info.run_id).info.end_time is not None


def test_end_run_with_status(fluent: Client) -> None:
    run = clew.start_run()
    clew.end_run("KILLED")
    assert clew.active_run() is None
    assert fluent.get_run(run.info.run_id).info.status == "KILLED"
    clew.end_run()  # nothing active: a no-op


def test_nested_runs(fluent: Client) -> None:
    exp = clew.set_experiment("nesting")
    with clew.start_run(run_name="parent") as parent:
        with pytest.raises(Conflict, match="nested=True"):
            clew.start_run()
        with clew.start_run(nested=True, run_name="child") as child:
            assert clew.active_run() is child
        assert clew.active_run() is parent
    assert child.info.parent_run_id == parent.info.run_id
    assert child.info.experiment_id == exp.experiment_id
    assert fluent.get_run(child.info.run_id).info.status == "FINISHED"


def test_leaving_parent_block_ends_children_left_open(fluent: Client) -> None:
    with clew.start_run() as parent:
        child = clew.start_run(nested=True)
    assert clew.active_run() is None
    assert fluent.get_run(child.info.run_id).info.status == "FINISHED"
    assert fluent.get_run(parent.info.run_id).info.status == "FINISHED"


def test_resume_a_finished_run(fluent: Client) -> None:
    with clew.start_run() as first:
        clew.log_param("a", 1)
    with clew.start_run(run_id=first.info.run_id) as again:
        assert again.info.status == "RUNNING"
        clew.log_param("b", 2)
    assert fluent.get_run(first.info.run_id).data.params == {"a": "1", "b": "2"}


def test_logging_without_a_run_starts_one(fluent: Client) -> None:
    clew.log_metric("m", 1.0)
    run = clew.active_run()
    assert run is not None
    clew.end_run()
    assert fluent.get_run(run.info.run_id).data.metrics["m"].value == 1.0


def test_fluent_logging_round_trip(fluent: Client) -> None:
    with clew.start_run(tags={"team": "a"}, description="notes") as run:
        assert clew.log_param("lr", 0.01) == 0.01
        clew.log_params({"depth": 3})
        clew.log_metric("loss", 0.5, step=0)
        clew.log_metric("loss", math.nan, step=1)
        clew.log_metrics({"acc": 0.9, "loss": 0.25}, step=2)
        clew.set_tag("stage", "dev")
        clew.set_tags({"owner": "me"})
        clew.delete_tag("owner")
    got = clew.get_run(run.info.run_id)
    assert got.data.params == {"lr": "0.01", "depth": "3"}
    assert got.data.tags["team"] == "a"
    assert got.data.tags["stage"] == "dev"
    assert got.data.tags["mlflow.note.content"] == "notes"
    assert "owner" not in got.data.tags
    history = clew.get_metric_history(run.info.run_id, "loss")
    assert history.steps == [0, 1, 2]
    assert math.isnan(history.values[1])


def test_param_overwrite_raises_synchronously_in_sync_mode(fluent: Client) -> None:
    with clew.start_run():
        clew.log_param("p", 1, synchronous=True)
        with pytest.raises(ParamOverwrite):
            clew.log_param("p", 2, synchronous=True)


def test_async_logging_off_raises_at_the_call(
    fluent: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEW_ASYNC_LOGGING", "false")
    with clew.start_run() as run:
        clew.log_param("p", 1)
        with pytest.raises(ParamOverwrite):
            clew.log_param("p", 2)
        # written already: visible without a flush
        assert fluent.get_run(run.info.run_id).data.params == {"p": "1"}


def test_bad_keys_raise_at_the_call_even_when_buffered(fluent: Client) -> None:
    with clew.start_run():
        with pytest.raises(clew.InvalidInput):
            clew.log_metric("", 1.0)
        with pytest.raises(clew.InvalidInput):
            clew.log_param("../x", 1)


def test_fluent_log_input(fluent: Client) -> None:
    pd = need("pandas")
    ds = clew.data.from_pandas(pd.DataFrame({"a": [1, 2]}), name="tiny")
    with clew.start_run() as run:
        clew.log_input(ds, context="evaluation")
    (got,) = fluent.get_run(run.info.run_id).inputs
    assert (got.dataset.name, got.dataset.digest, got.context) == ("tiny", ds.digest, "evaluation")


def test_fluent_artifacts(fluent: Client, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_text("x")
    (tmp_path / "f.txt").write_text("f")
    with clew.start_run() as run:
        clew.log_artifact(tmp_path / "f.txt")
        clew.log_artifacts(tmp_path / "d", "dir")
        clew.log_text("t", "t.txt")
        clew.log_dict({"a": 1}, "d.json")
    paths = sorted(i.path for i in fluent.list_artifacts(run.info.run_id))
    assert paths == ["d.json", "dir", "f.txt", "t.txt"]


def test_fluent_search_runs(fluent: Client) -> None:
    clew.set_experiment("fluent-search")
    for i in range(3):
        with clew.start_run():
            clew.log_metric("score", float(i))
    runs = clew.search_runs(
        filter_string="metrics.score > 0", output_format="list", order_by=["metrics.score ASC"]
    )
    assert isinstance(runs, list)
    assert [r.data.metrics["score"].value for r in runs] == [1.0, 2.0]
    assert len(clew.search_runs(output_format="list", max_results=2)) == 2
    need("pandas")
    df = clew.search_runs()  # pandas by default when pandas is installed
    assert sorted(df["metrics.score"]) == [0.0, 1.0, 2.0]
