"""The client a command talks to, built from ``--tracking-uri`` or ``CLEW_TRACKING_URI``.

The root callback stores the URI on typer's context object; commands ask for a client here.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer

from clew.client.client import Client


@dataclass
class CliState:
    tracking_uri: str | None = None


def client(ctx: typer.Context) -> Client:
    state = ctx.find_root().obj
    uri = state.tracking_uri if isinstance(state, CliState) else None
    return Client(uri)
