"""Virtual Banker registerVoiceWebhook."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio

from adapters.storage.virtual_banker.voice import WebhookRecord
from adapters.webhooks import UnsafeDestination, UrlTooLong, check_destination
from core.clock import utcnow
from generated.models.virtual_banker import RegisterWebhookRequest, Webhook, WebhookResponse
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.ratelimit import rate_limited
from handlers.virtual_banker.replies import created, now


def webhook_model(record: WebhookRecord) -> Webhook:
    """A stored subscription as the contract's ``Webhook`` (never its secret; time to the second)."""
    return Webhook(webhook_id=record.webhook_id, url=record.url, events=record.events, active=record.active,
                   created_at=record.created_at.replace(microsecond=0))


@rate_limited
async def register_voice_webhook(body: RegisterWebhookRequest, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/voice/webhooks`` (registerVoiceWebhook) → 201 ``WebhookResponse``.

    Registers ``url`` for the caller's tenant and the listed ``events``. The optional
    ``secret`` is stored encrypted and used only to sign deliveries (``X-VB-Signature``).
    A session-scoped ephemeral token may not register tenant-wide webhooks → 403 ``FORBIDDEN``.
    URLs that resolve to loopback, private, link-local or reserved addresses → 403
    ``UNSAFE_WEBHOOK_URL`` (unless the network is listed in ``WEBHOOK_ALLOWED_NETWORKS``). The
    URL as sent is parsed once by the WHATWG rules; that canonical form is checked, stored,
    returned and called (each delivery connects to the address its own check resolved).
    """
    if token_info.get("kind") != "jwt":
        raise ApiError(403, "FORBIDDEN", "Webhooks are registered with a user JWT, not a session's ephemeral token")
    s = bundle()
    try:
        destination = await anyio.to_thread.run_sync(
            partial(check_destination, str(body.url), s.settings.webhook_allowed_networks,
                    require_resolvable=False)
        )
    except UrlTooLong as exc:
        raise ApiError(400, "VALIDATION_ERROR", f"url: {exc}") from None
    except UnsafeDestination as exc:
        raise ApiError(403, "UNSAFE_WEBHOOK_URL", str(exc)) from None
    url = destination.url  # the canonical form that was checked is what is stored and called
    record = await s.webhooks.create(tenant_id=token_info["tenant_id"], url=url,
                                     events=[event.value for event in body.events], secret=body.secret,
                                     active=body.active, now=utcnow())
    return created(WebhookResponse(success=True, data=webhook_model(record), timestamp=now()))
