"""Issue 7's figure: a compare chart of 10 runs x 10,000 steps renders in under 1 s.

Usage::

    .venv/bin/python bench/ui_compare_chart.py [--runs 10] [--steps 10000] [--metrics 2]
                                               [--repeat 7] [--no-mlflow]

It fills a fresh Clew home with ``--runs`` runs of ``--steps`` steps of ``--metrics`` metrics
(``Client.log_batch``), starts ``clew server`` (no auth) with the built UI, and opens
``/compare?runs=...`` in Debian's Chromium through Playwright, a fresh browser context (empty
cache) per repeat. The time is from navigation start to the page's
``performance.mark("clew:chart-rendered")``, which the compare page sets once every chart has
drawn all its series (the data downsampled on the server by ``/metrics/history-bulk``).

With MLflow 3.x in ``bench/.venv-mlflow`` (``tracking_vs_mlflow.py`` installs it) it fills an
``mlflow server`` with the same points and times MLflow's UI the same way: its compare page
(``#/compare-runs?runs=[...]&experiments=[...]``) draws no metric history, so the MLflow page
timed is the one that does, the experiment's chart view of the same runs
(``#/experiments/<id>/runs?compareRunsMode=CHART``), until each metric's Plotly chart holds a
drawn line (``.scatterlayer .js-line``) for every run. It prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "src"))

from tracking_vs_mlflow import MLFLOW_VENV, Server, console, free_port  # noqa: E402

CHROMIUM = os.environ.get("CLEW_TEST_CHROMIUM", "/usr/bin/chromium")
#: The flags tests/ui/conftest.py gives Chromium on a sandboxed, offline machine.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RENDERED = "clew:chart-rendered"
T0 = 1_780_000_000_000  # ms: the first point's timestamp; a point every 100 ms


def value(run: int, metric: int, step: int) -> float:
    """A noisy decaying curve, different per run and metric, the same on both sides."""
    decay = math.exp(-step / (2000 + 300 * run))
    wobble = 0.05 * math.sin(step * (0.37 + 0.01 * metric) + run)
    return (1 + 0.1 * run + metric) * decay + wobble + 0.01 * run


def fill_clew(home: Path, runs: int, steps: int, metrics: int) -> list[str]:
    from clew.client.client import Client
    from clew.tracking.model import Metric

    os.environ["CLEW_HOME"] = str(home)
    ids = []
    with Client() as client:
        experiment = client.create_experiment("ui-compare-bench")
        for r in range(runs):
            run_id = client.create_run(experiment, run_name=f"run-{r}").info.run_id
            points = [
                Metric(f"metric_{m}", value(r, m, s), T0 + s * 100, s)
                for m in range(metrics)
                for s in range(steps)
            ]
            for i in range(0, len(points), 10_000):
                client.log_batch(run_id, metrics=points[i : i + 10_000])
            client.set_terminated(run_id)
            ids.append(run_id)
    del os.environ["CLEW_HOME"]
    return ids


MLFLOW_FILL = """
import json, math, sys
from mlflow import MlflowClient
from mlflow.entities import Metric
uri, runs, steps, metrics, t0 = sys.argv[1], *map(int, sys.argv[2:6])
exec(sys.argv[6])  # value(), the same function as the Clew side's
client = MlflowClient(uri)
experiment = client.create_experiment("ui-compare-bench")
ids = []
for r in range(runs):
    run_id = client.create_run(experiment, run_name=f"run-{r}").info.run_id
    points = [Metric(f"metric_{m}", value(r, m, s), t0 + s * 100, s)
              for m in range(metrics) for s in range(steps)]
    for i in range(0, len(points), 1000):  # MLflow's log_batch takes 1,000 metrics at most
        client.log_batch(run_id, metrics=points[i:i + 1000])
    client.set_terminated(run_id)
    ids.append(run_id)
print(json.dumps({"experiment": experiment, "runs": ids}))
"""


def fill_mlflow(python: Path, url: str, runs: int, steps: int, metrics: int) -> dict[str, Any]:
    import inspect

    source = textwrap.dedent(inspect.getsource(value))
    done = subprocess.run(
        [str(python), "-c", MLFLOW_FILL, url, str(runs), str(steps), str(metrics), str(T0), source],
        check=True,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLEW_"))},
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def time_clew(browser: Any, url: str, expect_charts: int) -> tuple[float, float, float]:
    """Milliseconds from navigation start to the page's rendered mark, in a fresh context; and
    when the series request started and when its answer had arrived (where the time goes)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_function(
            f"() => performance.getEntriesByName({RENDERED!r}).length > 0", timeout=60_000
        )
        drawn = page.locator(".metric-chart canvas").count()
        if drawn != expect_charts or errors:
            raise RuntimeError(f"{drawn} charts drawn, {expect_charts} expected; errors: {errors}")
        mark, start, end = page.evaluate(f"""() => {{
            const bulk = performance.getEntriesByType('resource')
                .filter(e => e.name.includes('/metrics/history-bulk'));
            return [performance.getEntriesByName({RENDERED!r})[0].startTime,
                    Math.min(...bulk.map(e => e.startTime)), Math.max(...bulk.map(e => e.responseEnd))];
        }}""")
        return float(mark), float(start), float(end)
    finally:
        context.close()


