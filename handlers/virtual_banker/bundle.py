"""The Virtual Banker service bundle: its stores, its webhook dispatcher and the shared adapters."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.secretbox import SecretBox
from adapters.storage.virtual_banker.sessions import VbSessionStore, VbTenantStore
from adapters.storage.virtual_banker.voice import VbVoiceSessionStore, VbWebhookStore
from adapters.webhooks import WebhookDispatcher
from handlers.plugin import BundleSlot
from handlers.services import ApiBundle, Services

API = "virtual-banker"


@dataclass
class VirtualBanker(ApiBundle):
    """Sessions, tenant overrides, voice sessions, webhooks and their dispatcher (queue jobs)."""

    sessions: VbSessionStore
    tenants: VbTenantStore
    voice: VbVoiceSessionStore
    webhooks: VbWebhookStore
    dispatcher: WebhookDispatcher


def build(services: Services) -> VirtualBanker:
    """The bundle on ``services``' database (webhook secrets sealed with ``WEBHOOK_SECRET_KEY``)."""
    settings = services.settings
    webhooks = VbWebhookStore(services.db, SecretBox(settings.webhook_secret_key))
    return VirtualBanker(
        services=services,
        sessions=VbSessionStore(services.db),
        tenants=VbTenantStore(services.db),
        voice=VbVoiceSessionStore(services.db),
        webhooks=webhooks,
        dispatcher=WebhookDispatcher(
            webhooks,
            services.jobs,
            name="vb.webhooks",
            header_prefix="X-VB-",
            allowed_networks=settings.webhook_allowed_networks,
            base_delay=settings.webhook_base_delay,
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout_seconds,
        ),
    )


async def on_startup(bank: VirtualBanker) -> None:
    """Nothing to start: deliveries are jobs of the shared queue (its sweep resumes those a
    restart or a dead process left)."""


async def on_shutdown(bank: VirtualBanker) -> None:
    """Close the delivery HTTP client (pending deliveries stay in the database)."""
    await bank.dispatcher.aclose()


bundle: BundleSlot[VirtualBanker] = BundleSlot(API)
