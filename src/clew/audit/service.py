"""Audit queries for the API, the CLI and the client; the writer is ``clew.core.audit.append``."""

from __future__ import annotations

from collections.abc import Iterator

from clew.audit import export
from clew.core import audit
from clew.core.actor import Actor
from clew.core.authz import AllowAll, Authorizer, Permission, Resource
from clew.core.db import Database
from clew.core.errors import InvalidInput

_AUDIT = Resource("audit", "*")
MAX_LIMIT = 10_000


class AuditService:
    def __init__(self, db: Database, authz: Authorizer | None = None) -> None:
        self.db = db
        self.authz = authz or AllowAll()

    def verify(self, actor: Actor) -> audit.Verification:
        self.authz.check(actor, Permission.READ, _AUDIT)
        with self.db.read() as conn:
            return audit.verify(conn)

    def list(
        self,
        actor: Actor,
        *,
        actor_name: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[audit.AuditEvent]:
        """Newest first; pass the last event's ``seq`` as ``after_seq`` for the next page."""
        self.authz.check(actor, Permission.READ, _AUDIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        with self.db.read() as conn:
            return audit.list_events(
                conn,
                actor=actor_name,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                since_ms=since_ms,
                until_ms=until_ms,
                after_seq=after_seq,
                limit=limit,
            )

    def export(self, actor: Actor, since_seq: int = 1) -> Iterator[bytes]:
        """The log from ``since_seq`` as JSON Lines with a head line, signed when the settings
        name a key (``audit.export``). Read in one snapshot, streamed as it is read."""
        self.authz.check(actor, Permission.READ, _AUDIT)
        if not isinstance(since_seq, int) or since_seq < 1:
            raise InvalidInput("since_seq must be 1 or more")
        key_path = self.db.settings.audit_signing_key
        signer = export.load_private_key(key_path) if key_path else None

        def lines() -> Iterator[bytes]:
            with self.db.read(snapshot=True) as conn:
                yield from export.export_lines(conn, signer, since_seq)

        return lines()
