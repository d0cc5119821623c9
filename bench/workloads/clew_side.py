"""The Clew side of the benchmark. Runs in Clew's own virtualenv, through Clew's Python client
(``clew.Client`` and the fluent ``clew.*`` API) against a ``clew server`` on loopback.

Usage: ``BENCH_TRACKING_URI=http://127.0.0.1:P python clew_side.py WORKLOAD '<json>'``.
Each workload does the same logical work as its namesake in ``mlflow_side.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _common as c

import clew
from clew import Client
from clew.tracking.model import Metric


def _experiment(client: Client, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    return exp.experiment_id if exp is not None else client.create_experiment(name)


def sync_metric(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = Client(uri)
    eid = _experiment(client, "bench-sync")
    samples = []
    for _ in range(p["repeat"]):
        run_id = client.create_run(eid).info.run_id
        for i in range(10):  # warm the connection pool
            client.log_metric(run_id, "warm", float(i), step=i)
        lat = []
        t0 = c.now()
        for i in range(p["n"]):
            t = c.now()
            client.log_metric(run_id, "m", float(i), step=i)
            lat.append(c.now() - t)
        total = c.now() - t0
        client.set_terminated(run_id)
        samples.append(
            {
                "calls_per_s": p["n"] / total,
                "p50_ms": c.percentile(lat, 0.5) * 1000,
                "p95_ms": c.percentile(lat, 0.95) * 1000,
            }
        )
    return {"samples": samples}


def fluent(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    clew.set_tracking_uri(uri)
    clew.set_experiment("bench-fluent")
    samples = []
    for _ in range(p["repeat"]):
        n = p["n"]
        t0 = c.now()
        with clew.start_run() as run:
            for i in range(n):
                clew.log_metric("m", float(i), step=i)
        total = c.now() - t0  # includes the flush at run end
        got = len(Client(uri).get_metric_history(run.info.run_id, "m").values)
        assert got == n, (got, n)
        samples.append({"points_per_s": n / total, "seconds": total, "points": n})
    return {"samples": samples}


def _log_run(client: Client, eid: str, index: int, terminate: bool = True) -> int:
    """The synthetic run: recorded with its 10 params and 100 points, already FINISHED, in one
    request and one transaction (MLflow's client needs create_run, log_batch, set_terminated)."""
    ts = c.now_ms()
    metrics = [Metric(k, v, t, s) for k, v, t, s in c.run_metrics(index, ts)]
    client.create_run(
        eid,
        run_name=f"run-{index}",
        params=c.run_params(index),
        metrics=metrics,
        status="FINISHED" if terminate else None,
    )
    return len(metrics)


def create_runs(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = Client(uri)
    eid = _experiment(client, p["experiment"])
    samples = []
    start = p.get("start_index", 0)
    for r in range(p["repeat"]):
        base = start + r * p["runs"]
        points = 0
        t0 = c.now()
        for i in range(p["runs"]):
            points += _log_run(client, eid, base + i)
        total = c.now() - t0
        samples.append({"runs_per_s": p["runs"] / total, "points_per_s": points / total})
    return {"samples": samples}


def populate(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Top an experiment up with more synthetic runs from several threads (not a result).

    ``direct_uri`` (a CLEW_HOME or database URL) writes through the in-process local transport
    to the server's own store instead of over HTTP; ``lean`` leaves the runs RUNNING (two
    calls a run instead of three).
    """
    client = Client(p.get("direct_uri") or uri)
    eid = _experiment(client, p["experiment"])
    t0 = c.now()
    with ThreadPoolExecutor(p.get("threads", 4)) as pool:
        indexes = range(p["start"], p["start"] + p["count"])
        list(pool.map(lambda i: _log_run(client, eid, i, not p.get("lean")), indexes))
    return {"samples": [], "seconds": c.now() - t0, "count": p["count"]}


def history(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = Client(uri)
    eid = _experiment(client, "bench-history")
    run_id = client.create_run(eid).info.run_id
    n = p["points"]
    ts = c.now_ms()
    for lo in range(0, n, 1000):  # the same 1000-point batches as the MLflow side
        batch = [Metric("h", float(i), ts + i, i) for i in range(lo, min(n, lo + 1000))]
        client.log_batch(run_id, metrics=batch)
    samples = []
    for _ in range(p["repeat"]):
        t0 = c.now()
        got = client.get_metric_history(run_id, "h")
        total = c.now() - t0
        assert len(got.values) == n, (len(got.values), n)
        samples.append({"seconds": total, "points_per_s": n / total})
        if total > p.get("max_seconds", 1e9):
            break
    return {"samples": samples}


def search(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = Client(uri)
    eid = _experiment(client, p["experiment"])

    def query() -> int:
        page = client.search_runs(
            [eid],
            filter_string=c.SEARCH_FILTER,
            order_by=c.SEARCH_ORDER,
            max_results=c.SEARCH_MAX_RESULTS,
        )
        return len(page.items)

    returned = query()  # warm-up
    samples = []
    for _ in range(p["repeat"]):
        t0 = c.now()
        returned = query()
        samples.append({"seconds": c.now() - t0})
    return {"samples": samples, "returned": returned}


def artifacts(uri: str, p: dict[str, Any]) -> dict[str, Any]:
    client = Client(uri)
    eid = _experiment(client, "bench-artifacts")
    size = p["size_mb"] * 1024 * 1024
    work = tempfile.mkdtemp(prefix="bench-clew-art-", dir=p.get("tmp"))
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
            local = client.download_artifacts(run_id, "blob.bin", dst)
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
