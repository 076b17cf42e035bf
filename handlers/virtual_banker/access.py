"""Who may touch which Virtual Banker session: the caller's own live sessions, nothing else."""

from __future__ import annotations

from typing import Any

from adapters.storage.virtual_banker.sessions import SessionRecord
from adapters.storage.virtual_banker.voice import VoiceSessionRecord
from core.clock import utcnow
from handlers.errors import ApiError
from handlers.virtual_banker.bundle import bundle


def session_not_found(session_id: str) -> ApiError:
    """The 404 ``SESSION_NOT_FOUND`` error for ``session_id`` (also for sessions that are not the
    caller's: a foreign session's existence is not revealed)."""
    return ApiError(404, "SESSION_NOT_FOUND", f"Session {session_id} not found")


async def owned_live_session(session_id: str, token_info: dict[str, Any]) -> SessionRecord:
    """The caller's live session ``session_id``.

    Raises 404 for missing, ended or expired sessions, for other users' and other tenants'
    sessions, and for any session but its own under an ephemeral token.
    """
    if token_info.get("kind") == "ephemeral" and token_info.get("session_id") != session_id:
        raise session_not_found(session_id)
    record = await bundle().sessions.get_live(session_id, utcnow())
    if record is None or record.tenant_id != token_info["tenant_id"] or record.user_id != token_info["sub"]:
        raise session_not_found(session_id)
    return record


async def owned_voice_session(session_id: str, token_info: dict[str, Any]) -> VoiceSessionRecord:
    """The voice session of the caller's live session ``session_id``; 404 when the session is
    not the caller's or has no voice session yet (createVoiceSession first)."""
    await owned_live_session(session_id, token_info)
    voice = await bundle().voice.get(session_id)
    if voice is None:
        raise ApiError(404, "VOICE_SESSION_NOT_FOUND",
                       f"Session {session_id} has no voice session; create one with POST /v1/voice/sessions")
    return voice
