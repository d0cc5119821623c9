"""The MLflow side of the benchmark. Runs in ``bench/.venv-mlflow`` with MLflow 3.x, through
MLflow's own Python client against an ``mlflow server`` on loopback.

Usage: ``BENCH_TRACKING_URI=http://127.0.0.1:P python mlflow_side.py WORKLOAD '<json>'``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _common as c

warnings.filterwarnings("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def _client(uri: str) -> MlflowClient:
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


def _experiment(client: MlflowClient, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    return exp.experiment_id if exp is not None else client.create_experiment(name)


def sync_metric(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = _client(uri)
    eid = _experiment(client, "bench-sync")
    samples = []
    for _ in range(p["repeat"]):
        run_id = client.create_run(eid).info.run_id
        for i in range(10):  # warm the connection pool
            client.log_metric(run_id, "warm", float(i), step=i)
        lat = []
        t0, cpu0 = c.now(), c.cpu()
        for i in range(p["n"]):
            t = c.now()
            client.log_metric(run_id, "m", float(i), step=i)
            lat.append(c.now() - t)
        total, cpu = c.now() - t0, c.cpu() - cpu0
        client.set_terminated(run_id)
        samples.append(
            {
                "calls_per_s": p["n"] / total,
                "client_calls_per_s": p["n"] / cpu,
                "p50_ms": c.percentile(lat, 0.5) * 1000,
                "p95_ms": c.percentile(lat, 0.95) * 1000,
            }
        )
    return {"samples": samples, "version": mlflow.__version__}


def fluent(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench-fluent")
    samples = []
    for _ in range(p["repeat"]):
        n = p["n"]
        t0 = c.now()
        with mlflow.start_run():
            for i in range(n):
                mlflow.log_metric("m", float(i), step=i)
        total = c.now() - t0
        samples.append({"points_per_s": n / total, "seconds": total, "points": n})
    return {"samples": samples}


def _log_run(client: MlflowClient, eid: str, index: int) -> int:
    """The synthetic run: create_run, one log_batch (10 params + 100 points), set_terminated."""
    ts = c.now_ms()
    run_id = client.create_run(eid, run_name=f"run-{index}").info.run_id
    metrics = [Metric(k, v, t, s) for k, v, t, s in c.run_metrics(index, ts)]
    params = [Param(k, v) for k, v in c.run_params(index).items()]
    client.log_batch(run_id, metrics=metrics, params=params)
    client.set_terminated(run_id)
    return len(metrics)


def create_runs(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = _client(uri)
    eid = _experiment(client, p["experiment"])
    samples = []
    start = p.get("start_index", 0)
    for r in range(p["repeat"]):
        base = start + r * p["runs"]
        points = 0
        t0, cpu0 = c.now(), c.cpu()
        for i in range(p["runs"]):
            points += _log_run(client, eid, base + i)
        total, cpu = c.now() - t0, c.cpu() - cpu0
        samples.append({"runs_per_s": p["runs"] / total, "points_per_s": points / total,
                        "client_runs_per_s": p["runs"] / cpu})  # fmt: skip
    return {"samples": samples}


def populate(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Top an experiment up with more synthetic runs from several threads (not a result)."""
    client = _client(uri)
    eid = _experiment(client, p["experiment"])
    t0 = c.now()
    with ThreadPoolExecutor(p.get("threads", 4)) as pool:
        indexes = range(p["start"], p["start"] + p["count"])
        list(pool.map(lambda i: _log_run(client, eid, i), indexes))
    return {"samples": [], "seconds": c.now() - t0, "count": p["count"]}


def history(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = _client(uri)
    eid = _experiment(client, "bench-history")
    run_id = client.create_run(eid).info.run_id
    n = p["points"]
    ts = c.now_ms()
    for lo in range(0, n, 1000):  # MLflow's log_batch takes at most 1000 metrics
        batch = [Metric("h", float(i), ts + i, i) for i in range(lo, min(n, lo + 1000))]
        client.log_batch(run_id, metrics=batch)
    samples = []
    for _ in range(p["repeat"]):
        t0, cpu0 = c.now(), c.cpu()
        got = client.get_metric_history(run_id, "h")
        total, cpu = c.now() - t0, c.cpu() - cpu0
        assert len(got) == n, (len(got), n)
        samples.append({"seconds": total, "points_per_s": n / total, "client_seconds": cpu})
        if total > p.get("max_seconds", 1e9):
            break
    return {"samples": samples}


def search(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = _client(uri)
    eid = _experiment(client, p["experiment"])

    def query() -> int:
        runs = client.search_runs(
            [eid],
            filter_string=c.SEARCH_FILTER,
            order_by=c.SEARCH_ORDER,
            max_results=c.SEARCH_MAX_RESULTS,
        )
        return len(runs)

    returned = query()  # warm-up
    samples = []
    for _ in range(p["repeat"]):
        t0, cpu0 = c.now(), c.cpu()
        returned = query()
        samples.append({"seconds": c.now() - t0, "client_seconds": c.cpu() - cpu0})
    return {"samples": samples, "returned": returned}


def artifacts(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = _client(uri)
    eid = _experiment(client, "bench-artifacts")
    size = p["size_mb"] * 1024 * 1024
    work = tempfile.mkdtemp(prefix="bench-mlflow-art-", dir=p.get("tmp"))
    try:
        src = os.path.join(work, "blob.bin")
        c.write_file(src, size)
        samples = []
        for _ in range(p["repeat"]):
            run_id = client.create_run(eid).info.run_id
            rss0 = c.peak_rss_mib()  # after the import and, in a later repeat, a first transfer
            t0 = c.now()
            client.log_artifact(run_id, src)
            up = c.now() - t0
            dst = os.path.join(work, "down")
            t0 = c.now()
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="blob.bin", dst_path=dst, tracking_uri=uri
            )
            down = c.now() - t0
            assert os.path.getsize(local) == size
            shutil.rmtree(dst)
            samples.append(
                {
                    "upload_mib_s": p["size_mb"] / up,
                    "download_mib_s": p["size_mb"] / down,
                    "client_peak_growth_mib": c.peak_rss_mib() - rss0,
                }
            )
        return {"samples": samples, "client_peak_mib": c.peak_rss_mib()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    c.main(
        {
            "sync_metric": sync_metric,
            "fluent": fluent,
            "create_runs": create_runs,
            "populate": populate,
            "history": history,
            "search": search,
            "artifacts": artifacts,
        }
    )
