"""The MLflow side of the registry benchmark, in ``bench/.venv-mlflow`` through MLflow's client.

Usage: ``BENCH_TRACKING_URI=http://127.0.0.1:P python registry_mlflow.py WORKLOAD '<json>'``.
Each workload does the same logical work as its namesake in ``registry_clew.py``.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import _common as c

warnings.filterwarnings("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

SOURCE = "s3://bench-bucket/models/model"


def _client(uri: str) -> MlflowClient:
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


def registry_ops(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Per repeat, on a fresh model: ``n`` versions created, ``n`` alias moves, ``searches``
    version searches (top 100 of the model's versions)."""
    client = _client(uri)
    samples = []
    for rep in range(p["repeat"]):
        name = f"bench-reg-{rep}"
        client.create_registered_model(name)
        t0 = c.now()
        for _ in range(p["n"]):
            client.create_model_version(name, SOURCE)
        create_s = c.now() - t0
        t0 = c.now()
        for i in range(p["n"]):
            client.set_registered_model_alias(name, "champion", str(i % p["n"] + 1))
        alias_s = c.now() - t0
        t0 = c.now()
        for _ in range(p["searches"]):
            found = client.search_model_versions(f"name = '{name}'", max_results=100)
        search_s = c.now() - t0
        assert len(found) == min(100, p["n"]), len(found)
        samples.append(
            {
                "versions_per_s": p["n"] / create_s,
                "alias_moves_per_s": p["n"] / alias_s,
                "searches_per_s": p["searches"] / search_s,
            }
        )
    return {"samples": samples, "version": mlflow.__version__}


def load(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Log a small scikit-learn model, register it, alias it, then time ``n`` loads of
    ``models:/name@champion`` plus one prediction each (MLflow downloads every time)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    client = _client(uri)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    mlflow.set_experiment("bench-load")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", input_example=x[:3])
    version = mlflow.register_model(info.model_uri, "bench-load")
    client.set_registered_model_alias("bench-load", "champion", version.version)
    times = []
    for _ in range(p["n"]):
        t0 = c.now()
        loaded = mlflow.pyfunc.load_model("models:/bench-load@champion")
        loaded.predict(x[:5])
        times.append(c.now() - t0)
    return {"samples": [{"load_s": t} for t in times], "first_s": times[0]}


if __name__ == "__main__":
    c.main({"registry_ops": registry_ops, "load": load})
