"""``clew experiments …``: list, create, show, rename, tag, delete and restore experiments."""

from __future__ import annotations

from typing import Annotated

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, table, when
from clew.core.errors import NotFound
from clew.tracking.model import Experiment, ViewType

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _render(experiments: list[Experiment], title: str = "Experiments") -> None:
    table(
        title,
        ["id", "name", "stage", "created", "tags"],
        (
            (
                e.experiment_id,
                e.name,
                e.lifecycle_stage,
                when(e.creation_time),
                ", ".join(f"{k}={v}" for k, v in sorted(e.tags.items())),
            )
            for e in experiments
        ),
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    filter_string: Annotated[
        str, typer.Option("--filter", "-f", help="e.g. \"name LIKE 'churn%' AND tags.team = 'ml'\"")
    ] = "",
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", help="e.g. 'name ASC'")
    ] = None,
    view: Annotated[ViewType, typer.Option(help="Which lifecycle stages to show.")] = (
        ViewType.ACTIVE_ONLY
    ),
    max_results: Annotated[int, typer.Option(help="Page size.")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """List experiments, optionally filtered by name and tags."""
    page = client(ctx).search_experiments(
        filter_string=filter_string,
        order_by=order_by or (),
        view_type=view,
        max_results=max_results,
    )
    emit(as_json, [e.to_dict() for e in page], lambda: _render(page.items))


@app.command()
def create(
    ctx: typer.Context,
    name: str,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE; repeatable.")] = None,
    artifact_location: Annotated[
        str | None, typer.Option(help="Recorded, for MLflow users.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an experiment and print its id."""
    eid = client(ctx).create_experiment(name, artifact_location=artifact_location, tags=_tags(tag))
    emit(as_json, {"experiment_id": eid}, lambda: console.print(eid))


@app.command()
def show(ctx: typer.Context, experiment: str, as_json: JsonOpt = False) -> None:
    """Show one experiment, by id or by name."""
    exp = _lookup(ctx, experiment)
    emit(as_json, exp.to_dict(), lambda: _render([exp], title=f"Experiment {exp.name}"))


@app.command()
def rename(ctx: typer.Context, experiment: str, new_name: str) -> None:
    """Rename an experiment (by id or name)."""
    exp = _lookup(ctx, experiment)
    client(ctx).rename_experiment(exp.experiment_id, new_name)
    console.print(f"Renamed experiment {exp.experiment_id}: {exp.name} → {new_name}")


@app.command("tag")
def tag_(ctx: typer.Context, experiment: str, tags: list[str]) -> None:
    """Set tags on an experiment: clew experiments tag churn team=ml owner=alice."""
    exp = _lookup(ctx, experiment)
    client(ctx).set_experiment_tags(exp.experiment_id, _tags(tags))


@app.command()
def delete(ctx: typer.Context, experiment: str) -> None:
    """Soft-delete an experiment; restore brings it back."""
    exp = _lookup(ctx, experiment)
    client(ctx).delete_experiment(exp.experiment_id)
    console.print(f"Deleted experiment {exp.experiment_id} ({exp.name})")


@app.command()
def restore(ctx: typer.Context, experiment_id: str) -> None:
    """Restore a deleted experiment, by id."""
    client(ctx).restore_experiment(experiment_id)
    console.print(f"Restored experiment {experiment_id}")


def _lookup(ctx: typer.Context, experiment: str) -> Experiment:
    c = client(ctx)
    if experiment.isdigit():
        return c.get_experiment(experiment)
    found = c.get_experiment_by_name(experiment)
    if found is None:
        raise NotFound(f"Experiment {experiment!r} does not exist")
    return found


def _tags(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        out[key] = value
    return out
