"""Model policies and promotion requests on both transports (mixins of the local and HTTP
transports). Answers are plain dicts, as the REST API gives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from clew.core.actor import Actor
    from clew.platform import Platform


class LocalPromotions:
    platform: Platform
    actor: Actor

    def set_model_policy(self, model: str, document: str) -> dict[str, Any]:
        return self.platform.promotions.set_policy(self.actor, model, document)

    def get_model_policy(self, model: str) -> dict[str, Any] | None:
        return self.platform.promotions.get_policy(self.actor, model)

    def open_promotion(self, model: str, version: int, **target: Any) -> dict[str, Any]:
        return self.platform.promotions.request(self.actor, model, version, **target).to_dict()

    def promotion(self, request_id: str, action: str, comment: str = "") -> dict[str, Any]:
        service = self.platform.promotions
        if action in ("approve", "reject"):
            done = service.decide(self.actor, request_id, approve=action == "approve",
                                  comment=comment)  # fmt: skip
        elif action == "cancel":
            done = service.cancel(self.actor, request_id)
        elif action == "apply":
            done = service.apply(self.actor, request_id)
        else:
            done = service.get(self.actor, request_id)
            return {**done.to_dict(), "allowed": service.allowed_actions(self.actor, done)}
        return done.to_dict()

    def list_promotions(self, model: str | None, state: str | None) -> list[dict[str, Any]]:
        found = self.platform.promotions.list_requests(self.actor, model, state)
        return [r.to_dict() for r in found]

    def alias_provenance(self, model: str, alias: str, at: int | None) -> dict[str, Any]:
        return self.platform.promotions.provenance(self.actor, model, alias, at)

    def compliance_report(self, model: str, version: int, fmt: str) -> str:
        from clew.governance import report

        return report.render(self.platform, self.actor, model, version, fmt)


class HttpPromotions:
    _json: Callable[..., Any]
    request: Callable[..., Any]

    def set_model_policy(self, model: str, document: str) -> dict[str, Any]:
        path = f"/registered-models/{quote(model, safe='')}/policy"
        return dict(self._json("PUT", path, body={"document": document}))

    def get_model_policy(self, model: str) -> dict[str, Any] | None:
        path = f"/registered-models/{quote(model, safe='')}/policy"
        data = self._json("GET", path, idempotent=True)
        return None if data.get("policy") is None else dict(data)

    def open_promotion(self, model: str, version: int, **target: Any) -> dict[str, Any]:
        body = {"model": model, "version": version,
                **{k: v for k, v in target.items() if v is not None}}  # fmt: skip
        return dict(self._json("POST", "/promotion-requests", body=body))

    def promotion(self, request_id: str, action: str, comment: str = "") -> dict[str, Any]:
        if action == "get":
            return dict(self._json("GET", f"/promotion-requests/{request_id}", idempotent=True))
        body = {"comment": comment} if action in ("approve", "reject") else None
        return dict(self._json("POST", f"/promotion-requests/{request_id}/{action}", body=body))

    def list_promotions(self, model: str | None, state: str | None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("model", model), ("state", state)) if v}
        data = self._json("GET", "/promotion-requests", params=params, idempotent=True)
        return list(data["requests"])

    def alias_provenance(self, model: str, alias: str, at: int | None) -> dict[str, Any]:
        path = f"/registered-models/{quote(model, safe='')}/aliases/{quote(alias, safe='')}"
        params = {"at": at} if at is not None else {}
        return dict(self._json("GET", path + "/provenance", params=params, idempotent=True))

    def compliance_report(self, model: str, version: int, fmt: str) -> str:
        path = f"/registered-models/{quote(model, safe='')}/versions/{version}/report"
        response = self.request("GET", path, params={"format": fmt}, idempotent=True)
        return str(response.text)
