"""Virtual Banker webrtcSignaling: ``GET /v1/realtime/{sessionId}`` upgraded to a WebSocket.

Protocol (JSON text messages; also in the contract's description):

- Authenticate with the session's ephemeral token or its owner's JWT, either as the
  ``token`` query parameter (checked before the upgrade: 401/404 answered as HTTP) or as the
  first message ``{"type": "auth", "token": …}`` within 10 s. Anything else closes the
  socket with 4401. An unknown, ended or foreign session is 404 before the upgrade (or 4404).
- Client → server: ``{"type": "offer", "sdp"}`` (one per socket), ``{"type": "ice",
  "candidate": {"candidate", "sdpMid", "sdpMLineIndex"}}`` (trickled), ``{"type": "bye"}``.
- Server → client: ``{"type": "ready", "session_id"}``, ``{"type": "answer", "sdp"}`` (it
  carries the server's candidates), then the speech loop's events: ``state``, ``transcript``,
  ``reply``, ``visemes``, ``barge_in``, ``metrics``; and ``{"type": "error", "code",
  "message"}`` for a bad message (the socket stays open), ``{"type": "closed", "reason"}``.
- The same events go over the WebRTC data channel the caller opens (for an avatar's lip sync).
- The socket closes (4404) when the session ends or expires, and the peer hangs up with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from adapters.providers.base import ProviderError, VoiceSettings
from adapters.realtime.loop import CALL_SPEAKING_RATE, SpeechLoop
from adapters.realtime.peer import InvalidOffer, PeerLimitReached, ServerPeer
from adapters.storage.virtual_banker.sessions import SessionRecord
from core.clock import utcnow
from core.jsontext import loads as strict_json
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.envelope import VirtualBankerEnvelope
from handlers.virtual_banker.events import emit
from handlers.virtual_banker.security import bearer_info
from handlers.virtual_banker.session_channel import RECHECK_SECONDS, channel
from handlers.virtual_banker.voice_state import activity

logger = logging.getLogger("handlers.virtual_banker.realtime")

CLOSE_UNAUTHORIZED = 4401
CLOSE_SESSION_GONE = 4404
AUTH_TIMEOUT = 10.0


#: Why a handshake is refused: (HTTP status, error code).
Refusal = tuple[int, str]


def _denial(status: int, code: str, message: str) -> JSONResponse:
    """An HTTP answer to the handshake in the API's ``ErrorResponse`` envelope."""
    return JSONResponse(VirtualBankerEnvelope().body(status, code, message, None, violation=False),
                        status_code=status)


async def _authorize(token: str | None, session_id: str) -> tuple[SessionRecord, None] | tuple[None, Refusal]:
    """The live session ``session_id`` if ``token`` may use it; else (status, code) to refuse."""
    if not token:
        return None, (401, "UNAUTHORIZED")
    info = await bearer_info(token)
    if info is None:
        return None, (401, "UNAUTHORIZED")
    if info.get("kind") == "ephemeral" and info.get("session_id") != session_id:
        return None, (404, "SESSION_NOT_FOUND")
    record = await bundle().sessions.get_live(session_id, utcnow())
    if record is None or record.tenant_id != info["tenant_id"] or record.user_id != info["sub"]:
        return None, (404, "SESSION_NOT_FOUND")
    return record, None


