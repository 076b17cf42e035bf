"""Vertebro voice sessions: startSession, getSession, deleteSession, getSessionHistory."""

from __future__ import annotations

import uuid
from typing import Any

from adapters.storage.vertebro_voice.access import Scope
from adapters.storage.vertebro_voice.sessions import SessionLimitReached, VoiceSessionRecord
from generated.models.vertebro_voice import SessionHistoryResponse, VoiceSessionRequest, VoiceSessionResponse
from handlers.errors import ApiError
from handlers.request import request
from handlers.results import Reply
from handlers.vertebro_voice.bundle import MOUNT, bundle
from handlers.vertebro_voice.envelope import validation_error
from handlers.vertebro_voice.guard import guarded
from handlers.vertebro_voice.responses import history_response, session_response
from handlers.vertebro_voice.session_channel import announce_deleted
from handlers.vertebro_voice.spelling import either

GREETING_EN = "Voice assistant ready. How can I help you today?"
GREETING_RU = "Голосовой ассистент готов. Чем могу помочь?"


def greeting(language: str) -> str:
    """The session greeting: English when ``language`` starts with ``en``, Russian otherwise."""
    return GREETING_EN if language.lower().startswith("en") else GREETING_RU


def session_not_found() -> ApiError:
    """The contract's 404 ``voice_session_not_found`` (unknown, deleted or expired session)."""
    return ApiError(404, "voice_session_not_found", "Unknown or expired voice session")


def project_not_found() -> ApiError:
    """404 ``project_not_found``: the project is unknown *or* the caller is not one of its members
    (the two are answered alike, so a project's existence is not revealed)."""
    return ApiError(404, "project_not_found", "Unknown project")


def member_project(scope: Scope, project: str) -> str:
    """``project`` when ``scope`` may use it (a member, or an admin); else 404 ``project_not_found``."""
    if not scope.sees_project(project):
        raise project_not_found()
    return project


async def live_session(session_id: str, scope: Scope) -> VoiceSessionRecord:
    """The live session ``session_id`` that ``scope`` may see (its creator while a member of its
    project, or an admin), or 404 ``voice_session_not_found`` — the same for another user's
    session as for a missing one."""
    vertebro = bundle()
    record = await vertebro.sessions.get_live(session_id, vertebro.now(), scope)
    if record is None:
        raise session_not_found()
    return record


async def touch(session_id: str, scope: Scope, context: dict[str, Any] | None = None) -> VoiceSessionRecord:
    """Record activity on a live session ``scope`` may see (extends ``expires_at`` to now +
    ``VOICE_SESSION_TIMEOUT`` seconds, merges ``context``); 404 ``voice_session_not_found``,
    changing nothing, if it is not live or not the caller's."""
    vertebro = bundle()
    record = await vertebro.sessions.touch(session_id, vertebro.now(), vertebro.settings.voice_session_timeout, context,
                                           scope)
    if record is None:
        raise session_not_found()
    return record


def websocket_url(session_id: str) -> str:
    """``ws(s)://{host}/api/v1/voice/ws/{id}`` from the request's own scheme and host
    (``X-Forwarded-Proto`` / ``X-Forwarded-Host`` first, as behind a proxy)."""
    headers = request.headers
    proto = (headers.get("x-forwarded-proto") or request.url.scheme or "http").split(",")[0].strip().lower()
    host = (headers.get("x-forwarded-host") or headers.get("host") or request.url.netloc).split(",")[0].strip()
    scheme = "wss" if proto in ("https", "wss") else "ws"
    return f"{scheme}://{host}{MOUNT}/ws/{session_id}"


def _session(record: VoiceSessionRecord) -> VoiceSessionResponse:
    return session_response(record, websocket_url(record.session_id), greeting(record.language))


@guarded
async def start_session(body: VoiceSessionRequest, user: str | None = None) -> Reply:
    """``POST /session/start`` (startSession) → 201 ``VoiceSessionResponse``.

    ``session_id`` is a uuid4 hex; ``expires_at`` = now + ``VOICE_SESSION_TIMEOUT`` seconds
    (extended by every activity); ``initial_greeting`` in the session language; ``user_id`` (or
    ``userId``) defaults to ``anonymous``; ``voice_preference`` (or ``voicePreference``) is stored.
    503 ``voice_concurrency_limit`` when ``VOICE_MAX_CONCURRENT_SESSIONS`` sessions are live; 422
    for a blank ``project``; 404 ``project_not_found`` unless the caller is a member of ``project``
    (or an admin). The session belongs to the calling Basic user.
    """
    vertebro = bundle()
    if not body.project.strip():
        raise validation_error(["body", "project"], "project must not be blank")
    project = member_project(await vertebro.scope(user), body.project.strip())
    chosen = either(body.voice_preference, body.voicePreference)
    preference = chosen.model_dump(mode="json", exclude_none=True) if chosen else None
    try:
        record = await vertebro.sessions.create(
            session_id=uuid.uuid4().hex, owner=user, project=project,
            user_id=either(body.user_id, body.userId) or "anonymous", language=body.language or "ru-RU",
            voice_preference=preference, now=vertebro.now(), timeout_seconds=vertebro.settings.voice_session_timeout,
            max_live=vertebro.settings.voice_max_concurrent_sessions)
    except SessionLimitReached:
        raise ApiError(503, "voice_concurrency_limit", "Too many concurrent voice sessions") from None
    return Reply(_session(record), 201)


@guarded
async def get_session(session_id: str, user: str | None = None) -> VoiceSessionResponse:
    """``GET /session/{session_id}`` (getSession) → 200 ``VoiceSessionResponse``; 404
    ``voice_session_not_found`` for an unknown, deleted or expired session, or another user's."""
    return _session(await live_session(session_id, await bundle().scope(user)))


@guarded
async def delete_session(session_id: str, user: str | None = None) -> Reply:
    """``DELETE /session/{session_id}`` (deleteSession) → 204 without a body; afterwards the session
    is gone (404 everywhere, its WebSocket closes). 404 ``voice_session_not_found`` if it is not live
    or not the caller's (nothing is changed then)."""
    vertebro = bundle()
    if not await vertebro.sessions.end(session_id, vertebro.now(), await vertebro.scope(user)):
        raise session_not_found()
    await announce_deleted(session_id)
    return Reply(None, 204)


@guarded
async def get_session_history(session_id: str, limit: int = 50, user: str | None = None) -> SessionHistoryResponse:
    """``GET /session/{session_id}/history`` (getSessionHistory) → 200 ``{session_id, items}``:
    at most ``limit`` (1..200, default 50) items, newest first; each ``{session_id, project,
    user_id, timestamp, type, content}`` with ``type`` recognition | synthesis | intent | user |
    assistant. 404 ``voice_session_not_found`` for a session that is not live or not the caller's."""
    await live_session(session_id, await bundle().scope(user))
    return history_response(session_id, await bundle().history.recent(session_id, limit))
