"""Virtual Banker registerVoiceWebhook."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio

from adapters.webhooks import UnsafeDestination, check_destination
from core.clock import utcnow
from generated.models.virtual_banker import RegisterWebhookRequest, Webhook, WebhookResponse
from handlers.virtual_banker.bundle import bundle
from handlers.errors import ApiError, parse_request
from handlers.virtual_banker.ratelimit import rate_limited


@rate_limited
async def register_voice_webhook(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/voice/webhooks`` (registerVoiceWebhook) → 201 ``WebhookResponse``.

    Registers ``url`` for the caller's tenant and the listed ``events``. The optional
    ``secret`` is stored encrypted and used only to sign deliveries (``X-VB-Signature``).
    A session-scoped ephemeral token may not register tenant-wide webhooks → 403. URLs that
    resolve to loopback, private, link-local or reserved addresses → 403 ``UNSAFE_WEBHOOK_URL``
    (unless the network is listed in ``WEBHOOK_ALLOWED_NETWORKS``).
    """
    if token_info.get("kind") != "jwt":
        raise ApiError(403, "FORBIDDEN", "Webhooks are registered with a user JWT, not a session's ephemeral token")
    req = parse_request(RegisterWebhookRequest, body)
    s = bundle()
    try:
        await anyio.to_thread.run_sync(
            partial(check_destination, str(req.url), s.settings.webhook_allowed_networks, require_resolvable=False)
        )
    except UnsafeDestination as exc:
        raise ApiError(403, "UNSAFE_WEBHOOK_URL", str(exc)) from None
    record = await s.webhooks.create(tenant_id=token_info["tenant_id"], url=str(body["url"]),
                                        events=[getattr(e, "value", e) for e in req.events], secret=req.secret,
                                        active=req.active, now=utcnow())
    data = Webhook(webhook_id=record.webhook_id, url=record.url, events=record.events, active=record.active,
                   created_at=record.created_at.replace(microsecond=0))
    return WebhookResponse(success=True, data=data, timestamp=utcnow().replace(microsecond=0)).model_dump(
        mode="json", exclude_none=True), 201
