"""How long the web UI's lineage explorer takes to lay out a graph of about 2,000 nodes.

Issue 7's figure: "a lineage graph of 2,000 nodes lays out in under 2 s", in headless Chromium.

    .venv/bin/python bench/ui_lineage_graph.py [--fan 500] [--repeat 5]

**The graph** is real Clew lineage: a pipeline run (tracked into a fresh local home) with a
fan-out of ``--fan`` iterations of two chained steps, ``source → ParallelFor(double → halve) →
total(collect)``. Each iteration adds four nodes (two step runs, two step outputs), so
``--fan 500`` gives about 2,000 nodes and 2,500 edges, walked upstream from ``total``.

**The measure.** A ``clew server`` on that home (no auth), Debian's Chromium through Playwright
(never a downloaded browser, the flags of tests/ui/conftest.py), a fresh browser context per
repeat, ``/lineage?run=<total>&direction=upstream&depth=10&max_nodes=5000`` opened cold. The
page sets ``performance.mark("clew:lineage-laid-out")`` in the first frame after the laid-out
graph is on screen; the figure is that mark's time from navigation start, so it includes
loading the app, the walk (GET /api/v1/lineage), the dagre layout (in a Web Worker at this
size) and the first render. The layout alone and the walk alone are printed beside it.
Medians of ``--repeat`` runs.

**Peer.** Kubeflow Pipelines' UI has nothing comparable to time: its run page draws one run's
DAG, and its Lineage Explorer (an artifact's page, over ML Metadata) shows one layer around one
artifact; a multi-layer lineage graph is an open feature request (kubeflow/pipelines#8684). The
same page is timed at a 1-node graph instead, for the ratio: what 2,000 nodes cost over the
app's fixed start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CLEW_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
MARK = "clew:lineage-laid-out"


# ---- the pipeline that makes the graph (imported by the fill, which runs in the home) ---------

from clew.pipelines import ParallelFor, collect, pipeline, step  # noqa: E402


@step
def source() -> int:
    return 3


@step
def double(x: int, i: int) -> int:
    return x * 2 + i


@step
def halve(y: int) -> int:
    return y // 2


@step
def total(values: list[int]) -> int:
    return sum(values)


@pipeline(name="ui-lineage-bench")
def fan(items: list[int]) -> int:
    start = source()
    with ParallelFor(items, parallelism=4) as i:
        half = halve(double(start, i))
    return total(collect(half))


def fill(fan_out: int) -> None:
    """Runs in the home's environment (CLEW_HOME set): one pipeline run, uncached."""
    from clew.client.client import Client
    from clew.pipelines import run

    with Client() as client:
        result = run(fan, {"items": list(range(fan_out))}, client=client, cache=False)
    print(result.state.value, file=sys.stderr)


# ---- the measurement ------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_")}
    env["CLEW_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "clew.server.main", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError("the server did not start")


def find_run(url: str, step_name: str) -> str:
    body = {"filter": f"tags.\"clew.pipeline.step\" = '{step_name}'", "max_results": 1}
    found = httpx.post(url + "/api/v1/runs/search", json=body, timeout=30).json()["runs"]
    return str(found[0]["info"]["run_id"])


def open_once(browser: Any, url: str, path: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(url + path)
        page.wait_for_function(
            "(mark) => performance.getEntriesByName(mark).length > 0", arg=MARK, timeout=120_000
        )
        timing = page.evaluate(
            """(mark) => {
              const laid = performance.getEntriesByName(mark)[0].startTime;
              const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? 0;
              const walk = performance.getEntriesByType('resource')
                .filter((e) => e.name.includes('/api/v1/lineage'))[0];
              const frame = document.querySelector('.lineage-frame');
              return { total: laid, walk: walk ? walk.duration : 0,
                       walked: at('clew:lineage-walked'), placed: at('clew:lineage-layout-done'),
                       layout: Number(frame.dataset.layoutMs), nodes: Number(frame.dataset.nodes),
                       worker: frame.dataset.layoutWhere === 'worker' ? 1 : 0 };
            }""",
            MARK,
        )
        return {k: float(v) for k, v in timing.items()}
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fan", type=int, default=500, help="Iterations (4 nodes each).")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--home", type=Path, help="Keep the filled home here (reused if filled).")
    args = parser.parse_args()
    if not (REPO / "src/clew/server/ui_dist/index.html").is_file():
        raise SystemExit("Build the UI first: npm --prefix ui ci && npm --prefix ui run build")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="clew-ui-bench-") as tmp:
        home = args.home or Path(tmp) / "home"
        if not (home / "clew.db").exists():
            env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_")}
            env["CLEW_HOME"] = str(home)
            started = time.perf_counter()
            code = (
                f"import sys; sys.path.insert(0, {str(REPO / 'bench')!r}); "
                f"import ui_lineage_graph as b; b.fill({args.fan})"
            )
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            took = time.perf_counter() - started
            print(f"filled the home with a {args.fan}-wide fan-out in {took:.0f} s")
        proc, url = start_server(home)
        try:
            big = (
                f"/lineage?run={find_run(url, 'total')}&direction=upstream&depth=10&max_nodes=5000"
            )
            small = f"/lineage?run={find_run(url, 'source')}&direction=upstream&depth=1"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                open_once(browser, url, big)  # warm the server's caches and the disk
                rows: dict[str, list[dict[str, float]]] = {"big": [], "small": []}
                for _ in range(args.repeat):
                    rows["big"].append(open_once(browser, url, big))
                    rows["small"].append(open_once(browser, url, small))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=15)

    def med(case: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[case])

    nodes = int(med("big", "nodes"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nlineage explorer, headless Chromium, median of {args.repeat} (load average {load}):")
    for case in ("big", "small"):
        print(
            f"  {int(med(case, 'nodes')):>5} nodes: navigation → laid out on screen "
            f"{med(case, 'total'):7.0f} ms (walk {med(case, 'walk'):5.0f} ms, dagre layout "
            f"{med(case, 'layout'):6.0f} ms {'in a worker' if med(case, 'worker') else 'on the page'})"
        )
        print(
            f"         milestones: walk answered at {med(case, 'walked'):5.0f} ms, layout back at "
            f"{med(case, 'placed'):5.0f} ms, on screen at {med(case, 'total'):5.0f} ms"
        )
    print(
        f"  {nodes} nodes over a {int(med('small', 'nodes'))}-node graph: "
        f"{med('big', 'total') / med('small', 'total'):.2f}x; target < 2000 ms: "
        f"{'met' if med('big', 'total') < 2000 else 'NOT met'}"
    )
    print("  Kubeflow Pipelines: its Lineage Explorer shows one layer; nothing comparable to time")


if __name__ == "__main__":
    main()