async def webrtc_signaling(websocket: WebSocket, session_id: str) -> None:
    """WebSocket handler of ``webrtcSignaling`` (see the module docstring for the protocol).

    Excluded from the typed-handler rule: it takes a Starlette ``WebSocket``, not a JSON body.
    """
    token = websocket.query_params.get("token")
    s = bundle()
    record: SessionRecord | None = None
    if token is not None:
        record, refusal = await _authorize(token, session_id)
        if refusal:
            status, code = refusal
            await websocket.send_denial_response(_denial(status, code, f"Session {session_id}: {code}"))
            return
    elif await s.sessions.get_live(session_id, utcnow()) is None:
        await websocket.send_denial_response(
            _denial(404, "SESSION_NOT_FOUND", f"Session {session_id} not found"))
        return
    await websocket.accept()
    if record is None:
        try:
            first = strict_json(await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT))
        except (TimeoutError, ValueError, WebSocketDisconnect, KeyError):
            first = {}
        token = first.get("token") if isinstance(first, dict) and first.get("type") == "auth" else None
        record, refusal = await _authorize(token, session_id)
        if refusal:
            await websocket.close(CLOSE_UNAUTHORIZED if refusal[0] == 401 else CLOSE_SESSION_GONE, refusal[1])
            return
    assert record is not None  # _authorize returns a record or a refusal
    await Signaling(websocket, record).run()


