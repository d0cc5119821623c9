"""Promotion requests: a protected alias or stage moves only when a request for it is approved
and applied (issue 6, item 3).

PENDING → APPROVED (the policy's number of approvals, each by someone else than the requester
holding the policy's role on the model) or REJECTED (one rejection) or CANCELED (the
requester, or a maintainer) → APPLIED, or EXPIRED past the policy's deadline. The policy's
checks run when the request is made (their results and evidence are frozen into it) and
again when it is applied; applying happens inside the registry's own alias or stage change,
through ``PolicyGuard``, so the alias moves, the request becomes APPLIED and both audit events
are written in one transaction, or nothing is. A request remembers what the target named when
it was made; applying it after someone else moved the target is a conflict, so of two
approved requests for one alias the first applied wins.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Connection, func, select

from clew.core import audit, schema
from clew.core.actor import Actor
from clew.core.authz import Authorizer, Permission, Resource, allows, readable_scope
from clew.core.db import Database, retry_conflicts
from clew.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from clew.core.ids import now_ms
from clew.governance import policy as policies
from clew.governance.checks import CheckResult, run_checks
from clew.governance.model import Role
from clew.governance.promotion_store import PromotionStore
from clew.registry import validation as v
from clew.registry.promotion import Promotion
from clew.registry.store import RegistryStore

PENDING, APPROVED, REJECTED, CANCELED, APPLIED, EXPIRED = (
    "PENDING", "APPROVED", "REJECTED", "CANCELED", "APPLIED", "EXPIRED",
)  # fmt: skip
_OPEN: Final = (PENDING, APPROVED)
#: The request whose application is under way on this thread (``apply`` sets it).
_applying: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "clew_applying_promotion", default=None
)


def _model(name: str) -> Resource:
    return Resource("registered_model", name)


@contextmanager
def applying(request_id: str) -> Iterator[None]:
    token = _applying.set(request_id)
    try:
        yield
    finally:
        _applying.reset(token)


@dataclass(frozen=True)
class PromotionRequest:
    id: str
    model: str
    version: int
    target_kind: str
    target: str
    previous: int | None
    justification: str
    state: str
    policy_version: int
    checks: list[dict[str, Any]]
    applied_checks: list[dict[str, Any]] | None
    approvals: list[dict[str, Any]]
    requested_by: str
    created_at: int
    decided_at: int | None
    applied_at: int | None
    applied_by: str | None
    expires_at: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _record(
    store: PromotionStore,
    row: Any,
    model: str | None = None,
    decisions: list[Any] | None = None,
) -> PromotionRequest:
    """The request ``row``; a listing passes its model's name and decisions, read for all its
    rows at once, and a single read leaves them to be looked up."""
    state = row.state
    if state in _OPEN and row.expires_at is not None and row.expires_at <= now_ms():
        state = EXPIRED
    if decisions is None:
        decisions = store.decisions([row.id])[row.id]
    return PromotionRequest(
        id=row.id, model=model or store.model_name(row.model_id), version=row.version,
        target_kind=row.target_kind, target=row.target, previous=row.previous,
        justification=row.justification, state=state, policy_version=row.policy_version,
        checks=orjson.loads(row.checks),
        applied_checks=None if row.applied_checks is None else orjson.loads(row.applied_checks),
        approvals=[{"approver": d.approver, "decision": d.decision, "comment": d.comment,
                    "role": d.role, "at": d.at} for d in decisions],
        requested_by=row.requested_by, created_at=row.created_at, decided_at=row.decided_at,
        applied_at=row.applied_at, applied_by=row.applied_by, expires_at=row.expires_at,
    )  # fmt: skip


def _policy(store: PromotionStore, model_id: int) -> tuple[int, policies.Policy] | None:
    row = store.latest_policy(model_id)
    if row is None:
        return None
    return int(row.version), policies.parse(row.document)


class PromotionService:
    def __init__(self, db: Database, authz: Authorizer, registry: Any, blobs: Any) -> None:
        self.db = db
        self.authz = authz
        self.registry = registry
        self.blobs = blobs

    # ---- policies -----------------------------------------------------------------------------

    @retry_conflicts
    def set_policy(self, actor: Actor, model: str, document: str) -> dict[str, Any]:
        """A new version of the model's policy (a maintainer's)."""
        v.check_model_name(model)
        parsed = policies.parse(document)
        self.authz.check(actor, Permission.MANAGE, _model(model))
        with self.db.write() as conn:
            model_id = RegistryStore(conn).require_model(model)
            version = PromotionStore(conn).add_policy(model_id, document, parsed.to_dict(),
                                                      actor.name, now_ms())  # fmt: skip
            audit.append(conn, actor, "policy.set", "registered_model", model,
                         {"version": version, "policy": parsed.to_dict()})  # fmt: skip
        return {"model": model, "version": version, "policy": parsed.to_dict(),
                "document": document}  # fmt: skip

    def get_policy(self, actor: Actor, model: str) -> dict[str, Any] | None:
        self.authz.check(actor, Permission.READ, _model(model))
        with self.db.read() as conn:
            model_id = RegistryStore(conn).require_model(model)
            row = PromotionStore(conn).latest_policy(model_id)
        if row is None:
            return None
        return {"model": model, "version": row.version, "policy": orjson.loads(row.parsed),
                "document": row.document}  # fmt: skip

    # ---- requests -----------------------------------------------------------------------------

    @retry_conflicts
    def request(
        self,
        actor: Actor,
        model: str,
        version: int,
        *,
        alias: str | None = None,
        stage: str | None = None,
        justification: str,
    ) -> PromotionRequest:
        """Ask to point a protected ``alias`` at ``version`` (or move it into ``stage``)."""
        number = v.check_version(version)
        if (alias is None) == (stage is None):
            raise InvalidInput("A promotion request names exactly one of alias and stage")
        if not isinstance(justification, str) or not justification.strip():
            raise InvalidInput("A promotion request needs a justification")
        self.authz.check(actor, Permission.EDIT, _model(model))
        with self.db.write() as conn:
            registry, store = RegistryStore(conn), PromotionStore(conn)
            model_id = registry.require_model(model)
            version_id = registry.require_version(model_id, model, number)
            found = _policy(store, model_id)
            if found is None or not found[1].protects(alias, stage):
                raise InvalidInput(
                    f"{alias or stage} of {model} is not protected by a policy: move it directly"
                )
            policy_version, policy = found
            previous = _current(conn, model_id, alias, stage)
            checks = run_checks(conn, self.blobs, policy, version_id)
            now = now_ms()
            request_id = uuid.uuid4().hex
            expires = policy.expires_after_days
            store.add_request({
                "id": request_id, "model_id": model_id, "version": number,
                "target_kind": "alias" if alias else "stage", "target": alias or stage,
                "previous": previous, "justification": justification[:4000], "state": PENDING,
                "policy_version": policy_version, "checks": _frozen(checks),
                "requested_by": actor.name, "created_at": now,
                "expires_at": None if expires is None else now + int(expires * 86_400_000),
            })  # fmt: skip
            audit.append(conn, actor, "promotion.request", "promotion", request_id, {
                "model": model, "version": number, "target": alias or stage,
                "checks": {c.name: c.ok for c in checks},
            })  # fmt: skip
            return _record(store, store.request(request_id))

    def get(self, actor: Actor, request_id: str) -> PromotionRequest:
        with self.db.read() as conn:
            store = PromotionStore(conn)
            row = _require(store, request_id)
            found = _record(store, row)
        self.authz.check(actor, Permission.READ, _model(found.model))
        return found

    def allowed_actions(self, actor: Actor, request: PromotionRequest) -> dict[str, bool]:
        """What ``actor`` may do to ``request`` now, by the rules ``decide``, ``cancel`` and
        ``apply`` enforce, so a UI shows only the buttons that would work (each action still
        checks for itself when it is asked)."""
        pending, open_ = request.state == PENDING, request.state in _OPEN
        own = actor.name == request.requested_by
        decided = any(d["approver"] == actor.name for d in request.approvals)
        may_decide = False
        if pending and not own and not decided:
            with self.db.read() as conn:
                store = PromotionStore(conn)
                found = _policy(store, RegistryStore(conn).require_model(request.model))
            if found is not None:
                role = found[1].approver_role
                where = _role_resource(role, request.model)
                may_decide = allows(self.authz, actor, _permission_of(role), where)
        manages = allows(self.authz, actor, Permission.MANAGE, _model(request.model))
        return {
            "approve": may_decide,
            "reject": may_decide,
            "cancel": open_ and (own or manages),
            "apply": request.state == APPROVED and manages,
        }

    def list_requests(
        self, actor: Actor, model: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        """Newest first, of the models the caller may read (filtered in the query)."""
        readable = readable_scope(self.authz, actor, "registered_model")
        only = None if readable is None else sorted(readable)
        with self.db.read() as conn:
            store = PromotionStore(conn)
            model_id = None if model is None else RegistryStore(conn).require_model(model)
            rows = store.requests(model_id, state if state != EXPIRED else None, limit, only)
            decisions = store.decisions([r.id for r in rows])
            found = [_record(store, r, r.model, decisions[r.id]) for r in rows]
        return [r for r in found if state is None or r.state == state]

    @retry_conflicts
    def decide(
        self, actor: Actor, request_id: str, *, approve: bool, comment: str = ""
    ) -> PromotionRequest:
        """Approve or reject, as someone other than the requester with the policy's role."""
        with self.db.write() as conn:
            store = PromotionStore(conn)
            row = _require(store, request_id, lock=True)
            request = _record(store, row)
            if request.state != PENDING:
                raise Conflict(f"The request is {request.state}; only a PENDING one is decided")
            if actor.name == request.requested_by:
                raise PermissionDenied("A requester may not approve or reject their own request")
            found = _policy(store, row.model_id)
            assert found is not None
            role = found[1].approver_role
            self.authz.check(actor, _permission_of(role), _role_resource(role, request.model))
            if any(d["approver"] == actor.name for d in request.approvals):
                raise Conflict("You have already decided on this request")
            now = now_ms()
            store.add_decision(request_id, actor.name, "approve" if approve else "reject",
                               comment[:4000], role.value, now)  # fmt: skip
            approvals = 1 + sum(1 for d in request.approvals if d["decision"] == "approve")
            if not approve:
                store.set_request(request_id, PENDING, state=REJECTED, decided_at=now)
            elif approvals >= found[1].approvals:
                store.set_request(request_id, PENDING, state=APPROVED, decided_at=now)
            audit.append(conn, actor, "promotion.approve" if approve else "promotion.reject",
                         "promotion", request_id, {"comment": comment[:200]})  # fmt: skip
            return _record(store, store.request(request_id))

    @retry_conflicts
    def cancel(self, actor: Actor, request_id: str) -> PromotionRequest:
        with self.db.write() as conn:
            store = PromotionStore(conn)
            row = _require(store, request_id, lock=True)
            request = _record(store, row)
            if actor.name != request.requested_by:
                self.authz.check(actor, Permission.MANAGE, _model(request.model))
            if request.state not in _OPEN:
                raise Conflict(f"The request is {request.state}; it cannot be canceled")
            store.set_request(request_id, row.state, state=CANCELED, decided_at=now_ms())
            audit.append(conn, actor, "promotion.cancel", "promotion", request_id, {})
            return _record(store, store.request(request_id))

    def provenance(
        self, actor: Actor, model: str, alias: str, at: int | None = None
    ) -> dict[str, Any]:
        """Who held ``alias`` at ``at`` (UTC ms; now if left out), who moved it there, who
        approved the move and on what evidence: one answer from the audit chain."""
        history = self.registry.alias_history(actor, model, alias, at)
        with self.db.read() as conn:
            model_id = RegistryStore(conn).require_model(model)
            return provenance(conn, model_id, history, alias)

    def apply(self, actor: Actor, request_id: str) -> PromotionRequest:
        """Move the alias (or stage) as the approved request says, re-checking everything, in
        the registry's transaction (``PolicyGuard``); a maintainer's, as any alias move is."""
        request = self.get(actor, request_id)
        if request.state != APPROVED:
            raise Conflict(f"The request is {request.state}; only an APPROVED one is applied")
        with applying(request_id):
            if request.target_kind == "alias":
                self.registry.set_registered_model_alias(actor, request.model, request.target,
                                                         request.version)  # fmt: skip
            else:
                self.registry.transition_model_version_stage(actor, request.model,
                                                             request.version, request.target)  # fmt: skip
        return self.get(actor, request_id)


