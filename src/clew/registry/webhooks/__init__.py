"""Webhooks on registry events: subscriptions, a transactional outbox, a signing dispatcher.

The registry calls :func:`enqueue` inside each change's transaction; the dispatcher posts the
queued deliveries through the SSRF guard (``clew.core.netguard``), signed with HMAC-SHA256;
receivers check them with :func:`verify_signature`. See ``docs/webhooks.md``.
"""

from clew.registry.webhooks.listener import WebhookListener
from clew.registry.webhooks.model import EVENT_TYPES, CreatedWebhook, Delivery, Webhook
from clew.registry.webhooks.service import WebhookService, enqueue
from clew.registry.webhooks.signing import verify_signature

__all__ = [
    "EVENT_TYPES",
    "CreatedWebhook",
    "Delivery",
    "Webhook",
    "WebhookListener",
    "WebhookService",
    "enqueue",
    "verify_signature",
]
