"""Scripts for the real ``mlflow`` 3.x client: fill an MLflow server with a small but complete
history, and read it back for comparison. They run in the compat venv (``MLFLOW3.run``), so
they import nothing from ``tests``; values arrive as argv and leave as one JSON line."""

FILL = r"""
import json, math, os, sys, tempfile
import mlflow, numpy as np, pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

prefix = sys.argv[1]
client = MlflowClient()
out = {}

exp_a = mlflow.create_experiment(prefix + "-train", tags={"team": "risk", "purpose": "import"})
exp_b = mlflow.create_experiment(prefix + "-scratch")
exp_gone = mlflow.create_experiment(prefix + "-gone")
mlflow.set_experiment(experiment_id=exp_a)

df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
dataset = mlflow.data.from_pandas(df, source="s3://bucket/train.csv", name="train", targets="y")

with mlflow.start_run(run_name="parent", tags={"kind": "sweep"}) as parent:
    mlflow.log_params({"lr": "0.01", "depth": 3})
    for step, value in enumerate([1.0, 0.5, float("nan"), 0.25, float("inf"), -float("inf")]):
        mlflow.log_metric("loss", value, step=step, timestamp=1_700_000_000_000 + step)
    mlflow.log_metric("acc", 0.5, step=0, timestamp=1_700_000_000_100)
    mlflow.log_metric("acc", 0.6, step=0, timestamp=1_700_000_000_200)
    mlflow.log_input(dataset, context="training", tags={"split": "train"})
    mlflow.log_text("hello from mlflow\n", "notes/readme.txt")
    mlflow.log_dict({"a": 1, "b": [1, 2]}, "config.json")
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "sub"))
        with open(os.path.join(d, "a.bin"), "wb") as f:
            f.write(bytes(range(256)) * 40)
        with open(os.path.join(d, "sub", "b.txt"), "w") as f:
            f.write("nested\n")
        mlflow.log_artifacts(d, "extra")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("fold", "1")
        mlflow.log_metric("loss", 0.3, step=0)
        mlflow.set_tag("note", "nested run")
    model = LogisticRegression().fit(df[["x"]], df["y"])
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name=prefix + "-clf", params={"C": "1.0"},
        input_example=df[["x"]].head(2),
    )
    mlflow.log_metric("val_acc", 0.75, step=1, model_id=info.model_id)

with mlflow.start_run(run_name="failed") as failed:
    mlflow.log_metric("loss", 9.0)
client.set_terminated(failed.info.run_id, status="FAILED", end_time=1_700_000_900_000)

mlflow.set_experiment(experiment_id=exp_b)
with mlflow.start_run(run_name="deleted") as deleted:
    mlflow.log_param("p", "gone")
client.delete_run(deleted.info.run_id)
with mlflow.start_run(run_name="kept") as kept:
    mlflow.log_metric("m", 1.0)

mlflow.set_experiment(experiment_id=exp_gone)
with mlflow.start_run(run_name="in-deleted-experiment") as lost:
    mlflow.log_metric("m", 2.0)
client.delete_experiment(exp_gone)

name = prefix + "-clf"
client.update_registered_model(name, description="churn classifier")
client.set_registered_model_tag(name, "owner", "risk")
client.update_model_version(name, "1", description="first cut")
client.set_model_version_tag(name, "1", "validated", "true")
client.set_registered_model_alias(name, "champion", "1")
client.transition_model_version_stage(name, "1", "Staging")
v2 = client.create_model_version(
    name, f"runs:/{parent.info.run_id}/extra", run_id=parent.info.run_id,
    tags={"from": "run"}, description="from the run's files",
    run_link="https://ui.example/#/runs/" + parent.info.run_id,
)
client.set_registered_model_alias(name, "candidate", v2.version)
client.transition_model_version_stage(name, v2.version, "Production")

out.update(
    experiments=[exp_a, exp_b, exp_gone], parent=parent.info.run_id, child=child.info.run_id,
    failed=failed.info.run_id, deleted=deleted.info.run_id, kept=kept.info.run_id,
    lost=lost.info.run_id, model=name, model_id=info.model_id,
)
print(json.dumps(out))
"""

#: Everything the MLflow client reads back of the filled experiments and model, with every
#: file's sha256 computed from the bytes the client downloads.
READBACK = r"""
import hashlib, json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType

client = MlflowClient()
experiment_ids, model = json.loads(sys.argv[1]), sys.argv[2]


def files(list_fn, download_fn, path=""):
    out = {}
    for f in list_fn(path):
        if f.is_dir:
            out.update(files(list_fn, download_fn, f.path))
        else:
            with tempfile.TemporaryDirectory() as d:
                local = download_fn(f.path, d)
                data = open(local, "rb").read()
            out[f.path] = [len(data), hashlib.sha256(data).hexdigest()]
    return out


out = {"experiments": {}, "runs": {}, "logged_models": {}}
for eid in experiment_ids:
    e = client.get_experiment(eid)
    out["experiments"][e.name] = {"lifecycle": e.lifecycle_stage, "tags": e.tags}
    for r in client.search_runs([eid], run_view_type=ViewType.ALL):
        rid = r.info.run_id
        out["runs"][rid] = {
            "experiment": e.name,
            "name": r.info.run_name,
            "status": r.info.status,
            "start_time": r.info.start_time,
            "end_time": r.info.end_time,
            "lifecycle": r.info.lifecycle_stage,
            "params": r.data.params,
            "tags": r.data.tags,
            "metrics": {
                k: [[m.step, m.timestamp, repr(m.value)] for m in client.get_metric_history(rid, k)]
                for k in r.data.metrics
            },
            "inputs": sorted(
                [d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                 d.dataset.schema, d.dataset.profile, {t.key: t.value for t in d.tags}]
                for d in r.inputs.dataset_inputs
            ),
            "files": files(
                lambda p, rid=rid: client.list_artifacts(rid, p),
                lambda p, d, rid=rid: client.download_artifacts(rid, p, d),
            ) if r.info.lifecycle_stage == "active" else None,
        }
    for m in client.search_logged_models([eid]):
        uri = m.artifact_location
        out["logged_models"][m.model_id] = {
            "name": m.name, "status": str(m.status), "source_run_id": m.source_run_id,
            "params": m.params, "tags": m.tags,
            "metrics": sorted([x.key, x.step, x.timestamp, repr(x.value)] for x in m.metrics),
            "files": files(
                lambda p, mid=m.model_id: client.list_logged_model_artifacts(mid, p or None),
                lambda p, d, uri=uri: mlflow.artifacts.download_artifacts(artifact_uri=uri + "/" + p, dst_path=d),
            ),
        }
rm = client.get_registered_model(model)
out["model"] = {
    "description": rm.description, "tags": rm.tags, "aliases": rm.aliases,
    "versions": {
        str(v.version): {
            "source": v.source, "run_id": v.run_id, "stage": v.current_stage,
            "description": v.description, "tags": v.tags, "status": v.status,
            "run_link": v.run_link or "",
        }
        for v in client.search_model_versions(f"name='{model}'")
    },
}
print(json.dumps(out))
"""
