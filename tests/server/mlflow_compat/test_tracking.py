"""Experiments and runs through the real ``mlflow`` client (3.x and 2.x): ``set_experiment``,
nested runs, params, metrics (sync and async, NaN and infinities), tags, datasets, lifecycles.
Every check reads values back.

Each test is one client script (a launch costs ~2 s) printing what it read; the assertions are
here. Names are unique per test: the server is shared by the module and both clients.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.server.mlflow_compat.scripts import PRELUDE, unique

pytestmark = pytest.mark.server


EXPERIMENTS = (
    PRELUDE
    + """
name, renamed = sys.argv[1], sys.argv[2]
out = {}
exp = mlflow.set_experiment(name)  # get-by-name answers 404, then the client creates it
out["created"] = [exp.name, exp.lifecycle_stage, exp.experiment_id != "0"]
out["id"] = exp.experiment_id
out["location"] = c.get_experiment(exp.experiment_id).artifact_location
out["again"] = mlflow.set_experiment(name).experiment_id == exp.experiment_id
out["duplicate"] = code(c.create_experiment, name)
c.set_experiment_tag(exp.experiment_id, "team", "ml")
c.set_experiment_tag(exp.experiment_id, "tier", "gold")
if hasattr(c, "delete_experiment_tag"):  # 3.x only
    c.delete_experiment_tag(exp.experiment_id, "tier")
out["tags"] = dict(c.get_experiment_by_name(name).tags)
by = lambda f, v=ViewType.ACTIVE_ONLY: sorted(e.name for e in mlflow.search_experiments(filter_string=f, view_type=v))
out["by_name"] = by(f"name = '{name}'")
out["by_like"] = by(f"name LIKE '{name[:-3]}%'")
out["by_tag"] = by(f"tags.team = 'ml' AND name = '{name}'")
out["by_other_tag"] = by(f"tags.team = 'other' AND name = '{name}'")
c.rename_experiment(exp.experiment_id, renamed)
out["renamed"] = [c.get_experiment(exp.experiment_id).name, c.get_experiment_by_name(name)]
c.delete_experiment(exp.experiment_id)
out["deleted"] = c.get_experiment(exp.experiment_id).lifecycle_stage
out["active_after_delete"] = by(f"name = '{renamed}'")
out["deleted_only"] = by(f"name = '{renamed}'", ViewType.DELETED_ONLY)
out["all"] = by(f"name = '{renamed}'", ViewType.ALL)
c.restore_experiment(exp.experiment_id)
out["restored"] = [c.get_experiment(exp.experiment_id).lifecycle_stage, by(f"name = '{renamed}'")]
out["page"] = len(c.search_experiments(max_results=1, filter_string=f"name LIKE '{renamed}%'"))
print(json.dumps(out))
"""
)


def test_experiments(mlflow_client: Any) -> None:
    name, renamed = unique("exp"), unique("exp-renamed")
    out = mlflow_client(EXPERIMENTS, name, renamed)
    assert out["created"] == [name, "active", True]
    assert out["location"] == f"mlflow-artifacts:/{out['id']}"
    assert out["again"] is True
    assert out["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert out["tags"] == (
        {"team": "ml"} if mlflow_client.major == 3 else {"team": "ml", "tier": "gold"}
    )
    assert out["by_name"] == out["by_like"] == out["by_tag"] == [name]
    assert out["by_other_tag"] == []
    assert out["renamed"] == [renamed, None]
    assert out["deleted"] == "deleted"
    assert out["active_after_delete"] == []
    assert out["deleted_only"] == out["all"] == [renamed]
    assert out["restored"] == ["active", [renamed]]
    assert out["page"] == 1


RUNS = (
    PRELUDE
    + """
name = sys.argv[1]
out = {}
exp = mlflow.set_experiment(name)
with mlflow.start_run(run_name="parent") as parent:
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("depth", 3)
        mlflow.log_params({"lr": 0.01, "opt": "adam"})
        mlflow.log_param("depth", 3)  # the same value again is fine
        out["overwrite"] = code(mlflow.log_param, "depth", 4)
        for step, value in enumerate([0.5, 0.25, float("nan"), float("inf"), float("-inf")]):
            mlflow.log_metric("loss", value, step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
        ops = [mlflow.log_metric("async", float(i), step=i, synchronous=False) for i in range(20)]
        for op in ops:
            op.wait()
        mlflow.log_metrics({"async_batch": 1.5}, step=7, synchronous=False).wait()
        mlflow.flush_async_logging()
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"owner": "alice", "gone": "soon"})
        mlflow.delete_tag("gone")
        out["delete_missing_tag"] = code(c.delete_tag, child.info.run_id, "never-set")
        child_id = child.info.run_id
    parent_id = parent.info.run_id
