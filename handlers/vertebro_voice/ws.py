"""Vertebro ``WS /ws/{session_id}`` (voiceWebSocket): the text protocol.

Handshake: HTTP Basic credentials (401), a live session of the caller's (404
``voice_session_not_found``, the same for another user's session as for a missing one) and
a free connection slot (503 ``ws_connection_limit``, ``WS_MAX_CONNECTIONS`` per process) are
checked before the upgrade; a refusal is an HTTP response with the API's ``{detail}`` body.

After the upgrade the server sends ``{"type": "status", "status": "ready", "message":
<greeting>}``. Client frames (JSON text) and the answers:

- ``{"type": "ping"}`` → ``{"type": "pong"}``.
- ``{"type": "text_input", "text": …}`` → ``{"type": "status", "status": "thinking", …}``, then
  ``{"type": "response", "text", "audio_url", "sources", "suggested_actions"}`` plus the
  camelCase aliases ``audioUrl`` / ``suggestedActions`` (one dialog turn, recorded in the history
  like ``POST /dialog/respond``).
- ``{"type": "navigation_command", "action": …, "params": {…}}`` → recorded as a user turn
  (``params.url`` of a ``navigate``/``open`` action becomes the session's current page) and
  acknowledged with ``{"type": "status", "status": "navigation", "message": …}``.
- ``{"type": "audio_chunk", "data": <base64>, "sequence": n, "is_final": bool}`` → the caller's
  speech, fed to the realtime speech loop (adapters/realtime: voice activity detection → ASR →
  this API's dialog turn). ``data`` is raw 16-bit little-endian mono PCM at 16000 Hz (or at
  ``sample_rate`` Hz when the frame says so); ``sequence`` must increase (a repeated number is
  ignored, a smaller one is an ``error``). When an utterance ends (0.6 s of silence, or
  ``is_final: true`` — ``isFinal`` is accepted too) the server sends ``{"type": "status",
  "status": "thinking", …}``, ``{"type": "transcription", "text", "is_final": true, "isFinal":
  true, "confidence"}`` and then the ``response`` frame.
- A frame that is not JSON, not an object, binary, of unknown ``type`` or missing a field →
  ``{"type": "error", "message": …}``; the socket stays open.

Server frames are built with the contract's ``WsServerMessage`` models
(``generated.models.vertebro_voice``) and written with :func:`handlers.results.dump`, so they
match the documented schemas. Every frame counts as session activity. The server closes with 1008
when the session expires or is deleted while connected, 1011 on an internal error. Protocol-level
pings are sent by the server (uvicorn, every ``WS_PING_INTERVAL`` seconds when started with
``python -m gateway``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from adapters.providers import audio as codec
from adapters.storage.database import StorageUnavailable
from adapters.storage.vertebro_voice.access import Scope
from adapters.storage.vertebro_voice.sessions import VoiceSessionRecord
from core.jsontext import JSONRejected
from core.jsontext import loads as strict_json
from generated.models.vertebro_voice import WsErrorMessage, WsPongMessage, WsStatusMessage
from handlers.errors import ApiError
from handlers.results import dump
from handlers.vertebro_voice.bundle import bundle
from handlers.vertebro_voice.dialog import MAX_TEXT, converse
from handlers.vertebro_voice.envelope import json_size
from handlers.vertebro_voice.responses import ws_response, ws_transcription
from handlers.vertebro_voice.security import authenticate_header
from handlers.vertebro_voice.sessions import greeting

if TYPE_CHECKING:
    from adapters.realtime.loop import SpeechLoop

logger = logging.getLogger("handlers.vertebro_voice.ws")

BINARY_NOT_ACCEPTED = ("binary frames are not accepted: send audio as JSON audio_chunk messages "
                       "(base64 PCM, 16 kHz mono s16le)")
MAX_CHUNK_BYTES = 1024 * 1024
MAX_CHUNK_BASE64 = 1398104  # base64 characters of MAX_CHUNK_BYTES (the contract's maxLength of `data`)
MAX_ACTION = 64
MAX_PARAMS_KEYS, MAX_PARAMS_BYTES = 16, 4096
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


async def _send(websocket: WebSocket, frame: BaseModel) -> None:
    """One server frame (a ``WsServerMessage`` model) as a JSON text frame."""
    await websocket.send_json(dump(frame))


def _status(status: str, message: str) -> WsStatusMessage:
    return WsStatusMessage(type="status", status=status, message=message)


async def voice_web_socket(websocket: WebSocket, session_id: str) -> None:
    """``GET /ws/{session_id}`` with ``Upgrade: websocket`` (voiceWebSocket); see the module doc."""
    vertebro = bundle()
    try:
        user = await authenticate_header(websocket.headers.get("authorization"))
        scope = await vertebro.scope(user) if user else None
        session = await vertebro.sessions.get_live(session_id, vertebro.now(), scope) if scope else None
    except StorageUnavailable:
        await _deny(websocket, 503, "mongo_unavailable")
        return
    if user is None:
        await _deny(websocket, 401, "Unauthorized")
        return
    if session is None or scope is None:
        await _deny(websocket, 404, "voice_session_not_found")
        return
    if vertebro.ws_open >= vertebro.settings.ws_max_connections:
        await _deny(websocket, 503, "ws_connection_limit")
        return
    vertebro.ws_open += 1
    try:
        await websocket.accept()
        await _send(websocket, _status("ready", greeting(session.language)))
        await _serve(websocket, session_id, scope)
    except WebSocketDisconnect:
        pass
    except SessionGone:
        await _close(websocket, 1008, "Session expired")
    except Exception:  # noqa: BLE001 - a bug must close the socket with 1011, not hang it
        logger.exception("voice WebSocket %s failed", session_id)
        await _close(websocket, 1011, "Internal error")
    finally:
        vertebro.ws_open -= 1


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED and websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)


async def _touch(session_id: str, scope: Scope, context: dict[str, Any] | None = None) -> VoiceSessionRecord:
    """Activity on the socket's session; :class:`SessionGone` when it ended, expired or is no longer
    visible to the caller (e.g. its project membership was revoked)."""
    vertebro = bundle()
    timeout = vertebro.settings.voice_session_timeout
    session = await vertebro.sessions.touch(session_id, vertebro.now(), timeout, context, scope)
    if session is None:
        raise SessionGone(session_id)
    return session


async def _serve(websocket: WebSocket, session_id: str, scope: Scope) -> None:
    audio = AudioPath(websocket, session_id, scope)
    try:
        await _serve_frames(websocket, session_id, scope, audio)
    finally:
        await audio.close()


async def _serve_frames(websocket: WebSocket, session_id: str, scope: Scope, audio: AudioPath) -> None:
    vertebro = bundle()
    while True:
        session = await vertebro.sessions.get_live(session_id, vertebro.now(), scope)
        if session is None:
            raise SessionGone(session_id)
        remaining = max(1.0, (session.expires_at - vertebro.now()).total_seconds())
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=min(remaining, 60.0))
        except TimeoutError:
            continue  # re-check that the session is still alive
        if message["type"] == "websocket.disconnect":
            return
        scope = await vertebro.scope(scope.user)  # a revoked membership ends the socket (1008)
        audio.scope = scope
        session = await _touch(session_id, scope)
        text = message.get("text")
        if text is None:
            await _error(websocket, BINARY_NOT_ACCEPTED)
            continue
        try:
            frame = strict_json(text)
        except JSONRejected as exc:
            await _error(websocket, f"Invalid JSON: {exc.reason}")
            continue
        if not isinstance(frame, dict):
            await _error(websocket, "a message must be a JSON object with a \"type\"")
            continue
        kind = frame.get("type")
        if kind == "ping":
            await _send(websocket, WsPongMessage(type="pong"))
        elif kind == "text_input":
            await _text_input(websocket, session, frame)
        elif kind == "navigation_command":
            await _navigation(websocket, session_id, scope, frame)
        elif kind == "audio_chunk":
            await audio.chunk(session, frame)
        else:
            await _error(websocket, f"unknown message type {kind!r}; expected text_input, navigation_command, "
                                    "audio_chunk or ping")


async def _error(websocket: WebSocket, message: str) -> None:
    await _send(websocket, WsErrorMessage(type="error", message=message))


async def _text_input(websocket: WebSocket, session: VoiceSessionRecord, frame: dict[str, Any]) -> None:
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        await _error(websocket, "text_input needs a non-empty string \"text\"")
        return
    if len(text) > MAX_TEXT:
        await _error(websocket, f"text_input \"text\" must be at most {MAX_TEXT} characters")
        return
    await _send(websocket, _status("thinking", THINKING[_lang(session.language)]))
    try:
        turn = await converse(session, text.strip())
    except ApiError as exc:
        await _error(websocket, f"{exc.code}: {exc.message}")
        return
    await _send(websocket, ws_response(turn.text, turn.audio_url, turn.sources, turn.suggested_actions))


async def _navigation(websocket: WebSocket, session_id: str, scope: Scope, frame: dict[str, Any]) -> None:
    action = frame.get("action")
    params = frame.get("params", {})
    if not isinstance(action, str) or not action.strip():
        await _error(websocket, "navigation_command needs a non-empty string \"action\"")
        return
    if not isinstance(params, dict):
        await _error(websocket, "navigation_command \"params\" must be an object")
        return
    if len(action) > MAX_ACTION or len(params) > MAX_PARAMS_KEYS or json_size(params) > MAX_PARAMS_BYTES:
        await _error(websocket, f"navigation_command \"action\" must be at most {MAX_ACTION} characters and "
                                f"\"params\" at most {MAX_PARAMS_KEYS} keys, {MAX_PARAMS_BYTES} bytes as JSON")
        return
    context = None
    if action in ("navigate", "open") and isinstance(params.get("url"), str):
        context = {"current_page": params["url"]}
    session = await _touch(session_id, scope, context)
    vertebro = bundle()
    await vertebro.history.add(session, "user", {"navigation": {"action": action, "params": params}}, vertebro.now())
    await _send(websocket, _status("navigation", f"navigation_command {action!r} received"))


class AudioPath:
    """The socket's audio: ``audio_chunk`` frames → the shared speech loop (VAD → ASR → reply).

    The reply is this API's own dialog turn (:func:`converse`: intent, knowledge, history,
    synthesized ``audio_url``), so spoken and typed input behave the same.
    """

    def __init__(self, websocket: WebSocket, session_id: str, scope: Scope) -> None:
        self.ws = websocket
        self.session_id = session_id
        self.scope = scope
        self.loop: SpeechLoop | None = None
        self.last_sequence: int | None = None
        self._session: VoiceSessionRecord | None = None

    def _make_loop(self, session: VoiceSessionRecord) -> SpeechLoop:
        from adapters.realtime.loop import SpeechLoop

        providers = bundle().providers

        async def respond(text: str) -> tuple[str, dict[str, Any]]:
            live = await _touch(self.session_id, self.scope)
            turn = await converse(live, text)
            return turn.text, {"audio_url": turn.audio_url, "sources": turn.sources,
                               "suggested_actions": turn.suggested_actions}

        return SpeechLoop(asr=providers.asr("mock"), tts=None, llm=None, emit=self._on_event, output=None,
                          language=session.language, responder=respond)

    async def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        language = _lang(self._session.language if self._session else "ru")
        if kind == "transcript":
            await _send(self.ws, ws_transcription(event["text"], event["confidence"]))
        elif kind == "reply":
            await _send(self.ws, ws_response(event["text"], event.get("audio_url"), event.get("sources", []),
                                             event.get("suggested_actions", [])))
        elif kind == "state" and event["state"] == "thinking":
            await _send(self.ws, _status("thinking", THINKING[language]))
        elif kind == "error":
            await _error(self.ws, event["message"])

    async def chunk(self, session: VoiceSessionRecord, frame: dict[str, Any]) -> None:
        """One ``audio_chunk`` frame (see the module docstring): ``data`` base64 PCM s16le mono,
        ``sequence`` increasing, ``sample_rate`` Hz (8000..48000, default 16000), ``is_final`` (or
        its camelCase spelling ``isFinal``) ends the utterance. Problems are ``error`` frames."""
        data, sequence = frame.get("data"), frame.get("sequence")
        if not isinstance(data, str) or not isinstance(sequence, int) or isinstance(sequence, bool):
            await _error(self.ws, "audio_chunk needs base64 \"data\" and an integer \"sequence\"")
            return
        if len(data) > MAX_CHUNK_BASE64:
            await _error(self.ws, "audio_chunk data must be at most 1 MiB per chunk")
            return
        if self.last_sequence is not None and sequence <= self.last_sequence:
            if sequence < self.last_sequence:
                await _error(self.ws, f"audio_chunk sequence {sequence} is behind {self.last_sequence}")
            return
        try:
            pcm = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            await _error(self.ws, "audio_chunk data is not valid base64")
            return
        if len(pcm) > MAX_CHUNK_BYTES or len(pcm) % 2:
            await _error(self.ws, "audio_chunk data must be whole 16-bit samples, at most 1 MiB per chunk")
            return
        rate = frame.get("sample_rate", 16000)
        if not isinstance(rate, int) or not 8000 <= rate <= 48000:
            await _error(self.ws, "audio_chunk sample_rate must be an integer between 8000 and 48000")
            return
        self.last_sequence = sequence
        self._session = session
        loop = self.loop if self.loop is not None else self._make_loop(session)
        self.loop = loop
        if rate != 16000 and pcm:
            pcm = codec.pcm_resample(pcm, rate, 16000)
        await loop.feed(pcm)
        final = frame["is_final"] if "is_final" in frame else frame.get("isFinal")  # snake_case wins
        if final is True:
            await loop.end_of_input()
            self.last_sequence = None

    async def close(self) -> None:
        """Stop the speech loop (its tasks are cancelled)."""
        if self.loop is not None:
            await self.loop.close()
