"""Webhook events of the Virtual Banker voice API, queued durably and sent by the dispatcher.

Payload (JSON): ``{"event": <name>, "timestamp": <RFC 3339>, "data": {...}}``; see
``adapters/webhooks.py`` for the signature headers.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from core.clock import isoformat, utcnow
from handlers.virtual_banker.bundle import bundle

logger = logging.getLogger("handlers.virtual_banker.events")

EVENTS = (
    "transcription.complete",
    "transcription.partial",
    "synthesis.complete",
    "session.state_changed",
    "session.created",
    "session.ended",
)


async def emit(tenant_id: str, event: str, data: dict[str, Any]) -> None:
    """Queue ``event`` for every webhook of ``tenant_id`` subscribed to it (no-op otherwise)."""
    s = bundle()
    now = utcnow()
    body = json.dumps({"event": event, "timestamp": isoformat(now), "data": data}, separators=(",", ":"))
    await s.dispatcher.dispatch(await s.webhooks.enqueue(tenant_id, event, body, now))
