"""Which transport a tracking URI names: the one place that decides local versus HTTP."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clew.client.transport import Transport


def is_local(transport: object) -> bool:
    """Whether ``transport`` is the local one, without importing it (which loads SQLAlchemy)."""
    local = sys.modules.get("clew.client.local")
    return local is not None and isinstance(transport, local.LocalTransport)


def transport_for(uri: str) -> Transport:
    """The transport a tracking URI names.

    ``http(s)://…`` is a server; ``sqlite:``/``postgresql:`` a database used in-process; any other
    non-empty string a directory (``file://`` optional) used as ``CLEW_HOME``; empty is local mode
    on the ``CLEW_*`` settings. Transports are imported here, on first use, so that ``import
    clew`` loads neither httpx nor SQLAlchemy.
    """
    if uri.startswith(("http://", "https://")):
        from clew.client.http import HttpTransport

        return HttpTransport(uri.rstrip("/"))
    from clew.client.local import LocalTransport
    from clew.core.settings import Settings

    if not uri:
        return LocalTransport(Settings())
    if uri.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:")):
        return LocalTransport(Settings(database_url=uri))
    path = uri.removeprefix("file://")
    return LocalTransport(Settings(home=Path(path).expanduser()))
