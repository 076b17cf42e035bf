"""Virtual Banker session operations: createSession, listSessions, getSession, endSession,
endSessionPost (seed 001's ``POST …/end`` alias) and refreshToken."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from adapters.storage.virtual_banker.sessions import SessionRecord
from core.clock import utcnow
from generated.models.virtual_banker import (
    BaseResponse,
    CreateSessionRequest,
    Data,
    EndSessionResponse,
    RefreshTokenResponse,
    Session,
    SessionListResponse,
    SessionResponse,
    Status,
    TokenRefresh,
)
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virtual_banker.access import owned_live_session, session_not_found
from handlers.virtual_banker.bundle import bundle
from handlers.virtual_banker.config import tenant_config
from handlers.virtual_banker.events import emit
from handlers.virtual_banker.ratelimit import rate_limited
from handlers.virtual_banker.replies import created, now
from handlers.virtual_banker.security import InvalidAssertion, decode_jwt
from handlers.virtual_banker.session_channel import announce


def session_model(record: SessionRecord, token: str | None = None) -> Session:
    """A stored session as the contract's ``Session`` (times to the second). ``ephemeral_token``
    only when ``token`` is given: it is shown once, at creation; the store keeps only its hash."""
    return Session(
        session_id=record.session_id,
        tenant_id=record.tenant_id,
        user_id=record.user_id,
        ephemeral_token=token,
        config=record.config,
        expires_at=record.expires_at.replace(microsecond=0),
        created_at=record.created_at.replace(microsecond=0),
    )


def _new_token() -> str:
    """An opaque 256-bit ephemeral token (URL-safe base64, never a JWT)."""
    return secrets.token_urlsafe(32)


@rate_limited
async def create_session(body: CreateSessionRequest, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/sessions`` (createSession) → 201 ``SessionResponse`` with the ephemeral token.

    ``auth_assertion`` must be a valid JWT (``VIRTUAL_BANKER_JWT_SECRET``) for the body's
    tenant and user (401 ``INVALID_AUTH_ASSERTION`` if it does not verify, 403
    ``ASSERTION_MISMATCH`` if it names someone else); the bearer caller must be that same
    tenant+user (403 ``FORBIDDEN``). ``expires_at`` = now + the tenant's
    ``policy.max_session_duration_minutes``.
    """
    s = bundle()
    tenant_id, user_id = body.tenant_id, body.user_id
    try:
        claims = decode_jwt(body.auth_assertion, s.settings.virtual_banker_jwt_secret)
    except InvalidAssertion as exc:
        raise ApiError(401, "INVALID_AUTH_ASSERTION", f"auth_assertion is not a valid JWT: {exc}") from None
    if claims["tenant_id"] != tenant_id or claims["sub"] != user_id:
        raise ApiError(403, "ASSERTION_MISMATCH", "auth_assertion was issued for another tenant or user")
    if token_info["tenant_id"] != tenant_id or token_info["sub"] != user_id:
        raise ApiError(403, "FORBIDDEN", "The bearer token belongs to another tenant or user")
    config = await tenant_config(tenant_id)
    started = utcnow()
    minutes = int(config["policy"]["max_session_duration_minutes"])
    token = _new_token()
    record = await s.sessions.create(
        session_id=f"sess-{secrets.token_hex(12)}",
        tenant_id=tenant_id,
        user_id=user_id,
        token=token,
        portal_context=body.portal_context.model_dump(exclude_none=True) if body.portal_context else None,
        config=config,
        created_at=started,
        expires_at=started + timedelta(minutes=minutes),
    )
    return created(SessionResponse(success=True, data=session_model(record, token), timestamp=now()))


@rate_limited
async def list_sessions(token_info: dict[str, Any]) -> SessionListResponse:
    """``GET /v1/sessions`` (listSessions) → 200 ``SessionListResponse``: the caller's live
    sessions, oldest first (only its own session under an ephemeral token); no tokens."""
    records = await bundle().sessions.list_live(token_info["tenant_id"], token_info["sub"], utcnow())
    if token_info.get("kind") == "ephemeral":
        records = [r for r in records if r.session_id == token_info["session_id"]]
    return SessionListResponse(success=True, data=Data(sessions=[session_model(r) for r in records]),
                               timestamp=now())


@rate_limited
async def get_session(session_id: str, token_info: dict[str, Any]) -> SessionResponse:
    """``GET /v1/sessions/{sessionId}`` (getSession) → 200 ``SessionResponse`` (no token);
    404 ``SESSION_NOT_FOUND`` unless it is the caller's live session."""
    record = await owned_live_session(session_id, token_info)
    return SessionResponse(success=True, data=session_model(record), timestamp=now())


async def _end(session_id: str, token_info: dict[str, Any]) -> SessionRecord:
    await owned_live_session(session_id, token_info)
    record = await bundle().sessions.end(session_id, utcnow())
    if record is None:
        raise session_not_found(session_id)
    await emit(record.tenant_id, "session.ended", {"session_id": session_id, "user_id": record.user_id})
    await announce(session_id, {"event": "ended"})
    return record


@rate_limited
async def end_session(session_id: str, token_info: dict[str, Any]) -> BaseResponse:
    """``DELETE /v1/sessions/{sessionId}`` (endSession) → 200 ``BaseResponse``. The session
    and its token stop working at once (``session.ended`` webhook); a second call is 404."""
    await _end(session_id, token_info)
    return BaseResponse(success=True, timestamp=now())


@rate_limited
async def end_session_post(session_id: str, token_info: dict[str, Any]) -> EndSessionResponse:
    """``POST /v1/sessions/{sessionId}/end`` (endSessionPost, seed 001) → 200
    ``EndSessionResponse`` ``{success, status: "ended", timestamp}``; same effect as endSession."""
    await _end(session_id, token_info)
    return EndSessionResponse(success=True, status=Status.ended, timestamp=now())


@rate_limited
async def refresh_token(session_id: str, token_info: dict[str, Any]) -> RefreshTokenResponse:
    """``POST /v1/sessions/{sessionId}/refresh-token`` (refreshToken) → 200
    ``RefreshTokenResponse`` with a new ephemeral token; the previous one stops working at once.
    ``expires_at`` = now + the session's ``policy.max_session_duration_minutes`` (default 30).
    404 unless it is the caller's live session."""
    record = await owned_live_session(session_id, token_info)
    rotated_at = utcnow()
    minutes = int(record.config.get("policy", {}).get("max_session_duration_minutes", 30))
    token = _new_token()
    updated = await bundle().sessions.rotate_token(session_id, token, rotated_at + timedelta(minutes=minutes),
                                                   rotated_at)
    if updated is None:
        raise session_not_found(session_id)
    await announce(session_id, {"event": "token_refreshed", "expires_at": updated.expires_at.isoformat()})
    data = TokenRefresh(ephemeral_token=token, expires_at=updated.expires_at.replace(microsecond=0))
    return RefreshTokenResponse(success=True, data=data, timestamp=now())
