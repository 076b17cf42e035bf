"""Virtual Banker session operations: createSession, listSessions, getSession, endSession,
endSessionPost (seed 001's ``POST …/end`` alias) and refreshToken."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from adapters.storage.virtual_banker.sessions import SessionRecord
from core.clock import isoformat, utcnow
from generated.models.virtual_banker import (
    BaseResponse,
    CreateSessionRequest,
    Data,
    EndSessionResponse,
    Session,
    SessionListResponse,
    SessionResponse,
)
from handlers.virtual_banker.bundle import bundle
from handlers.errors import ApiError, parse_request
from handlers.virtual_banker.access import owned_live_session, session_not_found
from handlers.virtual_banker.config import tenant_config
from handlers.virtual_banker.events import emit
from handlers.virtual_banker.ratelimit import rate_limited
from handlers.virtual_banker.security import InvalidAssertion, decode_jwt


def _session(record: SessionRecord, token: str | None = None) -> Session:
    return Session(
        session_id=record.session_id,
        tenant_id=record.tenant_id,
        user_id=record.user_id,
        ephemeral_token=token,
        config=record.config,
        expires_at=record.expires_at.replace(microsecond=0),
        created_at=record.created_at.replace(microsecond=0),
    )


def _json(model) -> dict[str, Any]:
    """A generated response model as the JSON body (unset optional fields omitted)."""
    return model.model_dump(mode="json", exclude_none=True)


def _now():
    return utcnow().replace(microsecond=0)




def _new_token() -> str:
    """An opaque 256-bit ephemeral token (URL-safe base64, never a JWT)."""
    return secrets.token_urlsafe(32)


@rate_limited
async def create_session(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/sessions`` (createSession) → 201 ``SessionResponse`` with the ephemeral token.

    ``auth_assertion`` must be a valid JWT (``VIRTUAL_BANKER_JWT_SECRET``) for the body's
    tenant and user (401 if it does not verify, 403 if it names someone else); the bearer
    caller must be that same tenant+user (403). ``expires_at`` = now + the tenant's
    ``policy.max_session_duration_minutes``.
    """
    s = bundle()
    request = parse_request(CreateSessionRequest, body)
    tenant_id, user_id = request.tenant_id, request.user_id
    try:
        claims = decode_jwt(request.auth_assertion, s.settings.virtual_banker_jwt_secret)
    except InvalidAssertion as exc:
        raise ApiError(401, "INVALID_AUTH_ASSERTION", f"auth_assertion is not a valid JWT: {exc}") from None
    if claims["tenant_id"] != tenant_id or claims["sub"] != user_id:
        raise ApiError(403, "ASSERTION_MISMATCH", "auth_assertion was issued for another tenant or user")
    if token_info["tenant_id"] != tenant_id or token_info["sub"] != user_id:
        raise ApiError(403, "FORBIDDEN", "The bearer token belongs to another tenant or user")
    config = await tenant_config(tenant_id)
    now = utcnow()
    minutes = int(config["policy"]["max_session_duration_minutes"])
    token = _new_token()
    record = await s.sessions.create(
        session_id=f"sess-{secrets.token_hex(12)}",
        tenant_id=tenant_id,
        user_id=user_id,
        token=token,
        portal_context=request.portal_context.model_dump(exclude_none=True) if request.portal_context else None,
        config=config,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    return _json(SessionResponse(success=True, data=_session(record, token), timestamp=_now())), 201


@rate_limited
async def list_sessions(token_info: dict[str, Any]):
    """``GET /v1/sessions`` (listSessions) → 200 the caller's live sessions (only its own
    session under an ephemeral token)."""
    records = await bundle().sessions.list_live(token_info["tenant_id"], token_info["sub"], utcnow())
    if token_info.get("kind") == "ephemeral":
        records = [r for r in records if r.session_id == token_info["session_id"]]
    data = Data(sessions=[_session(r) for r in records])
    return _json(SessionListResponse(success=True, data=data, timestamp=_now())), 200


@rate_limited
async def get_session(session_id: str, token_info: dict[str, Any]):
    """``GET /v1/sessions/{sessionId}`` (getSession) → 200 ``SessionResponse``; 404 unless
    it is the caller's live session."""
    record = await owned_live_session(session_id, token_info)
    return _json(SessionResponse(success=True, data=_session(record), timestamp=_now())), 200


async def _end(session_id: str, token_info: dict[str, Any]) -> SessionRecord:
    await owned_live_session(session_id, token_info)
    record = await bundle().sessions.end(session_id, utcnow())
    if record is None:
        raise session_not_found(session_id)
    await emit(record.tenant_id, "session.ended", {"session_id": session_id, "user_id": record.user_id})
    return record


@rate_limited
async def end_session(session_id: str, token_info: dict[str, Any]):
    """``DELETE /v1/sessions/{sessionId}`` (endSession) → 200 ``BaseResponse``. The session
    and its token stop working at once; a second call is 404."""
    await _end(session_id, token_info)
    return _json(BaseResponse(success=True, timestamp=_now())), 200


@rate_limited
async def end_session_post(session_id: str, token_info: dict[str, Any]):
    """``POST /v1/sessions/{sessionId}/end`` (endSessionPost, seed 001) → 200
    ``{success, status: "ended", timestamp}``; same effect as endSession."""
    await _end(session_id, token_info)
    return _json(EndSessionResponse(success=True, status="ended", timestamp=_now())), 200


@rate_limited
async def refresh_token(session_id: str, token_info: dict[str, Any]):
    """``POST /v1/sessions/{sessionId}/refresh-token`` (refreshToken) → 200 a new ephemeral
    token; the previous one stops working at once. ``expires_at`` = now + the session's
    ``policy.max_session_duration_minutes``."""
    record = await owned_live_session(session_id, token_info)
    now = utcnow()
    minutes = int(record.config.get("policy", {}).get("max_session_duration_minutes", 30))
    token = _new_token()
    updated = await bundle().sessions.rotate_token(session_id, token, now + timedelta(minutes=minutes), now)
    if updated is None:
        raise session_not_found(session_id)
    # The contract's refreshToken response is an inline schema (no generated model).
    return {
        "success": True,
        "data": {"ephemeral_token": token, "expires_at": isoformat(updated.expires_at)},
        "timestamp": isoformat(_now()),
    }, 200
