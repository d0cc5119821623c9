"""The SQL of lineage walks: the events at a set of runs or nodes, and what those are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from clew.core import schema

E, A, EV = schema.executions, schema.artifacts, schema.events
_CHUNK = 500


def _chunks(ids: Sequence[Any]) -> list[Sequence[Any]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


class LineageStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def events_of_runs(self, run_ids: Sequence[str]) -> list[Any]:
        """``(execution_id, artifact_id, type, name)`` of the runs' events."""
        return self._events(EV.c.execution_id, run_ids)

    def events_of_nodes(self, node_ids: Sequence[int]) -> list[Any]:
        """The same, of the events at these artifact nodes."""
        return self._events(EV.c.artifact_id, node_ids)

    def _events(self, column: Any, ids: Sequence[Any]) -> list[Any]:
        rows: list[Any] = []
        for chunk in _chunks(ids):
            rows += self.conn.execute(
                select(EV.c.execution_id, EV.c.artifact_id, EV.c.type, EV.c.name)
                .where(column.in_(chunk))
                .order_by(EV.c.id)
            ).all()
        return rows

    def runs(self, run_ids: Sequence[str]) -> list[Any]:
        rows: list[Any] = []
        for chunk in _chunks(run_ids):
            rows += self.conn.execute(
                select(E.c.id, E.c.name, E.c.status, E.c.context_id, E.c.lifecycle_stage).where(
                    E.c.id.in_(chunk), E.c.type == "run"
                )
            ).all()
        return rows

    def nodes(self, node_ids: Sequence[int]) -> list[Any]:
        rows: list[Any] = []
        for chunk in _chunks(node_ids):
            rows += self.conn.execute(
                select(A.c.id, A.c.type, A.c.name, A.c.digest, A.c.uri).where(A.c.id.in_(chunk))
            ).all()
        return rows

    def node_ids(self, *, digest: str | None = None, uri: str | None = None) -> list[int]:
        """The nodes whose digest is or starts with ``digest``, or with this URI, oldest first
        (at most ``_CHUNK``)."""
        if digest is not None:
            match = A.c.digest == digest if len(digest) == 64 else A.c.digest.startswith(digest)
        else:
            match = A.c.uri == uri
        q = select(A.c.id).where(match).order_by(A.c.id).limit(_CHUNK)
        return [int(i) for i in self.conn.execute(q).scalars()]
