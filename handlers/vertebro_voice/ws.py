"""Vertebro ``WS /ws/{session_id}`` (voiceWebSocket): the text protocol.

Handshake: HTTP Basic credentials (401), a live session (404 ``voice_session_not_found``) and
a free connection slot (503 ``ws_connection_limit``, ``WS_MAX_CONNECTIONS`` per process) are
checked before the upgrade; a refusal is an HTTP response with the API's ``{detail}`` body.

After the upgrade the server sends ``{"type": "status", "status": "ready", "message":
<greeting>}``. Client frames (JSON text) and the answers:

- ``{"type": "ping"}`` → ``{"type": "pong"}``.
- ``{"type": "text_input", "text": …}`` → ``{"type": "status", "status": "thinking", …}``, then
  ``{"type": "response", "text", "audio_url", "sources", "suggested_actions"}`` (one dialog
  turn, recorded in the history like ``POST /dialog/respond``).
- ``{"type": "navigation_command", "action": …, "params": {…}}`` → recorded as a user turn
  (``params.url`` of a ``navigate``/``open`` action becomes the session's current page) and
  acknowledged with ``{"type": "status", "status": "navigation", "message": …}``.
- ``{"type": "audio_chunk", …}`` → ``{"type": "error", "message": …}``: audio streaming over
  this socket is not available yet (recognise audio with ``POST /recognize``).
- A frame that is not JSON, not an object, binary, of unknown ``type`` or missing a field →
  ``{"type": "error", "message": …}``; the socket stays open.

Every frame counts as session activity. The server closes with 1008 when the session expires
or is deleted while connected, 1011 on an internal error. Protocol-level pings are sent by
the server (uvicorn, every ``WS_PING_INTERVAL`` seconds when started with ``python -m gateway``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from adapters.storage.vertebro_db import StorageUnavailable
from handlers.errors import ApiError
from handlers.vertebro_voice.dialog import converse
from handlers.vertebro_voice.security import authenticate_header
from handlers.vertebro_voice.sessions import greeting
from handlers.vertebro_voice.state import vertebro

logger = logging.getLogger("handlers.vertebro_voice.ws")

AUDIO_NOT_AVAILABLE = ("audio streaming over this socket is not available yet: send text_input messages, "
                       "or recognise audio with POST /api/v1/voice/recognize")
THINKING = {"ru": "Обрабатываю...", "en": "Processing..."}


class SessionGone(Exception):
    """The session expired or was deleted while the socket was open."""


async def _deny(websocket: WebSocket, status: int, detail: str) -> None:
    headers = {"WWW-Authenticate": 'Basic realm="vertebro"'} if status == 401 else None
    try:
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=status, headers=headers))
    except RuntimeError:  # the server cannot answer a handshake with HTTP: refuse the upgrade
        await websocket.close(code=1008, reason=detail)


def _lang(language: str) -> str:
    return "en" if language.lower().startswith("en") else "ru"


async def voice_web_socket(websocket: WebSocket, session_id: str) -> None:
    """``GET /ws/{session_id}`` with ``Upgrade: websocket`` (voiceWebSocket); see the module doc."""
    bundle = vertebro()
    try:
        user = await authenticate_header(websocket.headers.get("authorization"))
        session = await bundle.sessions.get_live(session_id, bundle.now()) if user else None
    except StorageUnavailable:
        await _deny(websocket, 503, "mongo_unavailable")
        return
    if user is None:
        await _deny(websocket, 401, "Unauthorized")
        return
    if session is None:
        await _deny(websocket, 404, "voice_session_not_found")
        return
    if bundle.ws_open >= bundle.settings.ws_max_connections:
        await _deny(websocket, 503, "ws_connection_limit")
        return
    bundle.ws_open += 1
    try:
        await websocket.accept()
        await websocket.send_json({"type": "status", "status": "ready", "message": greeting(session.language)})
        await _serve(websocket, session_id)
    except WebSocketDisconnect:
        pass
    except SessionGone:
        await _close(websocket, 1008, "Session expired")
    except Exception:  # noqa: BLE001 - a bug must close the socket with 1011, not hang it
        logger.exception("voice WebSocket %s failed", session_id)
        await _close(websocket, 1011, "Internal error")
    finally:
        bundle.ws_open -= 1


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED and websocket.client_state == WebSocketState.CONNECTED:
        try:
            await websocket.close(code=code, reason=reason)
        except (RuntimeError, WebSocketDisconnect):
            pass


async def _touch(session_id: str, context: dict[str, Any] | None = None):
    bundle = vertebro()
    session = await bundle.sessions.touch(session_id, bundle.now(), bundle.settings.voice_session_timeout, context)
    if session is None:
        raise SessionGone(session_id)
    return session


async def _serve(websocket: WebSocket, session_id: str) -> None:
    bundle = vertebro()
    while True:
        session = await bundle.sessions.get_live(session_id, bundle.now())
        if session is None:
            raise SessionGone(session_id)
        remaining = max(1.0, (session.expires_at - bundle.now()).total_seconds())
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=min(remaining, 60.0))
        except asyncio.TimeoutError:
            continue  # re-check that the session is still alive
        if message["type"] == "websocket.disconnect":
            return
        session = await _touch(session_id)
        text = message.get("text")
        if text is None:
            await _error(websocket, "binary frames are not accepted; " + AUDIO_NOT_AVAILABLE)
            continue
        try:
            frame = json.loads(text)
        except ValueError:
            await _error(websocket, "Invalid JSON")
            continue
        if not isinstance(frame, dict):
            await _error(websocket, "a message must be a JSON object with a \"type\"")
            continue
        kind = frame.get("type")
        if kind == "ping":
            await websocket.send_json({"type": "pong"})
        elif kind == "text_input":
            await _text_input(websocket, session, frame)
        elif kind == "navigation_command":
            await _navigation(websocket, session_id, frame)
        elif kind == "audio_chunk":
            await _error(websocket, AUDIO_NOT_AVAILABLE)
        else:
            await _error(websocket, f"unknown message type {kind!r}; expected text_input, navigation_command, "
                                    "audio_chunk or ping")


async def _error(websocket: WebSocket, message: str) -> None:
    await websocket.send_json({"type": "error", "message": message})


async def _text_input(websocket: WebSocket, session, frame: dict[str, Any]) -> None:
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        await _error(websocket, "text_input needs a non-empty string \"text\"")
        return
    await websocket.send_json({"type": "status", "status": "thinking", "message": THINKING[_lang(session.language)]})
    try:
        turn = await converse(session, text.strip())
    except ApiError as exc:
        await _error(websocket, f"{exc.code}: {exc.message}")
        return
    await websocket.send_json({"type": "response", "text": turn.text, "audio_url": turn.audio_url,
                               "sources": turn.sources, "suggested_actions": turn.suggested_actions})


async def _navigation(websocket: WebSocket, session_id: str, frame: dict[str, Any]) -> None:
    action = frame.get("action")
    params = frame.get("params", {})
    if not isinstance(action, str) or not action.strip():
        await _error(websocket, "navigation_command needs a non-empty string \"action\"")
        return
    if not isinstance(params, dict):
        await _error(websocket, "navigation_command \"params\" must be an object")
        return
    context = None
    if action in ("navigate", "open") and isinstance(params.get("url"), str):
        context = {"current_page": params["url"]}
    session = await _touch(session_id, context)
    bundle = vertebro()
    await bundle.history.add(session, "user", {"navigation": {"action": action, "params": params}}, bundle.now())
    await websocket.send_json({"type": "status", "status": "navigation",
                               "message": f"navigation_command {action!r} received"})
