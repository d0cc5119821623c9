"""The registry's events, as webhook events: a ``RegistryListener`` that calls ``enqueue``.

The registry tells its listeners of every change inside the change's transaction, with the
audit action and summary (``registry/promotion.py``). This maps the actions webhooks offer to
their event types and queues them; the rest are ignored. An alias that disappears because its
version or model was deleted is reported as ``alias.deleted`` too, with a ``reason``: a
deployer watching ``champion`` must hear that it is gone, however it went.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Connection

from clew.core.actor import Actor
from clew.registry.webhooks.service import enqueue

#: Registry audit action → webhook event type.
EVENT_OF_ACTION: Final[Mapping[str, str]] = {
    "registered_model.create": "registered_model.created",
    "model_version.create": "model_version.created",
    "registered_model.alias.set": "alias.set",
    "registered_model.alias.delete": "alias.deleted",
    "model_version.stage": "stage.changed",
}
_REMOVES_ALIASES: Final = {
    "model_version.delete": "version_deleted",
    "registered_model.delete": "model_deleted",
}


class WebhookListener:
    """Pass one to ``RegistryService(listeners=[...])``; it needs no state of its own."""

    def on_event(
        self, conn: Connection, actor: Actor, action: str, summary: Mapping[str, Any]
    ) -> None:
        event = EVENT_OF_ACTION.get(action)
        if event is not None:
            enqueue(conn, event, {**summary, "actor": actor.name})
            return
        reason = _REMOVES_ALIASES.get(action)
        if reason is None:
            return
        removed = summary.get("aliases_removed") or ()
        # A version delete lists alias names; a model delete maps each alias to its version.
        held = removed.items() if isinstance(removed, Mapping) else ((a, None) for a in removed)
        for alias, version in held:
            previous = version if version is not None else summary.get("version")
            payload = {
                "name": summary.get("name"),
                "alias": alias,
                "version": None,
                "previous": previous,
                "reason": reason,
                "actor": actor.name,
            }
            enqueue(conn, "alias.deleted", payload)
