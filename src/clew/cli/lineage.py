"""``clew lineage show``: what a run, a model version or an artifact came from and led to."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import typer
from rich.tree import Tree

from clew.cli.context import client
from clew.cli.output import console, emit
from clew.lineage.model import LineageGraph, LineageNode, node_key

app = typer.Typer(help="Walk the metadata graph.", no_args_is_help=True)


def _label(node: LineageNode) -> str:
    if node.kind == "run":
        return f"[bold]run[/bold] {node.name or '(unnamed)'} [dim]{node.id} {node.status}[/dim]"
    digest = f" [dim]sha256:{node.digest[:12]}[/dim]" if node.digest else ""
    return f"[cyan]{node.type}[/cyan] {node.name}{digest}"


def lineage_tree(graph: LineageGraph, *, up: bool, title: str) -> Tree:
    """The walk as a tree from its start: from a run, what it read (up) or wrote, then the runs
    on the other side of each; from an artifact, the runs that wrote it (up) or read it, then
    on from those. Each run is shown once (a later meeting says "see above")."""
    nodes = {node_key(n.kind, n.id): n for n in graph.nodes}
    toward, back = ("INPUT", "OUTPUT") if up else ("OUTPUT", "INPUT")
    from_run: dict[str, list[str]] = defaultdict(list)
    to_runs: dict[str, list[str]] = defaultdict(list)
    for e in graph.edges:
        artifact = node_key("artifact", e.artifact)
        if e.type == toward and artifact not in from_run[e.run]:
            from_run[e.run].append(artifact)
        if e.type == back and e.run not in to_runs[artifact]:
            to_runs[artifact].append(e.run)
    tree = Tree(title)
    shown: set[str] = set()

    def across(leaf: Tree, artifact: str, skip: str | None) -> None:
        for other in to_runs.get(artifact, []):
            if other == skip:
                continue
            key = node_key("run", other)
            if other in shown:
                leaf.add(_label(nodes[key]) + " [dim](see above)[/dim]")
                continue
            grow(leaf.add(_label(nodes[key])), other)

    def grow(branch: Tree, run_id: str) -> None:
        shown.add(run_id)
        for artifact in from_run.get(run_id, []):
            across(branch.add(_label(nodes[artifact])), artifact, run_id)

    kind, start = graph.start.split(":", 1)
    if kind == "run":
        grow(tree, start)
        return tree
    across(tree, graph.start, None)
    digest = nodes[graph.start].digest
    for key, node in nodes.items():  # other nodes holding the same bytes, each a start too
        if key != graph.start and node.kind == "artifact" and digest and node.digest == digest:
            across(tree.add(_label(node) + " [dim](same bytes)[/dim]"), key, None)
    return tree


@app.command("show")
def show(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="A run id; a model version (models:/NAME/VERSION or NAME@ALIAS); or an "
            "artifact: sha256:DIGEST, or its URI (runs:/RUN/outputs/NAME for a step output)."
        ),
    ],
    direction: Annotated[
        str, typer.Option("--direction", "-d", help="upstream, downstream or both.")
    ] = "both",
    depth: Annotated[int, typer.Option("--depth", help="Runs to walk away from the start.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the graph as JSON.")] = False,
) -> None:
    """Print what TARGET came from (datasets, the steps and runs that made its inputs) and
    what came of it (outputs, the runs that read them, models and versions)."""
    with client(ctx) as tracking:
        if target.startswith("sha256:") or (":/" in target and not target.startswith("models:/")):
            graph = tracking.get_artifact_lineage(target, direction=direction, depth=depth)
        else:
            run_id = target
            if target.startswith("models:/") or "@" in target:
                uri = target if target.startswith("models:/") else f"models:/{target}"
                run_id = tracking.resolve_model_uri(uri).run_id or ""
            graph = tracking.get_lineage(run_id, direction=direction, depth=depth)

    def human() -> None:
        start = graph.node(graph.start)
        if direction in ("upstream", "both"):
            console.print(lineage_tree(graph, up=True, title=f"upstream of {_label(start)}"))
        if direction in ("downstream", "both"):
            console.print(lineage_tree(graph, up=False, title=f"downstream of {_label(start)}"))
        if graph.truncated:
            console.print("[yellow]the graph was cut at its node limit[/yellow]")

    emit(as_json, graph.to_dict(), human)
