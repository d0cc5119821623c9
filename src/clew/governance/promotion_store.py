"""The SQL of model policies, promotion requests and their approvals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from clew.core import schema
from clew.core.audit import canonical_json

P, R, A = schema.model_policies, schema.promotion_requests, schema.promotion_approvals


class PromotionStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._postgres = conn.dialect.name == "postgresql"

    # ---- policies -----------------------------------------------------------------------------

    def latest_policy(self, model_id: int) -> Any:
        q = select(P).where(P.c.model_id == model_id).order_by(P.c.version.desc()).limit(1)
        return self.conn.execute(q).first()

    def add_policy(self, model_id: int, document: str, parsed: dict[str, Any], actor: str,
                   now: int) -> int:  # fmt: skip
        latest = self.conn.execute(
            select(func.max(P.c.version)).where(P.c.model_id == model_id)
        ).scalar()
        version = int(latest or 0) + 1
        self.conn.execute(insert(P).values(model_id=model_id, version=version, document=document,
                                           parsed=canonical_json(parsed).decode(), created_by=actor,
                                           created_at=now))  # fmt: skip
        return version

    # ---- requests -----------------------------------------------------------------------------

    def add_request(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(R).values(**values))

    def request(self, request_id: str, *, lock: bool = False) -> Any:
        q = select(R).where(R.c.id == request_id)
        if lock and self._postgres:
            q = q.with_for_update()
        return self.conn.execute(q).first()

    def requests(
        self, model_id: int | None, state: str | None, limit: int, only: list[str] | None
    ) -> list[Any]:
        """Requests newest first, each with its model's name (``model``); ``only``: the
        models the caller may read (None: all)."""
        C = schema.contexts
        q = select(R, C.c.name.label("model")).join(C, C.c.id == R.c.model_id)
        if model_id is not None:
            q = q.where(R.c.model_id == model_id)
        if state is not None:
            q = q.where(R.c.state == state)
        if only is not None:
            q = q.where(C.c.name.in_(only))
        return list(self.conn.execute(q.order_by(R.c.created_at.desc(), R.c.id).limit(limit)))

    def set_request(self, request_id: str, expect_state: str, **values: Any) -> bool:
        """Compare-and-set on the request's state."""
        done = self.conn.execute(
            update(R).where(R.c.id == request_id, R.c.state == expect_state).values(**values)
        )
        return bool(done.rowcount)

    # ---- approvals ----------------------------------------------------------------------------

    def decisions(self, request_ids: list[str]) -> dict[str, list[Any]]:
        """Each request's approvals and rejections, in the order they came, in one query."""
        q = select(A).where(A.c.request_id.in_(request_ids)).order_by(A.c.at, A.c.approver)
        found: dict[str, list[Any]] = {request_id: [] for request_id in request_ids}
        for row in self.conn.execute(q):
            found[row.request_id].append(row)
        return found

    def add_decision(self, request_id: str, approver: str, decision: str, comment: str,
                     role: str, now: int) -> None:  # fmt: skip
        self.conn.execute(insert(A).values(request_id=request_id, approver=approver,
                                           decision=decision, comment=comment, role=role,
                                           at=now))  # fmt: skip

    def model_name(self, model_id: int) -> str:
        C = schema.contexts
        return str(self.conn.execute(select(C.c.name).where(C.c.id == model_id)).scalar_one())
