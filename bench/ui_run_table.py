"""The run table at 100,000 runs (issue 7): Clew's web UI and MLflow's, side by side, in
headless Chromium.

Start from a folder ``ui_fill.py`` filled (the same runs in a Clew home and an MLflow
database). This starts a ``clew server`` and an ``mlflow server --workers 1`` on them, opens
Clew's ``/experiments/<id>`` and MLflow's ``#/experiments/<id>/runs`` in Debian's Chromium (driven by
Playwright, never a downloaded browser; the flags of ``tests/ui/conftest.py``) at 1440x900, a
fresh browser context (empty cache) per load, the two sides taking turns, and reports medians:

- time to interactive: from navigation start to the moment a click on the first run row
  reaches the page, the row being visible and the page's main thread free to take it (the
  click is Playwright's, sent as soon as the row is there and stable). Where the page sets
  ``performance.mark('clew:runs-interactive')`` its time is reported too.
- first row visible: navigation start to the first frame showing a run row.
- re-sort by a metric: from the click that asks for the order by ``acc`` to the first frame
  whose first row differs (both sides ask their server for the new order). In Clew that is the
  click on the column's header; in MLflow, whose metric columns start off screen to the right
  at 1440 px, the click on ``acc`` in its Sort menu (opened by an untimed click first).

Times are read in the page (``performance.now()``, one clock per page), so the bench's own
round trips stay out of them. The machine is shared: only the medians and ratios travel.

    .venv/bin/python bench/ui_fill.py --out /tmp/ui-bench
    .venv/bin/python bench/ui_run_table.py --data /tmp/ui-bench [--repeat 5] [--ui-dir DIR]

``--ui-dir`` serves another build of the UI (``CLEW_UI_DIR``, e.g. a branch's). Results go to
``bench/results/<timestamp>-ui-run-table.json`` with a screenshot of each side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from report import git_rev, machine  # noqa: E402
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tracking_vs_mlflow import Server, console, ensure_mlflow_venv, free_port  # noqa: E402

RESULTS = BENCH / "results"
VIEWPORT = {"width": 1440, "height": 900}
METRIC = "acc"
MARK = "clew:runs-interactive"
#: In the page before any of its scripts: when the first click arrived, and a frame loop that
#: notes when ``row`` (a selector) first matches a visible element and when the run in the
#: first row (``key``, a side's function of the row) first differs from ``before``.
PROBE = """
window.__bench = { row: %s, key: %s, click: null, visible: null, before: null, changed: null };
document.addEventListener("click", () => {
  if (window.__bench.click === null) window.__bench.click = performance.now();
}, true);
(function frame() {
  const b = window.__bench;
  const el = document.querySelector(b.row);
  if (el && el.getClientRects().length) {
    if (b.visible === null) b.visible = performance.now();
    if (b.before !== null && b.changed === null && b.key(el) !== b.before)
      b.changed = performance.now();
  }
  requestAnimationFrame(frame);
})();
"""


@dataclass(frozen=True)
class Ui:
    """How to find a side's run table: the page, its first run row, a cell to click, the
    metric's header."""

    key: str
    label: str
    url: Callable[[str], str]
    row: str
    cell: str
    #: A JavaScript function of the first row naming its run (a re-sort shows another run).
    run_of: str
    #: The clicks that sort by the metric, each a list of selectors (the first that matches
    #: is clicked); the time runs from the last click.
    sort: tuple[tuple[str, ...], ...]


CLEW = Ui(
    "clew",
    "Clew",
    lambda eid: f"/experiments/{eid}",
    # the first data row of the table in the page (not a spacer, placeholder or group row)
    row="main table tbody tr:not([aria-hidden='true']):not(.placeholder):not(.group-row):has(td)",
    cell="td:last-child",
    run_of="(row) => (row.querySelector('a') || row).textContent",
    # its column header
    sort=((f"main thead th:has-text('{METRIC}') button", f"main thead th:has-text('{METRIC}')"),),
)
MLFLOW = Ui(
    "mlflow",
    "MLflow",
    lambda eid: f"/#/experiments/{eid}/runs",
    row=".ag-center-cols-container [role='row'][row-index='0']",
    cell="[role='gridcell']:last-child",
    run_of="(row) => row.getAttribute('row-id')",
    # its Sort menu (the metric columns are off screen to the right at 1440 px), then the metric
    sort=(("button:has-text('Sort:')",), (f'text="{METRIC}" >> nth=-1',)),
)


