"""``clew models …``: the model registry from the shell: list, show, versions, aliases,
stages, alias history and blob verification.

``download`` and ``lineage`` join later (see the marked place at the end); they read the same
client methods these commands do.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from clew.cli.context import client
from clew.cli.output import console, emit, err_console, table, when
from clew.core.errors import InvalidInput
from clew.registry.model import ModelVersion, RegisteredModel
from clew.tracking.model import Page

app = typer.Typer(
    help="The model registry: registered models, versions, aliases and stages.",
    no_args_is_help=True,
)
alias_app = typer.Typer(help="Point an alias at a version, or remove it.", no_args_is_help=True)
app.add_typer(alias_app, name="alias")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FilterOpt = Annotated[
    str,
    typer.Option("--filter", "-f", help="e.g. \"name LIKE 'churn%' AND tags.team = 'ml'\""),
]
OrderOpt = Annotated[
    list[str] | None, typer.Option("--order-by", "-o", help="e.g. 'name DESC'; repeatable.")
]
PageOpt = Annotated[str | None, typer.Option(help="Continue from a previous page.")]


def parse_time(text: str) -> int:
    """ISO-8601 (``2026-12-01T14:00``, ``…Z``, ``…+01:00``; local time if no zone) or epoch ms."""
    if text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("--at takes an ISO-8601 time or epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


def _aliases(model: RegisteredModel) -> str:
    return ", ".join(f"{a}→{v}" for a, v in sorted(model.aliases.items()))


def _render_models(page: Page[RegisteredModel]) -> None:
    table(
        "Registered models",
        ["name", "latest", "aliases", "updated", "description"],
        (
            (
                m.name,
                max((v.version for v in m.latest_versions), default=""),
                _aliases(m),
                when(m.last_updated_timestamp),
                m.description.splitlines()[0][:60] if m.description else "",
            )
            for m in page
        ),
        styles={"name": "cyan"},
    )
    if page.next_page_token:
        console.print(f"[dim]More: --page-token {page.next_page_token}[/dim]")


def _render_versions(title: str, versions: list[ModelVersion], token: str | None = None) -> None:
    table(
        title,
        ["name", "version", "stage", "aliases", "status", "run", "created", "source"],
        (
            (
                v.name,
                v.version,
                v.current_stage,
                ", ".join(v.aliases),
                v.status,
                v.run_id or "",
                when(v.creation_timestamp),
                v.source,
            )
            for v in versions
        ),
        styles={"version": "cyan"},
    )
    if token:
        console.print(f"[dim]More: --page-token {token}[/dim]")


@app.command("list")
def list_(
    ctx: typer.Context,
    filter_string: FilterOpt = "",
    order_by: OrderOpt = None,
    max_results: Annotated[int, typer.Option(help="Page size.")] = 100,
    page_token: PageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Registered models, by name unless ordered otherwise."""
    page = client(ctx).search_registered_models(filter_string, max_results, order_by, page_token)
    data = {
        "registered_models": [m.to_dict() for m in page],
        "next_page_token": page.next_page_token,
    }
    emit(as_json, data, lambda: _render_models(page))