def provenance(conn: Connection, model_id: int, history: Any, alias: str) -> dict[str, Any]:
    """Who moved ``alias`` to the version it held at ``history.at`` (or now), and the request
    that approved the move, if one did: its requester, justification, approvals and the
    evidence its checks read when it was applied. The request is found by the audit chain: an
    applied request's ``promotion.apply`` event is written just before the move's own."""
    moves = [m for m in history.moves if m.alias == alias
             and (history.at is None or m.time <= history.at)]  # fmt: skip
    if not moves:
        return {"alias": alias, "at": history.at, "version": None, "move": None,
                "promotion": None}  # fmt: skip
    move = moves[-1]
    store = PromotionStore(conn)
    events = audit.list_events(conn, action="promotion.apply", after_seq=move.seq,
                               limit=1)  # newest first: the one just before the move  # fmt: skip
    request = None
    if events and events[0].seq == move.seq - 1:
        row = store.request(events[0].resource_id)
        if row is not None and row.model_id == model_id:
            request = _record(store, row).to_dict()
    return {"alias": alias, "at": history.at, "version": move.version, "move": move.to_dict(),
            "promotion": request}  # fmt: skip


class PolicyGuard:
    """The registry's ``PromotionGuard``: a protected alias or stage moves only inside the
    application of an approved request for exactly that move, and only if the request's
    checks still hold and the target has not moved since the request was made."""

    def __init__(self, blobs: Any) -> None:
        self.blobs = blobs

    def check(self, conn: Connection, actor: Actor, promotion: Promotion) -> None:
        registry, store = RegistryStore(conn), PromotionStore(conn)
        model_id = registry.require_model(promotion.model)
        found = _policy(store, model_id)
        if found is None or not found[1].protects(promotion.alias, promotion.stage):
            return
        target = promotion.alias or promotion.stage
        if promotion.version is None:  # the alias goes
            if promotion.reason == "model_deleted":
                return  # the model and everything of it goes: nothing left to protect
            raise PermissionDenied(f"{target} of {promotion.model} is protected by its policy; "
                                   "move it with a promotion request first")  # fmt: skip
        request_id = _applying.get()
        if request_id is None:
            raise PermissionDenied(
                f"{target} of {promotion.model} is protected by its policy: open a promotion "
                "request (clew promote request) and apply it once approved"
            )
        row = _require(store, request_id, lock=True)
        request = _record(store, row)
        if (request.model, request.version, request.target) != (
            promotion.model, promotion.version, target
        ):  # fmt: skip
            raise Conflict("The request being applied is for another move")
        if request.state != APPROVED:
            raise Conflict(f"The request is {request.state}; only an APPROVED one is applied")
        if promotion.previous != request.previous:
            raise Conflict(
                f"{target} of {promotion.model} moved (to {promotion.previous}) since the request "
                f"was made (it named {request.previous}); request again"
            )
        version_id = registry.require_version(model_id, promotion.model, promotion.version)
        checks = run_checks(conn, self.blobs, found[1], version_id)
        failing = [c for c in checks if not c.ok]
        if failing:
            raise Conflict("The policy's checks no longer hold: " + "; ".join(
                f"{c.name}: {c.detail}" for c in failing
            ))  # fmt: skip
        now = now_ms()
        if not store.set_request(request_id, APPROVED, state=APPLIED, applied_at=now,
                                 applied_by=actor.name,
                                 applied_checks=_frozen(checks)):  # fmt: skip
            raise Conflict("The request was applied or canceled meanwhile")
        audit.append(conn, actor, "promotion.apply", "promotion", request_id,
                     {"model": promotion.model, "version": promotion.version, "target": target,
                      "checks": {c.name: c.ok for c in checks}})  # fmt: skip


