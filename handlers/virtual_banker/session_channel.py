"""A session's channel on the event bus: what realtime sockets on any process hear about it.

Messages on ``vb.session:<session_id>``: ``{"event": "ended"}`` (endSession / endSessionPost)
and ``{"event": "token_refreshed", "expires_at": <ISO 8601>}`` (refreshToken). The signaling
socket of the session (``realtime.py``), on whichever process holds it, closes or updates its
peer when it hears one. Delivery is at most once (pub/sub); the socket also re-checks the
database every :data:`RECHECK_SECONDS` in case an event was missed.
"""

from __future__ import annotations

import logging
from typing import Any

from handlers.virtual_banker.bundle import bundle

logger = logging.getLogger("handlers.virtual_banker.session_channel")

#: Seconds between a socket's database checks of its session (the fallback of the event bus).
RECHECK_SECONDS = 10.0


def channel(session_id: str) -> str:
    """The bus channel of ``session_id``."""
    return f"vb.session:{session_id}"


async def announce(session_id: str, message: dict[str, Any]) -> None:
    """Publish ``message`` on the session's channel. A bus failure is logged, never raised: the
    request that changed the session has already committed, and sockets re-check the database."""
    try:
        await bundle().events.publish(channel(session_id), message)
    except Exception as exc:  # noqa: BLE001 - the bus is best effort; the database is the truth
        logger.warning("could not announce %s on %s: %s", message.get("event"), channel(session_id), exc)
