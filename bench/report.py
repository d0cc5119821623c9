"""The report half of the benchmark: rows from the raw results, targets, the rich table and the
markdown for docs/benchmarks.md. ``tracking_vs_mlflow.py`` runs the workloads; this reads them."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent / "workloads"))
import _common as common

if TYPE_CHECKING:
    from tracking_vs_mlflow import Side, Sizes

REPO = Path(__file__).resolve().parent.parent
console = Console()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    workload: str
    unit: str
    higher_is_better: bool
    values: dict[str, float | None]  # side key -> median
    target: str = ""
    ok: bool | None = None  # None: no target, or not measurable
    note: str = ""
    source: str = ""  # the workload it comes from
    #: The ratio a server answering instantly would reach: MLflow against the client's own
    #: cost alone (its CPU time over the same calls). None when not measured.
    ceiling: float | None = None

    @property
    def speedup(self) -> float | None:
        m, c = self.values.get("mlflow"), self.values.get("clew")
        if m is None or c is None or m != m or c != c or not m or not c:
            return None
        return c / m if self.higher_is_better else m / c


def sample_median(results: dict[str, Any], workload: str, metric: str) -> float | None:
    entry = results.get(workload) or {}
    samples = entry.get("samples") or []
    values = [s[metric] for s in samples if metric in s]
    return median(values) if values else None


def build_rows(sides: list[Side], sizes: Sizes) -> list[Row]:
    by = {s.key: s.results for s in sides}

    def values(workload: str, metric: str) -> dict[str, float | None]:
        return {k: sample_median(r, workload, metric) for k, r in by.items()}

    def ratio_row(
        workload: str,
        metric: str,
        label: str,
        unit: str,
        higher: bool,
        need: float | None,
        note: str = "",
    ) -> Row:
        row = Row(label, unit, higher, values(workload, metric), note=note, source=workload)
        if need is not None:
            row.target = f"≥ {need:g}×"  # noqa: RUF001
            row.ok = None if row.speedup is None else row.speedup >= need
        return row

    def extra(workload: str, key: str) -> dict[str, float | None]:
        return {k: (r.get(workload) or {}).get(key) for k, r in by.items()}

    rows = [
        ratio_row(
            "sync_metric",
            "calls_per_s",
            "sync log_metric, one call at a time",
            "calls/s",
            True,
            None,
        ),
        ratio_row("sync_metric", "p50_ms", "sync log_metric p50 latency", "ms", False, 10),
        ratio_row("sync_metric", "p95_ms", "sync log_metric p95 latency", "ms", False, None),
        ratio_row(
            "fluent",
            "points_per_s",
            "fluent log_metric in a run (incl. flush)",
            "points/s",
            True,
            100,
            note=f"MLflow {sizes.fluent_mlflow:,} synchronous points, "
            f"Clew {sizes.fluent_clew:,} (batched in the background)",
        ),
        ratio_row(
            "create_runs",
            "runs_per_s",
            f"create {sizes.create_runs:,} runs (10 params, 100 points each)",
            "runs/s",
            True,
            20,
            note="MLflow: create_run, log_batch, set_terminated; Clew: one create_run carrying the "
            "params, points and FINISHED status (one transaction); "
            f"MLflow default workers: {max(50, sizes.create_runs // 10):,} runs per repeat",
        ),
        ratio_row("create_runs", "points_per_s", "… metric points written", "points/s", True, None),
        ratio_row(
            "history", "seconds", f"read a {sizes.history:,}-point metric history", "s", False, 20
        ),
    ]
    large = Row(
        f"read a {sizes.history_large:,}-point metric history",
        "s",
        False,
        values("history:large", "seconds"),
        target="Clew < 0.5 s",
        source="history:large",
    )
    clew_large = large.values.get("clew")
    large.ok = None if clew_large is None else clew_large < 0.5
    skipped = (by.get("mlflow", {}).get("history:large") or {}).get("skipped")
    if skipped:
        large.note = f"MLflow skipped: {skipped}"
    rows.append(large)

    search = ratio_row(
        "search",
        "seconds",
        f"search {sizes.search_runs:,} runs (filter, order, top 100)",
        "s",
        False,
        10,
        note=f'filter "{common.SEARCH_FILTER}", order by {common.SEARCH_ORDER[0]}',
    )
    rows.append(search)
    large_runs = (by.get("clew", {}).get("search:large") or {}).get("runs", sizes.search_runs_large)
    big = Row(
        f"search {large_runs:,} runs (Clew only)",
        "s",
        False,
        values("search:large", "seconds"),
        target="Clew < 0.1 s",
        source="search:large",
    )
    clew_big = big.values.get("clew")
    big.ok = None if clew_big is None else clew_big < 0.1
    rows.append(big)

    mb = sizes.artifact_mb
    rows.append(
        ratio_row("artifacts", "upload_mib_s", f"upload a {mb} MB artifact", "MiB/s", True, 3)
    )
    rows.append(
        ratio_row("artifacts", "download_mib_s", f"download a {mb} MB artifact", "MiB/s", True, 3)
    )
    limit = max(8.0, 0.1 * mb)
    for who, key in (("server", "server_peak_growth_mib"), ("client", "client_peak_growth_mib")):
        vals = extra("artifacts", key) if who == "server" else values("artifacts", key)
        row = Row(
            f"{who} peak RSS growth, {mb} MB transfers after a {max(1, mb // 10)} MB one",
            "MiB",
            False,
            vals,
            target=f"Clew < {limit:g} MiB",
            source="artifacts",
        )
        clew_v = vals.get("clew")
        row.ok = None if clew_v is None else clew_v < limit
        rows.append(row)
    for row in rows:
        failed = [k for k, r in by.items() if "error" in (r.get(row.source) or {})]
        if failed:
            row.note = "; ".join([*filter(None, [row.note]), "failed on " + ", ".join(failed)])
    return rows


def fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "—"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    if unit == "ms":
        return f"{value:,.2f} ms"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}"


def verdict(ok: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: ""}[ok]


COLUMNS = ["workload", "MLflow --workers 1", "MLflow default", "Clew", "Clew speedup", "target", ""]


def row_cells(row: Row) -> list[str]:
    speed = row.speedup
    return [
        row.workload,
        fmt(row.values.get("mlflow"), row.unit),
        fmt(row.values.get("mlflow_default"), row.unit),
        fmt(row.values.get("clew"), row.unit),
        "—" if speed is None else f"{speed:,.1f}×",  # noqa: RUF001
        row.target,
        verdict(row.ok),
    ]


def print_table(rows: list[Row], title: str) -> None:
    table = Table(title=title, show_lines=False)
    for col in COLUMNS:
        table.add_column(col, justify="left" if col == "workload" else "right")
    for row in rows:
        cells = row_cells(row)
        style = {"pass": "green", "FAIL": "red"}.get(cells[-1], "")
        cells[-1] = f"[{style}]{cells[-1]}[/{style}]" if style else ""
        table.add_row(*cells)
    out = Console(width=max(Console().width, 150))
    out.print(table)
    for row in rows:
        if row.note:
            out.print(f"  [dim]{row.workload}: {row.note}[/dim]")


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    out = [
        f"Median of {meta['repeat']} · backend `{meta['backend']}` · "
        f"MLflow {meta['mlflow_version']} · Clew {meta['clew_version']} (`{meta['git_rev']}`) · "
        f"{meta['machine']} · "
        f"{meta['started']}",
        "",
        "| " + " | ".join([*COLUMNS[:-1], "result"]) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|",
    ]
    for row in rows:
        cells = row_cells(row)
        cells[-1] = {"pass": "✅ pass", "FAIL": "❌ fail"}.get(cells[-1], "")
        out.append("| " + " | ".join(cells) + " |")
    notes = [f"- {row.workload}: {row.note}" for row in rows if row.note]
    if notes:
        out += ["", *notes]
    out += ["", f"Command: `{meta['command']}`"]
    return "\n".join(out)


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = proc_meminfo_gib()
    return f"{os.cpu_count()} cores ({model or platform.machine()}), {mem:.0f} GiB, shared"


def proc_meminfo_gib() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def git_rev() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
