"""Policies and promotion requests from Python: a mixin of ``Client``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clew.client.transport import Transport


class PromotionMethods:
    transport: Transport

    def set_model_policy(self, model: str, document: str) -> dict[str, Any]:
        """A new version of the model's policy (``governance.policy`` says what it holds)."""
        return self.transport.set_model_policy(model, document)

    def get_model_policy(self, model: str) -> dict[str, Any] | None:
        return self.transport.get_model_policy(model)

    def request_promotion(
        self,
        model: str,
        version: int,
        *,
        alias: str | None = None,
        stage: str | None = None,
        justification: str,
    ) -> dict[str, Any]:
        """Ask to move a protected alias (or stage) to ``version``; its checks run now."""
        return self.transport.open_promotion(model, version, alias=alias, stage=stage,
                                             justification=justification)  # fmt: skip

    def approve_promotion(self, request_id: str, comment: str = "") -> dict[str, Any]:
        return self.transport.promotion(request_id, "approve", comment)

    def reject_promotion(self, request_id: str, comment: str = "") -> dict[str, Any]:
        return self.transport.promotion(request_id, "reject", comment)

    def cancel_promotion(self, request_id: str) -> dict[str, Any]:
        return self.transport.promotion(request_id, "cancel")

    def apply_promotion(self, request_id: str) -> dict[str, Any]:
        """Move the alias as approved, re-checking the policy (a maintainer's)."""
        return self.transport.promotion(request_id, "apply")

    def get_promotion(self, request_id: str) -> dict[str, Any]:
        """The request, with ``allowed``: what you may do to it now (approve, reject, cancel,
        apply), by the rules those calls enforce."""
        return self.transport.promotion(request_id, "get")

    def list_promotions(
        self, model: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        return self.transport.list_promotions(model, state)

    def alias_provenance(self, model: str, alias: str, at: int | None = None) -> dict[str, Any]:
        """Who held ``alias`` at ``at`` (UTC ms; now if left out), who moved it there, and who
        approved that move on what evidence."""
        return self.transport.alias_provenance(model, alias, at)

    def compliance_report(self, model: str, version: int, fmt: str = "html") -> str:
        """The version's evidence pack as ``html`` or ``markdown``."""
        return self.transport.compliance_report(model, version, fmt)
