"""How commands print: rich tables for people, ``--json`` for scripts. One place for both."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_json(value: Any) -> None:
    sys.stdout.buffer.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_DATACLASS) + b"\n"
    )
    sys.stdout.flush()


def when(ms: int | None) -> str:
    """Milliseconds since the epoch as local time, for people."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def when_utc(ms: int | None) -> str:
    """The same in UTC, where the time is one (a cron schedule's)."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    styles: dict[str, str] | None = None,
) -> None:
    t = Table(title=title, header_style="bold", show_lines=False)
    for name in columns:
        t.add_column(name, style=(styles or {}).get(name), overflow="fold")
    for row in rows:
        t.add_row(*("" if c is None else str(c) for c in row))
    console.print(t)


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON when asked to, else call ``human`` to render it."""
    if as_json:
        print_json(data)
    else:
        human()
