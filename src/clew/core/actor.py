"""Who is calling. Every service method takes an ``Actor``; authorization and audit read it."""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal behind a call.

    ``kind`` is ``user`` for people, ``service`` for service accounts and ``system`` for Clew's own
    work (migrations, background jobs). ``token_id`` names the credential used, when there is one.
    """

    name: str
    kind: str = "user"
    token_id: str | None = None

    @classmethod
    def local_user(cls) -> Actor:
        """The OS user: the actor of every call in local mode, where there is no login."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(name=name)

    @classmethod
    def system(cls) -> Actor:
        return cls(name="clew", kind="system")