def _current(conn: Connection, model_id: int, alias: str | None, stage: str | None) -> int | None:
    """What the target names now: the alias's version, or the newest version in the stage."""
    registry = RegistryStore(conn)
    if alias is not None:
        held = registry.alias_target(model_id, alias)
        return None if held is None else held[1]
    mv = schema.model_versions
    newest = conn.execute(
        select(func.max(mv.c.version)).where(mv.c.model_id == model_id, mv.c.stage == stage)
    ).scalar()
    return None if newest is None else int(newest)


def _frozen(checks: list[CheckResult]) -> str:
    """Checks as the request keeps them: canonical JSON, as the audit log hashes."""
    return audit.canonical_json([c.to_dict() for c in checks]).decode()


def _require(store: PromotionStore, request_id: str, *, lock: bool = False) -> Any:
    row = store.request(request_id, lock=lock) if isinstance(request_id, str) else None
    if row is None:
        raise NotFound("No such promotion request", request_id=request_id)
    return row


def _permission_of(role: Role) -> Permission:
    return Permission.EDIT if role is Role.EDITOR else Permission.MANAGE


def _role_resource(role: Role, model: str) -> Resource:
    """Admin approvers are checked against identity (an admin's alone), others on the model."""
    return Resource("identity", "*") if role is Role.ADMIN else _model(model)


__all__ = ["CheckResult", "PolicyGuard", "PromotionRequest", "PromotionService", "applying"]
