"""ServiceAi exchangeRealtimeWebrtcSdp: ``POST /api/realtime/webrtc`` (desktop, server-proxied).

Body ``{sdp}`` (the client's SDP offer), header ``X-CSRF-Token`` (from GET /api/csrf-token:
bound to the caller, 5 minutes, single use). Answers ``200 application/sdp`` with the SDP answer.

- No realtime backend configured: the answer comes from this server's own WebRTC peer
  (adapters/realtime): it listens on the caller's audio track, replies with speech on its
  own track (offline ASR → LLM → TTS, with this caller's Chatty Voice context as system
  prompt) and sends transcript/reply/viseme events on the data channel the caller opens.
- Backend configured (``SERVICEAI_REALTIME_API_KEY``): a fresh client secret is minted and
  the raw offer is forwarded to the backend's WebRTC endpoint; its answer is returned, and
  any backend error is passed through verbatim (status, content type, body). A failure to
  mint the secret is ``502 {error, status?}``.

Order of checks: 401 → 400 (contract) → 426 → 403 entitlement → 429 (3 requests per minute
per client IP) → 403 CSRF → 400 SDP.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from connexion import request
from starlette.responses import Response

from adapters.providers.base import ProviderError, VoiceSettings
from adapters.realtime.loop import CALL_SPEAKING_RATE, SpeechLoop
from adapters.realtime.peer import InvalidOffer, PeerLimitReached
from handlers.errors import ApiError
from handlers.serviceai.bundle import bundle
from handlers.serviceai.context import build_context
from handlers.serviceai.realtime import consume_csrf_token, mint_session
from handlers.serviceai.versioning import chatty, json_body

logger = logging.getLogger("handlers.serviceai.webrtc")

PER_IP_PER_MINUTE = 3


def _client_ip() -> str:
    client = request.scope.get("client")
    return client[0] if client else "unknown"


def _charge_ip() -> None:
    decision = bundle().limiter.hit(f"serviceai:webrtc:{_client_ip()}", PER_IP_PER_MINUTE)
    if not decision.allowed:
        raise ApiError(429, "RATE_LIMITED", f"At most {PER_IP_PER_MINUTE} SDP exchanges per minute per client IP.",
                       details={"limit": decision.limit})


async def _no_op(_event: dict[str, Any]) -> None:
    return None


async def _local_answer(sdp: str, token_info: dict[str, Any]) -> Response:
    s = bundle()
    context = await build_context(token_info)
    from adapters.providers.llm import ChatMessage

    asr, tts, llm = s.providers.asr("mock"), s.providers.tts("mock"), s.providers.llm()

    def attach(peer) -> None:
        peer.loop = SpeechLoop(asr=asr, tts=tts, llm=llm, emit=peer.send, output=peer.output,
                               chat_message=ChatMessage, voice=VoiceSettings(language="en-US", rate=CALL_SPEAKING_RATE), language="en-US",
                               system_prompt=context.instructions)

    try:
        peer = await s.peers.open(sdp, _no_op, attach)
    except InvalidOffer as exc:
        raise ApiError(400, "INVALID_SDP", f"Invalid SDP format: {exc}") from None
    except PeerLimitReached as exc:
        raise ApiError(429, "PEER_LIMIT", str(exc)) from None
    return Response(peer.answer_sdp, media_type="application/sdp")


async def _upstream_answer(sdp: str, token_info: dict[str, Any]) -> Response:
    backend = bundle().realtime
    try:
        session = await mint_session(token_info)
    except ProviderError as exc:
        status = getattr(exc, "status", None)
        body: dict[str, Any] = {"error": f"Could not mint a realtime client secret: {exc}"}
        if isinstance(status, int):
            body["status"] = status
        return Response(json.dumps(body), status_code=502, media_type="application/json")
    try:
        status, content_type, payload = await backend.exchange_sdp(session.client_secret, sdp)
    except ProviderError as exc:
        return Response(json.dumps({"error": str(exc)}), status_code=502, media_type="application/json")
    if 200 <= status < 300:
        return Response(payload, media_type="application/sdp")
    return Response(payload, status_code=status, media_type=content_type)  # verbatim pass-through


@chatty
async def exchange_realtime_webrtc_sdp(token_info: dict[str, Any], body: dict[str, Any] | None = None):
    """``POST /api/realtime/webrtc`` (exchangeRealtimeWebrtcSdp): see the module docstring.

    Returns the SDP answer as ``application/sdp``. Errors: 400 (contract or invalid SDP), 401,
    403 (no entitlement, or a missing/wrong/used/expired CSRF token), 426, 429 (3/min/IP or the
    server's peer limit), 502 (minting the upstream secret failed), upstream statuses verbatim.
    """
    sdp = json_body(body).get("sdp", "")
    _charge_ip()
    if not await consume_csrf_token(token_info["sub"], request.headers.get("x-csrf-token")):
        raise ApiError(403, "CSRF_INVALID", "X-CSRF-Token is missing, expired, already used or not yours")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise ApiError(400, "INVALID_SDP", "Invalid SDP format: an SDP offer starts with 'v=0'")
    if bundle().realtime is None:
        return await _local_answer(sdp, token_info)
    return await _upstream_answer(sdp, token_info)
