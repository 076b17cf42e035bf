"""Realtime voice bootstrap: createRealtimeToken and getCsrfToken, plus the CSRF consume step
that the server-proxied SDP exchange (POST /api/realtime/webrtc) calls.

``createRealtimeToken`` answers ONE union object (only ``fallback`` always present), by branch:

* no realtime backend configured (``SERVICEAI_REALTIME_API_KEY`` unset) →
  200 ``{fallback: true, directWebRTC, useWebRTC: false, message, metadata}``: the client uses
  its HTTP fallback (tools/execute + its own speech);
* ``directWebRTC: true`` → a session is minted at the backend (``POST {base}/realtime/sessions``
  with the caller's system prompt and tools) → 200 ``{sessionId, model, voice, clientSecret,
  fallback: false, directWebRTC: true, useWebRTC: true, expiresInSeconds, metadata}``: the
  client connects to the realtime model itself with ``clientSecret``;
* ``directWebRTC`` false or absent (desktop, server-proxied) → nothing is minted here; 200
  ``{fallback: false, directWebRTC: false, useWebRTC: true, model, voice, message, metadata}``:
  the client fetches GET /api/csrf-token and posts its SDP offer to POST /api/realtime/webrtc,
  where the server mints its own secret;
* the mint fails (backend unreachable, non-2xx, no secret) → 500 ``{fallback: true, …, message}``.

``metadata.organizationId`` is the caller's organisation. Every call is charged to the caller's
per-user budget ``SERVICEAI_REALTIME_MINT_PER_MINUTE`` (moving one-minute window, ``limits``
library); past it → 429 with ``Retry-After``. Requests rejected earlier (400/401/403/426)
are not charged.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from adapters.providers.base import ProviderError
from adapters.providers.openai_realtime import RealtimeBackend, RealtimeSession
from core.clock import utcnow
from generated.models.serviceai import CsrfTokenResponse, Metadata, RealtimeTokenRequest, RealtimeTokenResponse
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.serviceai.bundle import bundle
from handlers.serviceai.context import build_context
from handlers.serviceai.permissions import effective_permissions
from handlers.serviceai.toolkit import TOOLS
from handlers.serviceai.versioning import chatty

logger = logging.getLogger("handlers.serviceai.realtime")

CSRF_TTL = timedelta(minutes=5)
DEFAULT_SECRET_SECONDS = 60
NOT_CONFIGURED = "Realtime voice is not configured on this server; use the HTTP fallback."
MINT_FAILED = "Could not start a realtime voice session; use the HTTP fallback."
SERVER_PROXIED = ("Server-proxied WebRTC: send your SDP offer to POST /api/realtime/webrtc with an "
                  "X-CSRF-Token from GET /api/csrf-token.")


async def _charge_mint(user_id: str) -> None:
    per_minute = bundle().settings.serviceai_realtime_mint_per_minute
    decision = await bundle().limiter.hit(f"serviceai:realtime-token:{user_id}", per_minute)
    if not decision.allowed:
        retry = decision.retry_after()
        raise ApiError(429, "RATE_LIMITED",
                       f"Realtime token mint limit of {decision.limit} per minute reached; retry in {retry} s.",
                       details={"limit": decision.limit, "retryAfterSeconds": retry},
                       headers={"Retry-After": str(retry)})


def realtime_backend() -> RealtimeBackend:
    """The configured realtime backend; raises ProviderError when ``SERVICEAI_REALTIME_API_KEY``
    is unset (callers check :attr:`ServiceaiBundle.realtime` first and answer their fallback)."""
    backend = bundle().realtime
    if backend is None:
        raise ProviderError("no realtime backend: SERVICEAI_REALTIME_API_KEY is not set")
    return backend


async def mint_session(token_info: dict[str, Any]) -> RealtimeSession:
    """Mint a session at the configured realtime backend for the caller: their assembled
    system prompt and only the tools they may use. Returns the backend's ``RealtimeSession``;
    raises ProviderError (with ``status`` when the backend answered) when minting fails or no
    backend is configured. Serves createRealtimeToken and exchangeRealtimeWebrtcSdp."""
    backend = realtime_backend()
    context = await build_context(token_info)
    allowed = effective_permissions(token_info)
    tools = [t.realtime_definition() for t in TOOLS.values() if t.permission is None or t.permission in allowed]
    return await backend.mint(instructions=context.instructions, tools=tools)


def session_response(session: RealtimeSession, metadata: Metadata) -> RealtimeTokenResponse:
    """A minted ``session`` as the directWebRTC branch of ``RealtimeTokenResponse``:
    ``expiresInSeconds`` (whole seconds, ≥ 0) until its secret expires, 60 when the backend did
    not say; ``sessionId`` only when the backend named one."""
    seconds = DEFAULT_SECRET_SECONDS
    if session.expires_at is not None:
        seconds = max(0, int((session.expires_at - utcnow()).total_seconds()))
    return RealtimeTokenResponse(sessionId=session.session_id or None, model=session.model, voice=session.voice,
                                 clientSecret=session.client_secret, fallback=False, directWebRTC=True,
                                 useWebRTC=True, expiresInSeconds=seconds, metadata=metadata)


@chatty
async def create_realtime_token(token_info: dict[str, Any],
                                body: RealtimeTokenRequest | None = None) -> RealtimeTokenResponse | Reply:
    """``POST /api/realtime-token`` (createRealtimeToken): see the module docstring. ``body``
    ``{directWebRTC?}`` (absent = ``{}``) → 200 ``RealtimeTokenResponse`` (the union object).

    Errors: 401, 400 (body or X-Client-Version breaks the contract), 426, 403 (no
    ``chatty-voice`` entitlement), 429 (per-user mint budget, ``Retry-After``), 500 (mint
    failure: ``Reply(RealtimeTokenResponse{fallback: true, …}, 500)``).
    """
    direct = bool(body and body.directWebRTC)
    await _charge_mint(token_info["sub"])
    metadata = Metadata(organizationId=token_info["organization_id"])
    backend = bundle().realtime
    if backend is None:
        return RealtimeTokenResponse(fallback=True, directWebRTC=direct, useWebRTC=False, metadata=metadata,
                                     message=NOT_CONFIGURED)
    if not direct:
        return RealtimeTokenResponse(fallback=False, directWebRTC=False, useWebRTC=True, model=backend.model,
                                     voice=backend.voice, metadata=metadata, message=SERVER_PROXIED)
    try:
        session = await mint_session(token_info)
    except ProviderError as exc:
        logger.error("realtime mint failed for user %s: %s", token_info["sub"], exc)
        return Reply(RealtimeTokenResponse(fallback=True, directWebRTC=True, useWebRTC=False, metadata=metadata,
                                           message=MINT_FAILED), 500)
    return session_response(session, metadata)


@chatty
async def get_csrf_token(token_info: dict[str, Any]) -> Reply:
    """``GET /api/csrf-token`` (getCsrfToken) → 200 ``CsrfTokenResponse`` ``{token}`` with
    ``Cache-Control: no-store``: 256 random bits, bound to the caller for 5 minutes and accepted
    once (as ``X-CSRF-Token`` on POST /api/realtime/webrtc, through :func:`consume_csrf_token`).
    Stored hashed.

    Errors: 401, 400 (bad X-Client-Version), 426, 403 (no ``chatty-voice`` entitlement).
    """
    token, _ = await bundle().csrf.mint(token_info["sub"], utcnow(), CSRF_TTL)
    return Reply(CsrfTokenResponse(token=token), headers={"Cache-Control": "no-store"})


async def consume_csrf_token(user_id: str, token: str | None) -> bool:
    """True exactly once for a CSRF token minted for ``user_id`` within the last 5 minutes;
    False for a missing, unknown, foreign, expired or already used token (or one over 512
    characters). The caller (the SDP exchange) answers 403 on False."""
    if not token or len(token) > 512:
        return False
    return await bundle().csrf.consume(user_id, token, utcnow())
