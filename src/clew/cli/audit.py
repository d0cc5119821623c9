"""``clew audit …``: verify the hash chain and read the log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import orjson
import typer

from clew.cli.context import client
from clew.cli.output import console, emit, err_console, table, when

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if it does not hold."""
    result = client(ctx).verify_audit()
    data = {
        "ok": result.ok,
        "checked": result.checked,
        "head_seq": result.head_seq,
        "broken_seq": result.broken_seq,
        "reason": result.reason,
    }

    def human() -> None:
        if result.ok:
            console.print(f"[green]Audit chain intact[/green]: {result.checked} events verified.")
        else:
            err_console.print(
                f"[red]Audit chain broken at event {result.broken_seq}[/red]: {result.reason} "
                f"({result.checked} events verified before it)."
            )

    emit(as_json, data, human)
    if not result.ok:
        raise typer.Exit(1)


def _parse_time(text: str | None) -> int | None:
    if not text:
        return None
    if text.isdigit():
        return int(text)
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


@app.command("log")
def log_(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. run.create, experiment.rename.")] = None,
    resource_type: Annotated[str | None, typer.Option("--type", help="experiment, run …")] = None,
    resource_id: Annotated[str | None, typer.Option("--id", help="A resource id.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time or epoch ms.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time or epoch ms.")] = None,
    before_seq: Annotated[
        int | None, typer.Option(help="Page: events older than this seq.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List audit events, newest first, with filters."""
    events = client(ctx).list_audit(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        since_ms=_parse_time(since),
        until_ms=_parse_time(until),
        after_seq=before_seq,
        limit=limit,
    )
    emit(
        as_json,
        [e.to_dict() for e in events],
        lambda: table(
            "Audit log",
            ["seq", "time", "actor", "action", "resource", "summary"],
            (
                (
                    e.seq,
                    when(e.time),
                    e.actor,
                    e.action,
                    f"{e.resource_type}/{e.resource_id}",
                    orjson.dumps(e.summary).decode()[:120],
                )
                for e in events
            ),
        ),
    )
