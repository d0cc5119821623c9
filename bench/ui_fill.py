"""Fill a Clew home and an MLflow backend with the same runs, for the run-table benchmark
(``ui_run_table.py``, issue 7).

Both get one experiment, ``ui-bench``, holding ``--runs`` finished runs (100,000 by default),
each with 4 params, 3 metrics (one point each: the history and the latest value) and 3 tags,
the same ids, names, times and values on both sides (a seeded generator, standard library only,
that both sides run). Logging 100,000 runs through either client takes long, so each side writes
its rows in bulk into its own tables, after its own code made the database and the experiment:

- Clew: ``clew.Client`` (local) makes the home (migrated) and the experiment; the runs go in
  as the tracking store shapes them (``executions``, ``execution_params``, ``execution_tags``,
  ``metrics``, ``latest_metrics``) in 20,000-row inserts, as ``search_at_scale.py`` seeds.
- MLflow: its ``SqlAlchemyStore`` makes the database (MLflow's migrations) and the experiment;
  the runs go into its ``runs``, ``params``, ``tags``, ``metrics`` and ``latest_metrics``
  tables through its own SQLAlchemy models' tables, with the ``mlflow.runName`` and
  ``mlflow.user`` tags its clients set. This half runs in MLflow's virtualenv
  (``bench/.venv-mlflow``, made by ``tracking_vs_mlflow.py``): this file is also that script.

    .venv/bin/python bench/ui_fill.py --out /tmp/ui-bench [--runs 100000]

writes ``<out>/clew`` (a Clew home), ``<out>/mlflow.db`` with ``<out>/mlartifacts``, and
``<out>/manifest.json`` (the experiment ids on each side, the run count, the metric names).
Audit events are not written for the bulk rows: the benchmark reads runs, not the log.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXPERIMENT = "ui-bench"
METRICS = ("acc", "loss", "f1")
START_MS = 1_750_000_000_000
CHUNK = 20_000


def runs(count: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """The benchmark's runs, the same on every call: id, name, times, params, metrics, tags."""
    rng = random.Random(seed)
    for i in range(count):
        start = START_MS + i * 1_000
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "name": f"run-{i:06d}",
            "start": start,
            "end": start + rng.randint(1_000, 600_000),
            "params": {
                "lr": rng.choice(["0.1", "0.01", "0.001", "0.0001"]),
                "batch_size": str(rng.choice([16, 32, 64, 128])),
                "optimizer": rng.choice(["adam", "sgd", "adamw"]),
                "depth": str(rng.randint(2, 12)),
            },
            "metrics": {name: rng.random() for name in METRICS},
            "tags": {
                "team": rng.choice(["vision", "nlp", "tabular"]),
                "model_family": rng.choice(["forest", "boosting", "linear", "mlp"]),
                "dataset": f"ds-{rng.randint(1, 20)}",
            },
        }


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i : i + CHUNK]


# ---- Clew ----------------------------------------------------------------------------------------


def fill_clew(home: Path, count: int) -> str:
    """The runs into a new Clew home; answers the experiment's id."""
    from sqlalchemy import insert

    from clew.client.client import Client
    from clew.core import schema
    from clew.core.db import Database
    from clew.core.settings import Settings

    settings = Settings(home=home)
    with Client(str(home)) as client:
        experiment_id = client.create_experiment(EXPERIMENT)
    executions, params, tags, metrics = [], [], [], []
    for run in runs(count):
        rid = run["id"]
        executions.append({
            "id": rid, "type": "run", "context_id": int(experiment_id), "name": run["name"],
            "status": "FINISHED", "user_id": "bench", "start_time": run["start"],
            "end_time": run["end"], "lifecycle_stage": "active", "deleted_at": None,
            "parent_id": None, "artifact_uri": f"clew-artifacts:/runs/{rid}",
        })  # fmt: skip
        params += [{"execution_id": rid, "key": k, "value": v} for k, v in run["params"].items()]
        tags += [{"execution_id": rid, "key": k, "value": v} for k, v in run["tags"].items()]
        tags.append({"execution_id": rid, "key": "mlflow.user", "value": "bench"})
        metrics += [{"execution_id": rid, "key": k, "step": 0, "timestamp": run["end"],
                     "value": v, "is_nan": False} for k, v in run["metrics"].items()]  # fmt: skip
    db = Database(settings.resolved_database_url(), settings)
    try:
        with db.write() as conn:
            for table, rows in ((schema.executions, executions), (schema.execution_params, params),
                                (schema.execution_tags, tags), (schema.metrics, metrics),
                                (schema.latest_metrics, metrics)):  # fmt: skip
                for chunk in _chunks(rows):
                    conn.execute(insert(table), chunk)
    finally:
        db.dispose()
    return str(experiment_id)