def _wait(page: Any, expression: str, timeout_s: float) -> Any:
    """Poll a value the probe sets (``wait_for_function`` would need eval, which a strict
    CSP refuses)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value is not None:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"{expression} not set within {timeout_s:.0f} s")


def _first(page: Any, selectors: tuple[str, ...]) -> Any:
    for selector in selectors:
        found = page.locator(selector)
        if found.count():
            return found.first
    return page.locator(selectors[-1]).first  # none yet: wait for the last, broadest


def load_once(
    browser: Any,
    ui: Ui,
    base: str,
    eid: str,
    timeout_s: float,
    sort_timeout_s: float | None,
    shot: Path | None,
) -> dict[str, Any]:
    """One fresh load; with ``sort_timeout_s``, then one re-sort (None: no re-sort)."""
    context = browser.new_context(base_url=base, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(PROBE % (json.dumps(ui.row), ui.run_of))
        page.goto(ui.url(eid), wait_until="commit")
        row = page.locator(ui.row).first
        row.locator(ui.cell).first.click(timeout=timeout_s * 1000)
        tti = _wait(page, "window.__bench.click", timeout_s)
        visible = page.evaluate("window.__bench.visible")
        mark = page.evaluate(
            f"(performance.getEntriesByName({MARK!r})[0] || {{}}).startTime ?? null"
        )
        rows = page.locator(ui.row.replace("[row-index='0']", "")).count()
        if sort_timeout_s is None:
            return {"tti_ms": tti, "visible_ms": visible, "mark_ms": mark, "sort_ms": None,
                    "rows_in_dom": rows}  # fmt: skip
        # re-sort by the metric: the frame loop notes the first frame whose first row differs
        first = f"document.querySelector({json.dumps(ui.row)})"
        page.evaluate(f"window.__bench.before = window.__bench.key({first})")
        for step in ui.sort:
            page.evaluate("window.__bench.click = null")
            _first(page, step).click(timeout=timeout_s * 1000)
        clicked = _wait(page, "window.__bench.click", timeout_s)
        try:
            sort_ms = _wait(page, "window.__bench.changed", sort_timeout_s) - clicked
        except TimeoutError:
            sort_ms = None  # still not re-sorted: reported as "more than --sort-timeout"
        if shot is not None:
            page.screenshot(path=str(shot))
            shot = None
        return {"tti_ms": tti, "visible_ms": visible, "mark_ms": mark, "sort_ms": sort_ms,
                "rows_in_dom": rows}  # fmt: skip
    finally:
        if shot is not None:  # it failed: what the page showed
            page.screenshot(path=str(shot))
        context.close()


def start_servers(data: Path, ui_dir: Path | None, keys: list[str]) -> dict[str, Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLEW_"))}
    clew_env = {**env, "CLEW_HOME": str(data / "clew")}
    if ui_dir is not None:
        clew_env["CLEW_UI_DIR"] = str(ui_dir)
    port = free_port()
    clew = Server("clew", [sys.executable, "-m", "clew.server.main", "--host", "127.0.0.1", "--port",
                           str(port)], clew_env, port, data / "clew-server.log")  # fmt: skip
    mlflow_bin = ensure_mlflow_venv("sqlite").parent / "mlflow"
    port = free_port()
    mlflow = Server("mlflow --workers 1", [str(mlflow_bin), "server", "--backend-store-uri",
                    f"sqlite:///{data / 'mlflow.db'}", "--artifacts-destination",
                    str(data / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "1"], env, port, data / "mlflow-server.log")  # fmt: skip
    servers = {key: server for key, server in (("clew", clew), ("mlflow", mlflow)) if key in keys}
    try:
        for server in servers.values():
            server.start()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder ui_fill.py filled")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sides", default="clew,mlflow")
    parser.add_argument("--ui-dir", type=Path, help="serve this UI build (CLEW_UI_DIR)")
    parser.add_argument("--ui-label", default="", help="which run table this is, for the record")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per step")
    parser.add_argument("--sort-timeout", type=float, default=300.0,
                        help="seconds a re-sort may take before it counts as 'more than this'")  # fmt: skip
    args = parser.parse_args(argv)
    data = args.data.resolve()
    manifest = json.loads((data / "manifest.json").read_text())
    sides = [ui for ui in (CLEW, MLFLOW) if ui.key in args.sides.split(",")]
    sync_api = __import__("playwright.sync_api", fromlist=["sync_playwright"])
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    samples: dict[str, list[dict[str, Any]]] = {ui.key: [] for ui in sides}
    sorts: dict[str, list[float | None]] = {ui.key: [] for ui in sides}
    errors: dict[str, str] = {}
    servers = start_servers(data, args.ui_dir, [ui.key for ui in sides])
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for ui in sides:  # one untimed load each: server caches and the OS page cache warm
                try:
                    shot = RESULTS / f"{stamp}-ui-run-table-{ui.key}.png"
                    load_once(browser, ui, servers[ui.key].url, manifest[f"{ui.key}_experiment_id"],
                              args.timeout, None, shot)  # fmt: skip
                except Exception as exc:
                    errors[ui.key] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                    console.print(f"[red]{ui.label}: {errors[ui.key]}[/red]")
            live = [ui for ui in sides if ui.key not in errors]
            for i in range(args.repeat):  # the loads, taking turns
                for ui in live:
                    got = load_once(browser, ui, servers[ui.key].url,
                                    manifest[f"{ui.key}_experiment_id"], args.timeout, None,
                                    None)  # fmt: skip
                    samples[ui.key].append(got)
                    console.print(f"  {ui.label} #{i + 1}: interactive {got['tti_ms']:.0f} ms")
            # The re-sorts last: one the server has not finished within --sort-timeout keeps it
            # busy, which would spoil every later load; so a side stops at its first such.
            for ui in live:
                for i in range(args.repeat):
                    got = load_once(browser, ui, servers[ui.key].url,
                                    manifest[f"{ui.key}_experiment_id"], args.timeout,
                                    args.sort_timeout, RESULTS / f"{stamp}-ui-run-table-{ui.key}-sorted.png")  # fmt: skip
                    sorts[ui.key].append(got["sort_ms"])
                    sort = "timed out" if got["sort_ms"] is None else f"{got['sort_ms']:.0f} ms"
                    console.print(f"  {ui.label} re-sort #{i + 1}: {sort}")
                    if got["sort_ms"] is None:
                        break
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    summary = {key: {m: median([s[m] for s in got if s[m] is not None])
                     for m in ("tti_ms", "visible_ms", "mark_ms")}
               for key, got in samples.items()}  # fmt: skip
    for key, times in sorts.items():
        summary[key]["sort_ms"] = median([t for t in times if t is not None])
    import clew

    package = str(Path(clew.__file__).parent)
    ui_rev = args.ui_label or (str(args.ui_dir) if args.ui_dir else f"the build in {package}")
    record = {"stamp": stamp, "git": git_rev(), "machine": machine(), "runs": manifest["runs"],
              "ui": ui_rev, "clew_package": package, "repeat": args.repeat, "samples": samples,
              "sorts": sorts, "medians": summary,
              "errors": errors}  # fmt: skip
    out = RESULTS / f"{stamp}-ui-run-table.json"
    out.write_text(json.dumps(record, indent=2))
    slow = {key for key, times in sorts.items() if times and times[-1] is None}
    print_table(summary, errors, manifest["runs"], args.repeat, slow, args.sort_timeout)
    console.print(f"[dim]UI measured: {ui_rev}; {out}[/dim]")
    return 0


def print_table(summary: dict[str, dict[str, float | None]], errors: dict[str, str], runs: int,
                repeat: int, slow: set[str], sort_timeout: float) -> None:  # fmt: skip
    """``slow``: the sides whose every re-sort outlasted ``sort_timeout``."""
    for key in slow:
        summary[key]["sort_ms"] = sort_timeout * 1000

    def ms(value: float | None, key: str = "", metric: str = "") -> str:
        if value is None:
            return "—"
        return (
            f"> {sort_timeout:,.0f} s"
            if key in slow and metric == "sort_ms"
            else f"{value:,.0f} ms"
        )

    print(f"\nRun table, {runs:,} runs, headless Chromium 1440x900, median of {repeat}")
    print(f"{'':28} {'Clew':>12} {'MLflow':>12} {'MLflow/Clew':>12}  target (Clew)")
    targets = {"tti_ms": 1500.0, "sort_ms": 300.0}
    names = {"tti_ms": "interactive", "visible_ms": "first row visible",
             "mark_ms": MARK, "sort_ms": f"re-sort by metrics.{METRIC}"}  # fmt: skip
    for metric, name in names.items():
        clew = summary.get("clew", {}).get(metric)
        mlflow = summary.get("mlflow", {}).get(metric)
        ratio = f"{mlflow / clew:.1f}x" if clew and mlflow else "—"
        if metric == "sort_ms" and "mlflow" in slow and clew:
            ratio = f"> {mlflow / clew:.0f}x"
        target = targets.get(metric)
        verdict = "" if target is None or clew is None else ("met" if clew < target else "missed")
        aim = f"< {target:,.0f} ms {verdict}" if target else ""
        cells = f"{ms(clew, 'clew', metric):>12} {ms(mlflow, 'mlflow', metric):>12}"
        print(f"{name:28} {cells} {ratio:>12}  {aim}")
    for key, error in errors.items():
        print(f"{key}: not measured: {error}")


if __name__ == "__main__":
    raise SystemExit(main())