@app.command()
def show(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """One model: description, tags, aliases and its versions (newest first)."""
    c = client(ctx)
    model = c.get_registered_model(name)
    versions = c.search_model_versions(
        f"name = '{_quoted(name)}'", max_results=1000, order_by=["version_number DESC"]
    )
    if as_json:
        emit(True, model.to_dict() | {"versions": [v.to_dict() for v in versions]}, lambda: None)
        return
    console.print(
        f"[bold cyan]{model.name}[/bold cyan]  updated {when(model.last_updated_timestamp)}"
    )
    if model.description:
        console.print(model.description)
    if model.tags:
        table("Tags", ["key", "value"], sorted(model.tags.items()))
    if model.aliases:
        table("Aliases", ["alias", "version"], sorted(model.aliases.items()))
    _render_versions("Versions", versions.items, versions.next_page_token)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


@app.command()
def versions(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
    filter_string: FilterOpt = "",
    order_by: OrderOpt = None,
    max_results: Annotated[int, typer.Option(help="Page size.")] = 100,
    page_token: PageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search versions (all models, or NAME's), e.g. --filter "tags.validated = 'true'"."""
    terms = [f"name = '{_quoted(name)}'"] if name else []
    if filter_string:
        terms.append(f"({filter_string})")
    page = client(ctx).search_model_versions(" AND ".join(terms), max_results, order_by, page_token)
    data = {"model_versions": [v.to_dict() for v in page], "next_page_token": page.next_page_token}
    emit(
        as_json, data, lambda: _render_versions("Model versions", page.items, page.next_page_token)
    )


@alias_app.command("set")
def alias_set(ctx: typer.Context, name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION (creating or moving it)."""
    c = client(ctx)
    c.set_registered_model_alias(name, alias, version)
    console.print(f"{name}@{alias} → version {version}")


@alias_app.command("rm")
def alias_rm(ctx: typer.Context, name: str, alias: str) -> None:
    """Remove ALIAS from model NAME."""
    client(ctx).delete_registered_model_alias(name, alias)
    console.print(f"Removed {name}@{alias}")


@app.command()
def stage(
    ctx: typer.Context,
    name: str,
    version: int,
    to: Annotated[str, typer.Argument(help="None, Staging, Production or Archived.")],
    archive_existing: Annotated[
        bool, typer.Option(help="Archive the stage's other versions (Staging/Production).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move VERSION of NAME to a stage."""
    moved = client(ctx).transition_model_version_stage(name, version, to, archive_existing)
    emit(
        as_json,
        moved.to_dict(),
        lambda: console.print(f"{name} v{version} → {moved.current_stage}"),
    )


@app.command()
def history(
    ctx: typer.Context,
    name: str,
    alias: Annotated[str | None, typer.Option(help="Only this alias's moves.")] = None,
    at: Annotated[
        str | None, typer.Option(help="ISO-8601 time or epoch ms: what aliases held then.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every alias move and stage change of NAME, from the tamper-evident audit log; with
    --alias, also who moved it to what it held (at --at, or now) and who approved that."""
    tracking = client(ctx)
    moment = parse_time(at) if at else None
    found = tracking.get_alias_history(name, alias, moment)
    origin = tracking.alias_provenance(name, alias, moment) if alias else None

    def human() -> None:
        table(
            f"History of {name}" + (f"@{alias}" if alias else ""),
            ["seq", "time", "actor", "alias/stage", "version", "previous"],
            (
                (
                    m.seq,
                    when(m.time),
                    m.actor,
                    m.alias or f"stage {m.stage}",
                    "removed" if m.version is None else m.version,
                    "" if m.previous is None else m.previous,
                )
                for m in found.moves
            ),
        )
        if found.at is not None:
            held = {alias: found.version_at} if alias else found.aliases_at
            state = ", ".join(f"{a}→{'none' if v is None else v}" for a, v in held.items())
            console.print(f"At {when(found.at)}: {state or 'no aliases set'}")
        if origin is not None and origin["move"] is not None:
            move, request = origin["move"], origin["promotion"]
            console.print(f"{alias} → v{origin['version']}: moved by {move['actor']} at "
                          f"{when(move['time'])}", markup=False)  # fmt: skip
            if request is None:
                console.print("  no promotion request: the alias was not protected then")
            else:
                approvers = ", ".join(a["approver"] for a in request["approvals"]
                                      if a["decision"] == "approve")  # fmt: skip
                evidence = "; ".join(f"{c['name']}: {c['detail']}"
                                     for c in request["applied_checks"] or [])  # fmt: skip
                console.print(f"  request {request['id']} by {request['requested_by']}: "
                              f"{request['justification']}", markup=False)  # fmt: skip
                console.print(f"  approved by {approvers}; evidence: {evidence}", markup=False)

    data = found.to_dict() | ({"provenance": origin} if origin is not None else {})
    emit(as_json, data, human)


@app.command()
def verify(ctx: typer.Context, name: str, version: int, as_json: JsonOpt = False) -> None:
    """Re-hash the stored bytes of VERSION of NAME; exit 1 if any file changed or went."""
    result = client(ctx).verify_model_version(name, version)

    def human() -> None:
        if result.ok:
            console.print(f"[green]{name} v{version} intact[/green]: {result.checked} files.")
            return
        for path in result.mismatched:
            err_console.print(f"[red]changed[/red] {path}")
        for path in result.missing:
            err_console.print(f"[red]missing[/red] {path}")
        if not result.tree_ok:
            err_console.print("[red]the file list no longer matches the version's digest[/red]")

    emit(as_json, result.to_dict(), human)
    if not result.ok:
        raise typer.Exit(1)


# ---- later: `clew models download NAME VERSION|@ALIAS DEST` and `clew models lineage NAME
# VERSION` (the lead's). Both start from `Client.get_model_version`/`resolve_model_uri` and
# `list_model_version_files`; register them on `app` here.
from clew.cli import models_download as _models_download  # noqa: E402, F401 - registers them