class Signaling:
    """One signaling socket: at most one peer, closed with the socket or the session."""

    def __init__(self, websocket: WebSocket, record: SessionRecord) -> None:
        self.ws = websocket
        self.record = record
        self.peer: ServerPeer | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message (dropped once the socket is closed)."""
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        async with self._send_lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def on_loop_event(self, event: dict[str, Any]) -> None:
        """Loop events: to the socket, to the voice state machine and to webhooks."""
        await self.send(event)
        sid, tenant = self.record.session_id, self.record.tenant_id
        kind = event.get("type")
        if kind == "state":
            await activity.set_realtime(sid, tenant, event["state"])
        elif kind == "transcript":
            await emit(tenant, "transcription.complete", {"session_id": sid, "type": "final", "text": event["text"],
                                                          "confidence": event["confidence"], "channel": "realtime"})
        elif kind == "metrics":
            await emit(tenant, "synthesis.complete", {"session_id": sid, "duration": event["reply_duration"],
                                                      "channel": "realtime"})

    async def run(self) -> None:
        """Serve the socket until ``bye``, a disconnect, or the session's end; then hang up."""
        await self.send({"type": "ready", "session_id": self.record.session_id})
        watcher = asyncio.get_running_loop().create_task(self._watch_session())
        try:
            while True:
                try:
                    raw = await self.ws.receive_text()
                except (WebSocketDisconnect, RuntimeError):
                    break
                if not await self.handle(raw):
                    break
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await self.hang_up()

    async def handle(self, raw: str) -> bool:
        """Handle one message; False ends the conversation."""
        try:
            message = strict_json(raw)
        except ValueError:
            await self.send({"type": "error", "code": "INVALID_JSON", "message": "message is not JSON"})
            return True
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "offer":
            await self.offer(message.get("sdp"))
        elif kind == "ice":
            if self.peer is None:
                await self.send({"type": "error", "code": "NO_PEER", "message": "send an offer first"})
            else:
                try:
                    await self.peer.add_ice_candidate(message.get("candidate") or {})
                except ValueError as exc:
                    await self.send({"type": "error", "code": "INVALID_CANDIDATE", "message": str(exc)})
        elif kind == "bye":
            return False
        else:
            await self.send({"type": "error", "code": "UNKNOWN_MESSAGE",
                             "message": "expected one of: offer, ice, bye"})
        return True

    async def offer(self, sdp: Any) -> None:
        """Answer an SDP offer with a new peer running the speech loop (one per socket)."""
        if self.peer is not None:
            await self.send({"type": "error", "code": "ALREADY_CONNECTED", "message": "one offer per socket"})
            return
        s = bundle()
        voice = await s.voice.get(self.record.session_id)
        try:
            asr = s.providers.asr(voice.asr_provider if voice else "mock")
            tts = s.providers.tts(voice.tts_provider if voice else "mock")
            llm = s.providers.llm()
        except ProviderError as exc:
            await self.send({"type": "error", "code": "PROVIDER_UNAVAILABLE", "message": str(exc)})
            return
        from adapters.providers.llm import ChatMessage

        config = (voice.voice_config if voice else {}) or {}
        greeting = self.record.config.get("greeting", "")

        # `peer` is a ServerPeer; typed Any because adapters/realtime/peer.py declares its `loop`
        # attribute as `None` only (mypy infers type None), so assigning the SpeechLoop would not check.
        def attach(peer: Any) -> None:
            peer.loop = SpeechLoop(
                asr=asr, tts=tts, llm=llm, emit=peer.send, output=peer.output, chat_message=ChatMessage,
                voice=VoiceSettings(voice_id=config.get("voice_id"), language="en-US", rate=CALL_SPEAKING_RATE),
                language="en-US",
                system_prompt=("You are the Virtual Banker, a polite bank assistant speaking on a voice call. "
                               f"Answer briefly. Greeting used: {greeting}"),
            )

        try:
            peer = await s.peers.open(sdp if isinstance(sdp, str) else "", self.on_loop_event, attach)
        except InvalidOffer as exc:
            await self.send({"type": "error", "code": "INVALID_SDP", "message": str(exc)})
            return
        except PeerLimitReached as exc:
            await self.send({"type": "error", "code": "PEER_LIMIT", "message": str(exc)})
            return
        self.peer = peer
        await self.send({"type": "answer", "sdp": peer.answer_sdp})
        asyncio.get_running_loop().create_task(self._follow_peer(peer))

    async def _follow_peer(self, peer: ServerPeer) -> None:
        await peer.closed.wait()
        if self.peer is peer and self.ws.application_state == WebSocketState.CONNECTED:
            await self.send({"type": "closed", "reason": "peer_closed"})
            with contextlib.suppress(RuntimeError):
                await self.ws.close(1000)

    async def _watch_session(self) -> None:
        """Close the socket and its peer when the session ends or expires, on any process: the
        session's channel says so at once (``ended``; ``token_refreshed`` moves the expiry), and
        the database is re-checked every :data:`RECHECK_SECONDS` for a missed event."""
        async with bundle().events.subscribe(channel(self.record.session_id)) as messages:
            if await bundle().sessions.get_live(self.record.session_id, utcnow()) is None:
                await self._session_gone()  # ended between the handshake and the subscription
                return
            expires_at = self.record.expires_at
            next_check = asyncio.get_running_loop().time() + RECHECK_SECONDS
            pending: asyncio.Task[dict[str, Any]] | None = None
            try:
                while True:
                    loop_now = asyncio.get_running_loop().time()
                    until_expiry = (expires_at - utcnow()).total_seconds()
                    if pending is None:
                        pending = asyncio.ensure_future(anext(messages))
                    done, _ = await asyncio.wait({pending}, timeout=max(0.0, min(until_expiry, next_check - loop_now)))
                    if done:
                        message, pending = pending.result(), None
                        if message.get("event") == "ended":
                            await self._session_gone()
                            return
                        if message.get("event") == "token_refreshed":
                            with contextlib.suppress(KeyError, TypeError, ValueError):
                                expires_at = datetime.fromisoformat(message["expires_at"])
                        continue
                    if utcnow() >= expires_at or asyncio.get_running_loop().time() >= next_check:
                        record = await bundle().sessions.get_live(self.record.session_id, utcnow())
                        if record is None:
                            await self._session_gone()
                            return
                        expires_at = record.expires_at
                        next_check = asyncio.get_running_loop().time() + RECHECK_SECONDS
            finally:
                if pending is not None:
                    pending.cancel()

    async def _session_gone(self) -> None:
        await self.send({"type": "closed", "reason": "session_ended"})
        await self.hang_up()
        with contextlib.suppress(RuntimeError):
            await self.ws.close(CLOSE_SESSION_GONE, "session ended")

    async def hang_up(self) -> None:
        """Close the peer (if any) and leave the realtime state."""
        peer, self.peer = self.peer, None
        if peer is not None:
            await peer.close()
        await activity.set_realtime(self.record.session_id, self.record.tenant_id, None)
