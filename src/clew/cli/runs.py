"""``clew runs …``: list, show, search, delete and restore runs."""

from __future__ import annotations

from typing import Annotated

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, table, when
from clew.client.client import Client
from clew.core.errors import NotFound
from clew.tracking.model import Experiment, Page, Run, ViewType

app = typer.Typer(
    help="Runs: params, metrics, tags, datasets and artifacts of one execution.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ExperimentOpt = Annotated[
    list[str] | None,
    typer.Option("--experiment", "-e", help="Experiment id or name; repeatable. Default: all."),
]


def _experiment_ids(c: Client, experiments: list[str] | None) -> list[str] | None:
    if not experiments:
        return None
    return [e if e.isdigit() else _by_name(c, e).experiment_id for e in experiments]


def _by_name(c: Client, name: str) -> Experiment:
    found = c.get_experiment_by_name(name)
    if found is None:
        raise NotFound(f"Experiment {name!r} does not exist")
    return found


def _duration(run: Run) -> str:
    if run.info.end_time is None:
        return ""
    return f"{(run.info.end_time - run.info.start_time) / 1000:.1f}s"


def _render_runs(page: Page[Run], title: str, columns: list[str]) -> None:
    extra = columns or _default_columns(page.items)
    table(
        title,
        ["run id", "name", "status", "started", "duration", *extra],
        (
            (
                r.info.run_id,
                r.info.run_name,
                r.info.status,
                when(r.info.start_time),
                _duration(r),
                *(_column(r, c) for c in extra),
            )
            for r in page
        ),
        styles={"run id": "cyan"},
    )
    if page.next_page_token:
        console.print(f"[dim]More runs: --page-token {page.next_page_token}[/dim]")


def _default_columns(runs: list[Run], most: int = 4) -> list[str]:
    """The metrics most runs on the page share, so a plain listing shows something useful."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.data.metrics:
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))[:most]
    return [f"metrics.{k}" for k in ranked]


def _column(run: Run, column: str) -> str:
    entity, _, key = column.partition(".")
    if entity in ("metrics", "metric"):
        m = run.data.metrics.get(key)
        return "" if m is None else f"{m.value:.6g}"
    if entity in ("params", "param"):
        return run.data.params.get(key, "")
    if entity in ("tags", "tag"):
        return run.data.tags.get(key, "")
    return str(getattr(run.info, key, ""))


@app.command("list")
def list_(
    ctx: typer.Context,
    experiment: ExperimentOpt = None,
    max_results: Annotated[int, typer.Option(help="How many runs.")] = 50,
    view: Annotated[ViewType, typer.Option(help="Which lifecycle stages.")] = ViewType.ACTIVE_ONLY,
    as_json: JsonOpt = False,
) -> None:
    """The most recent runs, newest first."""
    c = client(ctx)
    page = c.search_runs(
        experiment_ids=_experiment_ids(c, experiment), max_results=max_results, run_view_type=view
    )
    emit(as_json, _page_json(page), lambda: _render_runs(page, "Runs", []))


@app.command()
def search(
    ctx: typer.Context,
    filter_string: Annotated[
        str,
        typer.Option(
            "--filter",
            "-f",
            help="MLflow's grammar plus OR and parentheses, e.g. "
            "\"metrics.acc > 0.9 AND (params.model = 'rf' OR tags.team = 'ml')\"",
        ),
    ] = "",
    experiment: ExperimentOpt = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc DESC'; repeatable."),
    ] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="Extra column, e.g. params.lr.")
    ] = None,
    max_results: Annotated[int, typer.Option(help="Page size.")] = 100,
    page_token: Annotated[str | None, typer.Option(help="Continue from a previous page.")] = None,
    view: Annotated[ViewType, typer.Option(help="Which lifecycle stages.")] = ViewType.ACTIVE_ONLY,
    as_json: JsonOpt = False,
) -> None:
    """Search runs across experiments with a filter and an order."""
    c = client(ctx)
    page = c.search_runs(
        experiment_ids=_experiment_ids(c, experiment),
        filter_string=filter_string,
        order_by=order_by or (),
        max_results=max_results,
        page_token=page_token,
        run_view_type=view,
    )
    emit(as_json, _page_json(page), lambda: _render_runs(page, "Runs", column or []))


@app.command()
def show(ctx: typer.Context, run_id: str, as_json: JsonOpt = False) -> None:
    """Everything about one run: info, params, latest metrics, tags, datasets, artifacts."""
    c = client(ctx)
    run = c.get_run(run_id)
    files = c.list_artifacts(run_id)
    if as_json:
        emit(True, run.to_dict() | {"artifacts": [f.to_dict() for f in files]}, lambda: None)
        return
    i = run.info
    console.print(f"[bold]{i.run_name}[/bold]  [cyan]{i.run_id}[/cyan]")
    console.print(
        f"experiment {i.experiment_id} · {i.status} · started {when(i.start_time)}"
        + (f" · ended {when(i.end_time)}" if i.end_time else "")
        + (f" · parent {i.parent_run_id}" if i.parent_run_id else "")
        + (" · [red]deleted[/red]" if i.lifecycle_stage == "deleted" else "")
    )
    if run.data.params:
        table("Params", ["key", "value"], sorted(run.data.params.items()))
    if run.data.metrics:
        table(
            "Metrics (latest)",
            ["key", "value", "step", "time"],
            (
                (m.key, f"{m.value:.6g}", m.step, when(m.timestamp))
                for m in sorted(run.data.metrics.values(), key=lambda m: m.key)
            ),
        )
    tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    if tags:
        table("Tags", ["key", "value"], sorted(tags.items()))
    if run.inputs:
        table(
            "Datasets",
            ["name", "digest", "context", "source"],
            ((d.dataset.name, d.dataset.digest, d.context, d.dataset.source) for d in run.inputs),
        )
    if files:
        table(
            "Artifacts",
            ["path", "size", "digest"],
            (
                (f.path + ("/" if f.is_dir else ""), f.size or "", (f.digest or "")[:12])
                for f in files
            ),
        )


@app.command()
def delete(ctx: typer.Context, run_ids: list[str]) -> None:
    """Soft-delete runs; restore brings them back."""
    c = client(ctx)
    for run_id in run_ids:
        c.delete_run(run_id)
        console.print(f"Deleted run {run_id}")


@app.command()
def restore(ctx: typer.Context, run_ids: list[str]) -> None:
    """Restore soft-deleted runs."""
    c = client(ctx)
    for run_id in run_ids:
        c.restore_run(run_id)
        console.print(f"Restored run {run_id}")


def _page_json(page: Page[Run]) -> dict[str, object]:
    return {"runs": [r.to_dict() for r in page], "next_page_token": page.next_page_token}