# ---- MLflow (runs in MLflow's virtualenv) --------------------------------------------------------


def fill_mlflow(db_path: Path, artifacts: Path, count: int) -> str:
    from mlflow.entities import ExperimentTag
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{db_path}", artifacts.as_uri())
    # the tag MLflow's UI sets when one picks a "model training" experiment: its run table
    tags = [ExperimentTag("mlflow.experimentKind", "custom_model_development")]
    experiment_id = store.create_experiment(EXPERIMENT, tags=tags)
    location = store.get_experiment(experiment_id).artifact_location
    run_rows, params, tags, metrics = [], [], [], []
    for run in runs(count):
        rid = run["id"]
        run_rows.append({
            "run_uuid": rid, "name": run["name"], "source_type": "LOCAL", "source_name": "",
            "entry_point_name": "", "user_id": "bench", "status": "FINISHED",
            "start_time": run["start"], "end_time": run["end"], "deleted_time": None,
            "source_version": "", "lifecycle_stage": "active",
            "artifact_uri": f"{location}/{rid}/artifacts", "experiment_id": int(experiment_id),
        })  # fmt: skip
        params += [{"run_uuid": rid, "key": k, "value": v} for k, v in run["params"].items()]
        tags += [{"run_uuid": rid, "key": k, "value": v} for k, v in run["tags"].items()]
        tags += [{"run_uuid": rid, "key": "mlflow.runName", "value": run["name"]},
                 {"run_uuid": rid, "key": "mlflow.user", "value": "bench"}]  # fmt: skip
        metrics += [{"run_uuid": rid, "key": k, "step": 0, "timestamp": run["end"], "value": v,
                     "is_nan": False} for k, v in run["metrics"].items()]  # fmt: skip
    with store.engine.begin() as conn:
        for model, rows in ((SqlRun, run_rows), (SqlParam, params), (SqlTag, tags),
                            (SqlMetric, metrics), (SqlLatestMetric, metrics)):  # fmt: skip
            for chunk in _chunks(rows):
                conn.execute(model.__table__.insert(), chunk)
    store.engine.dispose()
    return str(experiment_id)


def mlflow_python() -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tracking_vs_mlflow import ensure_mlflow_venv

    return ensure_mlflow_venv("sqlite")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a new folder for both stores")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument(
        "--side", choices=["both", "mlflow"], default="both", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if args.side == "mlflow":  # the MLflow half, in MLflow's venv: prints the experiment id
        print(fill_mlflow(out / "mlflow.db", out / "mlartifacts", args.runs))
        return 0
    if (out / "manifest.json").exists():
        sys.exit(f"{out} holds a filled benchmark already: give a new --out")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    clew_id = fill_clew(out / "clew", args.runs)
    clew_s = time.monotonic() - t0
    t0 = time.monotonic()
    made = subprocess.run([str(mlflow_python()), __file__, "--side", "mlflow", "--out", str(out),
                           "--runs", str(args.runs)], check=True, capture_output=True,
                          text=True)  # fmt: skip
    mlflow_id = made.stdout.strip().splitlines()[-1]
    mlflow_s = time.monotonic() - t0
    manifest = {"runs": args.runs, "metrics": list(METRICS), "experiment": EXPERIMENT,
                "clew_experiment_id": clew_id, "mlflow_experiment_id": mlflow_id}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(f"filled {args.runs:,} runs: Clew in {clew_s:.0f} s (experiment {clew_id}), "
          f"MLflow in {mlflow_s:.0f} s (experiment {mlflow_id}); {out / 'manifest.json'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
