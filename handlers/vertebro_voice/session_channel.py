"""A Vertebro session's channel on the event bus: its WebSocket, on whichever process holds it,
hears that the session was deleted and closes at once.

Channel ``vertebro.session:<session_id>``, message ``{"event": "deleted"}`` (deleteSession).
Delivery is at most once (pub/sub); the socket also re-checks the session at every frame and
at least once a minute.
"""

from __future__ import annotations

import logging

from handlers.vertebro_voice.bundle import bundle

logger = logging.getLogger("handlers.vertebro_voice.session_channel")


def channel(session_id: str) -> str:
    """The bus channel of ``session_id``."""
    return f"vertebro.session:{session_id}"


async def announce_deleted(session_id: str) -> None:
    """Publish that ``session_id`` was deleted; a bus failure is logged, never raised (the
    deletion is committed and the socket re-checks the database)."""
    try:
        await bundle().events.publish(channel(session_id), {"event": "deleted"})
    except Exception as exc:  # noqa: BLE001 - best effort: the database is the truth
        logger.warning("could not announce the deletion of %s: %s", session_id, exc)
