"""Vertebro ``WS /ws/{session_id}`` (voiceWebSocket): the text protocol.

Handshake: HTTP Basic credentials (401), a live session of the caller's (404
``voice_session_not_found``, the same for another user's session as for a missing one) and
a free connection slot (503 ``ws_connection_limit``, ``WS_MAX_CONNECTIONS`` across every process of
the deployment when ``REDIS_URL`` is set, else per process) are
checked before the upgrade; a refusal is an HTTP response with the API's ``{detail}`` body.

After the upgrade the server sends ``{"type": "status", "status": "ready", "message":
<greeting>}``. Client frames (JSON text) and the answers:

- ``{"type": "ping"}`` → ``{"type": "pong"}``.
- ``{"type": "text_input", "text": …}`` → ``{"type": "status", "status": "thinking", …}``, then
  ``{"type": "response", "text", "audio_url", "sources", "suggested_actions"}`` plus the
  camelCase aliases ``audioUrl`` / ``suggestedActions`` (one dialog turn, recorded in the history
  like ``POST /dialog/respond``; an ``error`` if the dialog engine fails), then
  ``{"type": "status", "status": "idle", …}``.
- ``{"type": "navigation_command", "action": …, "params": {…}}`` → recorded as a user turn
  (``params.url`` of a ``navigate``/``open`` action becomes the session's current page) and
  acknowledged with ``{"type": "status", "status": "navigation", "message": …}``.
- ``{"type": "audio_chunk", "data": <base64>, "sequence": n, "is_final": bool}`` → the caller's
  speech, fed to the realtime speech loop (adapters/realtime: voice activity detection → ASR →
  this API's dialog turn). ``data`` is raw 16-bit little-endian mono PCM at 16000 Hz (or at
  ``sample_rate`` Hz when the frame says so), or the pieces of one WebM/Opus, Ogg/Opus or WAV
  stream (a browser ``MediaRecorder``), detected from the first piece's bytes or ``mime_type``
  and decoded incrementally until ``is_final``; ``sequence`` must increase (a repeated number is
  ignored, a smaller one is an ``error``). When an utterance ends (0.6 s of silence, or
  ``is_final: true`` — ``isFinal`` is accepted too) the server sends ``{"type": "status",
  "status": "thinking", …}``, ``{"type": "transcription", "text", "is_final": true, "isFinal":
  true, "confidence"}``, the ``response`` frame (one asking to repeat when nothing was
  recognised) or an ``error``, and then ``status: idle``; an ``is_final`` input without any
  utterance gets an empty ``transcription``, the request to repeat and ``status: idle``.
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
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from adapters.providers import audio as codec
from adapters.providers.base import AudioDecodeError
from adapters.slots import SlotsUnavailable
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
from handlers.vertebro_voice.responses import audio_url, ws_response, ws_transcription
from handlers.vertebro_voice.security import authenticate_header
from handlers.vertebro_voice.session_channel import channel
from handlers.vertebro_voice.sessions import greeting
from handlers.vertebro_voice.speech import ASR_RATE, synthesize_cached

if TYPE_CHECKING:
    from adapters.providers.audio_stream import StreamDecoder
    from adapters.realtime.loop import SpeechLoop

logger = logging.getLogger("handlers.vertebro_voice.ws")

BINARY_NOT_ACCEPTED = ("binary frames are not accepted: send audio as JSON audio_chunk messages "
                       "(base64 PCM, 16 kHz mono s16le)")
MAX_CHUNK_BYTES = 1024 * 1024
MAX_CHUNK_BASE64 = 1398104  # base64 characters of MAX_CHUNK_BYTES (the contract's maxLength of `data`)
MAX_ACTION = 64
MAX_PARAMS_KEYS, MAX_PARAMS_BYTES = 16, 4096
THINKING = {"ru": "Обрабатываю...", "en": "Processing..."}
IDLE = {"ru": "Слушаю", "en": "Listening"}
REPEAT = {"ru": "Извините, я не расслышал. Повторите, пожалуйста.",
          "en": "Sorry, I did not catch that. Could you say it again?"}
MAX_MIME = 100
MAX_STREAM_SECONDS = 300.0  # decoded seconds of one container stream (as POST /recognize)


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
    try:
        async with vertebro.ws_slots.hold(vertebro.settings.ws_max_connections) as taken:
            if not taken:
                await _deny(websocket, 503, "ws_connection_limit")
                return
            await _converse(websocket, session_id, session.language, scope)
    except SlotsUnavailable:  # the deployment-wide slot count cannot be read: refuse, do not overbook
        logger.warning("voice WebSocket %s refused: connection slots unavailable", session_id, exc_info=True)
        if websocket.application_state == WebSocketState.CONNECTING:
            await _deny(websocket, 503, "ws_connection_limit_unavailable")


async def _converse(websocket: WebSocket, session_id: str, language: str, scope: Scope) -> None:
    """Accept, greet and serve the socket until it ends; a deletion of the session announced by
    any process (:mod:`handlers.vertebro_voice.session_channel`) closes it at once (1008)."""
    try:
        async with bundle().events.subscribe(channel(session_id)) as events:
            await websocket.accept()
            await _send(websocket, _status("ready", greeting(language)))
            serve = asyncio.ensure_future(_serve(websocket, session_id, scope))
            deleted = asyncio.ensure_future(_deleted(events))
            try:
                done, _ = await asyncio.wait({serve, deleted}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (serve, deleted):
                    task.cancel()
                # shielded: when the server cancels this socket (shutdown), the wait for the two
                # tasks must not take a second cancellation that would replace the one in flight
                # (the canceller could then not tell it was its own and reports the task cancelled)
                with anyio.CancelScope(shield=True):
                    await asyncio.gather(serve, deleted, return_exceptions=True)
            if serve in done:
                serve.result()  # re-raise what ended the conversation
            else:
                raise SessionGone(session_id)
    except WebSocketDisconnect:
        pass
    except SessionGone:
        await _close(websocket, 1008, "Session expired")
    except Exception:  # noqa: BLE001 - a bug must close the socket with 1011, not hang it
        logger.exception("voice WebSocket %s failed", session_id)
        await _close(websocket, 1011, "Internal error")


async def _deleted(events: AsyncIterator[dict[str, Any]]) -> None:
    """Returns when the session's channel says it was deleted."""
    async for event in events:
        if event.get("event") == "deleted":
            return


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
    language = _lang(session.language)
    await _send(websocket, _status("thinking", THINKING[language]))
    try:
        turn = await converse(session, text.strip())
    except ApiError as exc:
        await _error(websocket, f"{exc.code}: {exc.message}")
    else:
        await _send(websocket, ws_response(turn.text, turn.audio_url, turn.sources, turn.suggested_actions))
    await _send(websocket, _status("idle", IDLE[language]))


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
    """The socket's audio: ``audio_chunk`` frames → (container decoding →) the shared speech loop
    (VAD → ASR → reply).

    ``data`` is raw PCM s16le, or pieces of one WebM/Opus, Ogg/Opus or WAV stream (a browser's
    ``MediaRecorder`` output), detected from the first piece's bytes or the frame's ``mime_type``
    and decoded incrementally (:class:`adapters.providers.audio_stream.StreamDecoder`): later
    pieces of a stream have no header of their own, so a stream lasts until ``is_final`` (or a new
    header). The decoded audio goes through the same utterance detection as PCM. The reply is this
    API's own dialog turn (:func:`converse`: intent, knowledge, history, synthesized
    ``audio_url``), so spoken and typed input behave the same. Every utterance ends with a terminal
    frame — the ``response``, a ``response`` asking the caller to repeat when nothing was
    recognised, or an ``error`` — followed by ``status: idle``.
    """

    def __init__(self, websocket: WebSocket, session_id: str, scope: Scope) -> None:
        self.ws = websocket
        self.session_id = session_id
        self.scope = scope
        self.loop: SpeechLoop | None = None
        self.last_sequence: int | None = None
        self._session: VoiceSessionRecord | None = None
        self._decoder: StreamDecoder | None = None
        self._broken = False  # the current container stream failed to decode: discard it until is_final
        self._turns = 0  # utterances taken up since the current input stream started

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

    def _language(self) -> str:
        return _lang(self._session.language if self._session else "ru")

    async def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "transcript":
            await _send(self.ws, ws_transcription(event["text"], event["confidence"]))
            if not event["text"].strip():
                await self._ask_to_repeat()
        elif kind == "reply":
            await _send(self.ws, ws_response(event["text"], event.get("audio_url"), event.get("sources", []),
                                             event.get("suggested_actions", [])))
        elif kind == "state" and event["state"] == "thinking":
            self._turns += 1
            await _send(self.ws, _status("thinking", THINKING[self._language()]))
        elif kind == "state" and event["state"] == "idle":
            await _send(self.ws, _status("idle", IDLE[self._language()]))
        elif kind == "error":
            await _error(self.ws, event["message"])

    async def _ask_to_repeat(self) -> None:
        """The terminal ``response`` of an utterance in which nothing was recognised: a request to
        repeat in the session's language (synthesized into the project's audio cache when possible)."""
        text = REPEAT[self._language()]
        url = None
        if self._session is not None:
            try:
                entry, _ = await synthesize_cached(text, language=self._session.language,
                                                   project=self._session.project)
                url = audio_url(entry)
            except ApiError as exc:  # the request to repeat is still given as text
                logger.warning("repeat prompt not synthesized: %s", exc.message)
        await _send(self.ws, ws_response(text, url, [], []))

    async def _nothing_heard(self) -> None:
        """``is_final`` ended an input in which no utterance was detected: the caller still gets
        the empty ``transcription``, a ``response`` asking to repeat and ``status: idle``."""
        await _send(self.ws, ws_transcription("", 0.0))
        await self._ask_to_repeat()
        await _send(self.ws, _status("idle", IDLE[self._language()]))

    async def _decode(self, data: bytes, mime: str | None, final: bool) -> bytes | None:
        """The PCM (16 kHz) of one piece: raw PCM as it is, container pieces through the stream's
        decoder (started by the first piece). None after an ``error`` frame was sent."""
        from adapters.providers.audio_stream import StreamDecoder, sniff_container, starts_new_stream

        if self._decoder is not None and starts_new_stream(self._decoder.container, data):
            pcm = await self._finish_decoder()  # the recorder restarted: the old stream ends here
            if pcm:
                assert self.loop is not None
                await self.loop.feed(pcm)
        if self._decoder is None and not self._broken:
            try:
                container = sniff_container(data, mime)
            except AudioDecodeError as exc:
                self._broken = True  # the rest of this input is of the same unsupported type
                await _error(self.ws, f"audio_chunk: {exc}")
                return None
            if container is None:
                if len(data) % 2:
                    await _error(self.ws, "audio_chunk PCM data must be whole 16-bit samples")
                    return None
                return data
            self._decoder = StreamDecoder(container, sample_rate=ASR_RATE, max_seconds=MAX_STREAM_SECONDS)
        if self._broken or self._decoder is None:
            return b""
        decoder = self._decoder
        try:
            pcm = await anyio.to_thread.run_sync(decoder.push, data)
            if final:
                pcm += await self._finish_decoder()
        except AudioDecodeError as exc:
            self._decoder, self._broken = None, True
            decoder.close()
            await _error(self.ws, f"audio_chunk: {exc}")
            return None
        return pcm

    async def _finish_decoder(self) -> bytes:
        decoder, self._decoder = self._decoder, None
        return await anyio.to_thread.run_sync(decoder.finish) if decoder is not None else b""

    async def chunk(self, session: VoiceSessionRecord, frame: dict[str, Any]) -> None:
        """One ``audio_chunk`` frame (see the module docstring): ``data`` base64 audio (PCM s16le
        mono, or a piece of a WebM/Ogg/WAV stream), ``sequence`` increasing, optional ``mime_type``,
        ``sample_rate`` Hz of PCM (8000..48000, default 16000), ``is_final`` (or its camelCase
        spelling ``isFinal``) ends the utterance and the stream. Problems are ``error`` frames."""
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
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            await _error(self.ws, "audio_chunk data is not valid base64")
            return
        if len(raw) > MAX_CHUNK_BYTES:
            await _error(self.ws, "audio_chunk data must be at most 1 MiB per chunk")
            return
        mime = frame.get("mime_type")
        if mime is not None and (not isinstance(mime, str) or len(mime) > MAX_MIME):
            await _error(self.ws, f"audio_chunk mime_type must be a string of at most {MAX_MIME} characters")
            return
        rate = frame.get("sample_rate", 16000)
        if not isinstance(rate, int) or not 8000 <= rate <= 48000:
            await _error(self.ws, "audio_chunk sample_rate must be an integer between 8000 and 48000")
            return
        final = (frame["is_final"] if "is_final" in frame else frame.get("isFinal")) is True  # snake_case wins
        self.last_sequence = sequence
        self._session = session
        loop = self.loop if self.loop is not None else self._make_loop(session)
        self.loop = loop
        was_container = self._decoder is not None or self._broken
        pcm = await self._decode(raw, mime, final)
        if pcm is None and not final:
            return
        if pcm and not (was_container or self._decoder is not None) and rate != ASR_RATE:
            pcm = codec.pcm_resample(pcm, rate, ASR_RATE)
        if pcm:
            await loop.feed(pcm)
        if final:
            await self._end_of_input(loop)

    async def _end_of_input(self, loop: SpeechLoop) -> None:
        """``is_final``: finish the utterance in progress; an input that ended without any (silence,
        noise, undecodable audio) still gets its terminal frames."""
        broken = self._broken
        if self._decoder is not None:
            try:
                pcm = await self._finish_decoder()
                if pcm:
                    await loop.feed(pcm)
            except AudioDecodeError as exc:
                broken = True
                await _error(self.ws, f"audio_chunk: {exc}")
        await loop.end_of_input()
        if broken and not self._turns:
            await _send(self.ws, _status("idle", IDLE[self._language()]))  # after the error frame
        elif not self._turns:
            await self._nothing_heard()
        self.last_sequence = None
        self._broken, self._turns = False, 0

    async def close(self) -> None:
        """Stop the speech loop (its tasks are cancelled) and any stream decoder."""
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        if self.loop is not None:
            await self.loop.close()
