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
  mint the secret (or to reach the backend's SDP endpoint) is ``502 RealtimeWebrtcMintError``
  ``{error, status?}``.

Order of checks: 401 → 400 (contract) → 426 → 403 entitlement → 429 (3 requests per minute
per client IP, ``SERVICEAI_WEBRTC_PER_IP_PER_MINUTE``) → 403 CSRF → 400 SDP.

The client IP is the ASGI connection's peer (``scope["client"]``); no forwarding header is read
here. Behind a reverse proxy, the server (uvicorn's proxy-headers handling, trusted peers from
``FORWARDED_ALLOW_IPS``, none by default) is what may replace it with the forwarded client.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from adapters.providers.base import ProviderError, VoiceSettings
from adapters.providers.llm import ChatMessage
from adapters.realtime.loop import CALL_SPEAKING_RATE, SpeechLoop
from adapters.realtime.peer import InvalidOffer, PeerLimitReached, ServerPeer
from generated.models.serviceai import RealtimeWebrtcMintError, RealtimeWebrtcRequest
from handlers.errors import ApiError
from handlers.request import request
from handlers.results import Reply
from handlers.serviceai.bundle import bundle
from handlers.serviceai.context import build_context
from handlers.serviceai.realtime import consume_csrf_token, mint_session, realtime_backend
from handlers.serviceai.versioning import chatty

logger = logging.getLogger("handlers.serviceai.webrtc")

SDP = "application/sdp"


def client_ip() -> str:
    """The current request's client address: the ASGI peer (``scope["client"]``), never a
    request header; ``"unknown"`` when the server gives none."""
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


async def _charge_ip() -> None:
    s = bundle()
    limit = s.settings.serviceai_webrtc_per_ip_per_minute
    decision = await s.limiter.hit(f"serviceai:webrtc:{client_ip()}", limit)
    if not decision.allowed:
        raise ApiError(429, "RATE_LIMITED", f"At most {limit} SDP exchanges per minute per client IP.",
                       details={"limit": decision.limit}, headers={"Retry-After": str(decision.retry_after())})


async def _no_op(_event: dict[str, Any]) -> None:
    return None


async def _local_answer(sdp: str, token_info: dict[str, Any]) -> Response:
    s = bundle()
    context = await build_context(token_info)
    asr, tts, llm = s.providers.asr("mock"), s.providers.tts("mock"), s.providers.llm()

    def attach(peer: ServerPeer) -> None:
        loop = SpeechLoop(asr=asr, tts=tts, llm=llm, emit=peer.send, output=peer.output, chat_message=ChatMessage,
                          voice=VoiceSettings(language="en-US", rate=CALL_SPEAKING_RATE), language="en-US",
                          system_prompt=context.instructions)
        # ServerPeer.__init__ sets `self.loop = None` unannotated (adapters/realtime/peer.py), so mypy types the
        # attribute as None; it is the peer's SpeechLoop slot. Unused (and flagged) once the adapter annotates it.
        peer.loop = loop  # type: ignore[assignment]

    try:
        peer = await s.peers.open(sdp, _no_op, attach)
    except InvalidOffer as exc:
        raise ApiError(400, "INVALID_SDP", f"Invalid SDP format: {exc}") from None
    except PeerLimitReached as exc:
        raise ApiError(429, "PEER_LIMIT", str(exc)) from None
    return Response(peer.answer_sdp, media_type=SDP)


async def _upstream_answer(sdp: str, token_info: dict[str, Any]) -> Response | Reply:
    try:
        session = await mint_session(token_info)
    except ProviderError as exc:
        status = getattr(exc, "status", None)
        return Reply(RealtimeWebrtcMintError(error=f"Could not mint a realtime client secret: {exc}",
                                             status=status if isinstance(status, int) else None), 502)
    try:
        status, content_type, payload = await realtime_backend().exchange_sdp(session.client_secret, sdp)
    except ProviderError as exc:
        return Reply(RealtimeWebrtcMintError(error=str(exc)), 502)
    if 200 <= status < 300:
        return Response(payload, media_type=SDP)
    return Response(payload, status_code=status, media_type=content_type)  # verbatim pass-through


@chatty
async def exchange_realtime_webrtc_sdp(token_info: dict[str, Any], body: RealtimeWebrtcRequest) -> Response | Reply:
    """``POST /api/realtime/webrtc`` (exchangeRealtimeWebrtcSdp): see the module docstring.

    ``body`` is ``RealtimeWebrtcRequest`` ``{sdp}``; header ``X-CSRF-Token``. Returns the SDP
    answer as a ``200 application/sdp`` ``Response``. Errors: 400 (contract or invalid SDP), 401,
    403 (no entitlement, or a missing/wrong/used/expired CSRF token), 426
    (``Reply(UpgradeRequiredEnvelope, 426)`` from the gate), 429 (3/min/IP or the server's peer
    limit), 502 (``Reply(RealtimeWebrtcMintError, 502)``), upstream statuses verbatim.
    """
    await _charge_ip()
    if not await consume_csrf_token(token_info["sub"], request.headers.get("x-csrf-token")):
        raise ApiError(403, "CSRF_INVALID", "X-CSRF-Token is missing, expired, already used or not yours")
    if not body.sdp.startswith("v=0"):
        raise ApiError(400, "INVALID_SDP", "Invalid SDP format: an SDP offer starts with 'v=0'")
    if bundle().realtime is None:
        return await _local_answer(body.sdp, token_info)
    return await _upstream_answer(body.sdp, token_info)