#: On MLflow's page: true once every metric's chart holds a drawn line for every run (MLflow
#: draws each run's line twice, one for hovering, so distinct paths are counted).
MLFLOW_WAIT = """([charts, runs]) => {
  const cards = [...document.querySelectorAll('.js-plotly-plot')];
  if (cards.length < charts) return false;
  return cards.slice(0, charts).every(card => {
    const paths = [...card.querySelectorAll('.scatterlayer .js-line')]
      .map(p => p.getAttribute('d') || '').filter(d => d.length > 100);
    return new Set(paths).size >= runs;
  });
}"""


def time_mlflow(browser: Any, url: str, charts: int, runs: int) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(MLFLOW_WAIT, arg=[charts, runs], timeout=120_000, polling=16)
        return float(page.evaluate("() => performance.now()"))
    finally:
        context.close()


def median_of(times: list[float]) -> float:
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    # A SIGTERM ends the servers too (they run in their own process groups).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from playwright.sync_api import sync_playwright

    from clew.server.ui import UI_DIST

    if not (UI_DIST / "index.html").is_file():
        console.print("[red]the UI is not built: make ui (npm --prefix ui run build)")
        return 2
    mlflow_python = MLFLOW_VENV / "bin" / "python"
    want_mlflow = not args.no_mlflow
    if want_mlflow and not mlflow_python.exists():
        console.print(f"MLflow: not timed, {mlflow_python} is missing "
                      "(python bench/tracking_vs_mlflow.py installs it)")  # fmt: skip
        want_mlflow = False

    points = args.runs * args.steps * args.metrics
    print(f"compare chart: {args.runs} runs x {args.steps:,} steps x {args.metrics} metrics "
          f"({points:,} points), median of {args.repeat}, headless Chromium 1280x900")  # fmt: skip
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-ui-compare-") as tmp_name:
        tmp = Path(tmp_name)
        started = time.perf_counter()
        ids = fill_clew(tmp / "clew", args.runs, args.steps, args.metrics)
        console.print(f"[dim]filled Clew in {time.perf_counter() - started:.1f}s[/dim]")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEW_", "MLFLOW_"))}
        env.update(CLEW_HOME=str(tmp / "clew"), PYTHONPATH=str(REPO / "src"))
        port = free_port()
        clew = Server("clew", [sys.executable, "-m", "clew.server.main", "--port", str(port)],
                      env, port, tmp / "clew.log")  # fmt: skip
        servers.append(clew)
        mlflow: Server | None = None
        try:
            clew.start()
            if want_mlflow:
                port = free_port()
                mlflow_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
                mlflow_env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runners
                mlflow = Server("mlflow", [
                    str(mlflow_python.parent / "mlflow"), "server", "--backend-store-uri",
                    f"sqlite:///{tmp / 'mlflow.db'}", "--artifacts-destination",
                    str(tmp / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "1",
                ], mlflow_env, port, tmp / "mlflow.log")  # fmt: skip
                servers.append(mlflow)
                mlflow.start()
                started = time.perf_counter()
                filled = fill_mlflow(mlflow_python, mlflow.url, args.runs, args.steps, args.metrics)
                console.print(f"[dim]filled MLflow in {time.perf_counter() - started:.1f}s[/dim]")

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                clew_url = f"{clew.url}/compare?runs={','.join(ids)}"
                time_clew(browser, clew_url, args.metrics)  # warm the server's caches once
                timed = [time_clew(browser, clew_url, args.metrics) for _ in range(args.repeat)]
                clew_ms = [mark for mark, _, _ in timed]
                clew_median = median_of(clew_ms)
                print(f"Clew   /compare: median {clew_median:7.0f} ms  "
                      f"(runs: {', '.join(f'{t:.0f}' for t in clew_ms)})")  # fmt: skip
                print("  of which: series request sent at "
                      f"{median_of([start for _, start, _ in timed]):.0f} ms, answered in "
                      f"{median_of([end - start for _, start, end in timed]):.0f} ms, drawn "
                      f"{median_of([mark - end for mark, _, end in timed]):.0f} ms later (medians)")  # fmt: skip
                if mlflow is not None:
                    mlflow_url = (f"{mlflow.url}/#/experiments/{filled['experiment']}"
                                  "/runs?compareRunsMode=CHART")  # fmt: skip
                    try:
                        time_mlflow(browser, mlflow_url, args.metrics, args.runs)
                        ml_ms = [
                            time_mlflow(browser, mlflow_url, args.metrics, args.runs)
                            for _ in range(args.repeat)
                        ]
                    except Exception as error:
                        print(f"MLflow: its UI could not be timed: {error}".splitlines()[0])
                    else:
                        ml_median = median_of(ml_ms)
                        print(f"MLflow chart view: median {ml_median:7.0f} ms  "
                              f"(runs: {', '.join(f'{t:.0f}' for t in ml_ms)})")  # fmt: skip
                        print(f"ratio MLflow / Clew: {ml_median / clew_median:.1f}x")
                browser.close()
        finally:
            for server in servers:
                server.stop()
    print("target: under 1,000 ms: " + ("met" if clew_median < 1000 else "NOT met"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
