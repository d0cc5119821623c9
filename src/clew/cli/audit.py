"""``clew audit …``: verify the hash chain and read the log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import orjson
import typer

from clew.cli.context import client
from clew.cli.output import console, emit, err_console, table, when

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Check an export (clew audit export) instead of the store."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="With --file: the head must be signed by this key."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if it does not hold.

    With --file, check an exported log offline: every event's hash, every link, that the head
    names the last event, and (with --public-key) the head's Ed25519 signature.
    """
    if public_key is not None and file is None:
        raise typer.BadParameter("--public-key checks an export: give --file too")
    if file is not None:
        _verify_file(file, public_key, as_json)
        return
    result = client(ctx).verify_audit()
    data = {
        "ok": result.ok,
        "checked": result.checked,
        "head_seq": result.head_seq,
        "broken_seq": result.broken_seq,
        "reason": result.reason,
        "head_hash": result.head_hash,
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


def _verify_file(file: Path, public_key: Path | None, as_json: bool) -> None:
    from clew.audit.export import load_public_key, verify_export

    key = None if public_key is None else load_public_key(public_key)
    with file.open("rb") as lines:
        result = verify_export(lines, key)

    def human() -> None:
        span = f"events {result.first_seq}-{result.last_seq}" if result.checked else "no events"
        if result.ok:
            signed = "signed by that key" if key is not None else (
                "signed (no key given to check it)" if result.signed else "unsigned"
            )  # fmt: skip
            console.print(f"[green]Export intact[/green]: {span}, head {signed}.")
        else:
            where = f" at event {result.broken_seq}" if result.broken_seq else ""
            err_console.print(f"[red]Export broken{where}[/red]: {result.reason} ({span} held).")

    emit(as_json, result.to_dict(), human)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON Lines.")],
    since_seq: Annotated[int, typer.Option(help="From this event on.")] = 1,
) -> None:
    """Write the audit log as JSON Lines ending in a head line, which the store signs when it
    has a key (CLEW_AUDIT_SIGNING_KEY); clew audit verify --file checks it anywhere."""
    client(ctx).export_audit(out, since_seq)
    console.print(f"Wrote {out}")


@app.command()
def keygen(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="PREFIX: writes PREFIX.key (private) and PREFIX.pub."),
    ],
) -> None:
    """Make an Ed25519 key pair for signing exports: point CLEW_AUDIT_SIGNING_KEY at the .key
    file (kept private, mode 600) and hand the .pub to whoever verifies."""
    from clew.audit.export import new_key

    private, public = new_key()
    key_file, pub_file = out.with_suffix(".key"), out.with_suffix(".pub")
    for path in (key_file, pub_file):
        if path.exists():
            raise typer.BadParameter(f"{path} exists; not overwriting a key")
    key_file.touch(mode=0o600)
    key_file.write_bytes(private)
    pub_file.write_bytes(public)
    console.print(f"Wrote {key_file} (private) and {pub_file} (public)")


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