run = c.get_run(child_id)
out["info"] = [run.info.run_name, run.info.status, run.info.experiment_id == exp.experiment_id,
               run.info.lifecycle_stage, run.info.end_time >= run.info.start_time,
               run.info.artifact_uri]
out["params"] = run.data.params
out["metrics"] = {k: num(v) for k, v in run.data.metrics.items()}
out["tags"] = {k: v for k, v in run.data.tags.items() if k in ("stage", "owner", "gone", "mlflow.parentRunId", "mlflow.runName")}
out["parent_id"] = parent_id
out["history"] = [[m.step, num(m.value)] for m in c.get_metric_history(child_id, "loss")]
out["async"] = sorted([m.step, m.value] for m in c.get_metric_history(child_id, "async"))
out["async_batch"] = [[m.step, m.value] for m in c.get_metric_history(child_id, "async_batch")]
out["children"] = [r.info.run_id for r in c.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")]
c.delete_run(child_id)
out["deleted"] = [c.get_run(child_id).info.lifecycle_stage,
                  [r.info.run_id for r in c.search_runs([exp.experiment_id])],
                  [r.info.run_id for r in c.search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)]]
c.restore_run(child_id)
out["restored"] = c.get_run(child_id).info.lifecycle_stage
out["unknown_run"] = code(c.get_run, "0" * 32)
print(json.dumps(out))
"""
)


def test_runs_params_metrics_and_tags(mlflow_client: Any) -> None:
    out = mlflow_client(RUNS, unique("runs"))
    parent = out["parent_id"]
    name, status, same_exp, stage, ended, artifact_uri = out["info"]
    assert [name, status, same_exp, stage, ended] == ["child", "FINISHED", True, "active", True]
    assert artifact_uri.startswith("mlflow-artifacts:/") and "/artifacts" in artifact_uri
    assert out["overwrite"] == "INVALID_PARAMETER_VALUE"
    assert out["params"] == {"depth": "3", "lr": "0.01", "opt": "adam"}
    # The latest point of "loss" is the one at the highest step: -inf (MLflow's SQL store keeps
    # an infinity as the largest finite double; Clew keeps it infinite).
    assert out["metrics"]["acc"] == 0.9 and out["metrics"]["f1"] == 0.8
    assert out["metrics"]["async"] == 19.0 and out["metrics"]["async_batch"] == 1.5
    assert out["tags"] == {
        "stage": "dev",
        "owner": "alice",
        "mlflow.parentRunId": parent,
        "mlflow.runName": "child",
    }
    assert out["delete_missing_tag"] == "RESOURCE_DOES_NOT_EXIST"
    steps = [s for s, _ in out["history"]]
    values = [v for _, v in out["history"]]
    assert steps == [0, 1, 2, 3, 4]
    assert values[:3] == [0.5, 0.25, "nan"]
    assert values[3] in ("inf", sys.float_info.max)
    assert values[4] in ("-inf", -sys.float_info.max)
    assert out["async"] == [[i, float(i)] for i in range(20)]
    assert out["async_batch"] == [[7, 1.5]]
    assert out["children"] != [] and out["children"] == [out["children"][0]]
    child = out["children"][0]
    assert out["deleted"] == ["deleted", [parent], [child]]
    assert out["restored"] == "active"
    assert out["unknown_run"] == "RESOURCE_DOES_NOT_EXIST"


DATASETS = (
    PRELUDE
    + """
import pandas as pd
import mlflow.data
name = sys.argv[1]
mlflow.set_experiment(name)
df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
ds = mlflow.data.from_pandas(df, source="file:///data/train.csv", name="train", targets="y")
with mlflow.start_run() as run:
    mlflow.log_input(ds, context="training")
got = c.get_run(run.info.run_id).inputs.dataset_inputs
d = got[0].dataset
print(json.dumps({
    "run_id": run.info.run_id,
    "count": len(got),
    "dataset": [d.name, d.digest, d.source_type, json.loads(d.source), json.loads(d.schema), json.loads(d.profile)],
    "expected": [ds.name, ds.digest],
    "tags": {t.key: t.value for t in got[0].tags},
}))
"""
)


def test_log_input_from_pandas(mlflow_client: Any) -> None:
    out = mlflow_client(DATASETS, unique("data"))
    assert out["count"] == 1
    name, digest, source_type, source, schema, profile = out["dataset"]
    assert [name, digest] == out["expected"] and name == "train" and len(digest) >= 8
    assert source_type == "local" and source == {"uri": "file:///data/train.csv"}
    columns = {c["name"]: c["type"] for c in schema["mlflow_colspec"]}
    assert columns == {"x": "double", "y": "long"}
    assert profile["num_rows"] == 3
    assert out["tags"] == {"mlflow.data.context": "training"}
