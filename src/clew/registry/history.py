"""Alias and stage history, read back from the audit log.

Every alias move and stage change is an audit event whose summary names the model, the alias
(or stage), the new version and the previous one; deleting a version or a model removes its
aliases and says which. So "which version held ``champion`` at 14:00 yesterday" needs no
side table: replay the model's events in chain order. The log is hash-chained, so the answer
is as trustworthy as ``clew audit verify`` says the log is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from clew.core import audit
from clew.core.audit_model import AuditEvent
from clew.registry.model import AliasHistory, AliasMove
from clew.registry.service_base import RESOURCE_TYPE

ALIAS_SET = "registered_model.alias.set"
ALIAS_DELETE = "registered_model.alias.delete"
STAGE = "model_version.stage"
VERSION_DELETE = "model_version.delete"
MODEL_DELETE = "registered_model.delete"
_PAGE = 1000


def _events(conn: Connection, model_id: int) -> Iterator[AuditEvent]:
    after: int | None = None
    while True:
        page = audit.list_events(
            conn,
            resource_type=RESOURCE_TYPE,
            resource_id=str(model_id),
            after_seq=after,
            limit=_PAGE,
            newest_first=False,
        )
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].seq


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _moves(event: AuditEvent) -> list[AliasMove]:
    s, base = event.summary, (event.seq, event.time, event.actor, event.action)
    if event.action in (ALIAS_SET, ALIAS_DELETE):
        return [AliasMove(*base, s["alias"], _int(s.get("version")), _int(s.get("previous")))]
    if event.action == VERSION_DELETE:
        previous = _int(s.get("version"))
        return [AliasMove(*base, alias, None, previous) for alias in s.get("aliases_removed", ())]
    if event.action == MODEL_DELETE:
        removed = s.get("aliases_removed") or {}
        return [AliasMove(*base, alias, None, _int(ver)) for alias, ver in removed.items()]
    if event.action == STAGE:
        return [
            AliasMove(*base, "", _int(s.get("version")), _int(s.get("previous")), stage=s["stage"])
        ]
    return []


def alias_history(
    conn: Connection, model_id: int, name: str, alias: str | None, at: int | None
) -> AliasHistory:
    """The model's alias (and stage) moves, oldest first; ``alias`` keeps only that alias's.

    With ``at``, ``aliases_at`` is the state after every event up to and including ``at``.
    """
    moves: list[AliasMove] = []
    state: dict[str, int] = {}
    for event in _events(conn, model_id):
        for move in _moves(event):
            if at is not None and move.time <= at and move.alias:
                if move.version is None:
                    state.pop(move.alias, None)
                else:
                    state[move.alias] = move.version
            if alias is None or move.alias == alias:
                moves.append(move)
    if alias is not None:
        state = {alias: state[alias]} if alias in state else {}
    return AliasHistory(name=name, moves=tuple(moves), alias=alias, at=at, aliases_at=state)
