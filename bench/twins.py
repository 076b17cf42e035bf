"""FastAPI twins of the operations ``make bench`` loads: what a team would hand-write instead.

One FastAPI app, written the way the FastAPI and SQLModel documentation teach and then tuned
the way a careful team would (so the gateway is compared with a strong baseline, not a straw
man): PyJWT, the generated pydantic models for bodies and answers, SQLModel on its own SQLite
file with the gateway's settings (WAL, ``synchronous=FULL``, ``foreign_keys``, a 5 s busy
timeout) and a pool as large as the thread pool, each request's database work in one sync
endpoint (one worker-thread hop, one transaction), credentials checked in async dependencies
(no thread hop), the ``limits`` moving-window rate limiter the gateway uses.

=============================== ================================================================
``GET /api/version``            ServiceAi getApiVersion: ``ApiVersion`` from settings (no auth)
``POST /v1/sessions``           VB createSession: bearer JWT + ``auth_assertion`` JWT checked,
                                rate limit, tenant overrides read, session row inserted and
                                committed (one fsync per request), 201 ``SessionResponse``
``GET /v1/sessions/{id}``       VB getSession: bearer JWT, rate limit, tenant overrides and the
                                session read in one transaction, 200 ``SessionResponse``
``POST /v1/agent``              Virstack createAgent: ``vk-`` API key looked up by SHA-256,
                                ``CreateAgentBody`` validated, agent row inserted, 201 envelope
``GET /api/v1/voice/session/…`` Vertebro getSession: HTTP Basic against an argon2 hash (verified
                                once per credential, as the gateway does), the session read
=============================== ================================================================

Configuration from the environment: ``TWIN_DATABASE_URL``, ``VIRTUAL_BANKER_JWT_SECRET``,
``TWIN_API_KEY`` (a ``vk-`` key seeded for one organization), ``VERTEBRO_BASIC_USERS`` (JSON
``{user: argon2 hash}``), ``TWIN_VOICE_SESSION`` (a voice session id seeded live),
``VB_DEFAULT_RATE_LIMIT_PER_MINUTE``. Run: ``uvicorn bench.twins:app``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi import Depends, FastAPI, Header, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from limits import RateLimitItemPerMinute, storage, strategies
from sqlalchemy import JSON, Column, event
from sqlmodel import Field, Session, SQLModel, create_engine

from generated.models.serviceai import ApiVersion
from generated.models.vertebro_voice import VoiceSessionResponse
from generated.models.virstack_voiceai import CreateAgentBody
from generated.models.virtual_banker import CreateSessionRequest, SessionResponse
from generated.models.virtual_banker import Session as SessionModel


class TwinTenant(SQLModel, table=True):
    tenant_id: str = Field(primary_key=True)
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class TwinSession(SQLModel, table=True):
    session_id: str = Field(primary_key=True)
    tenant_id: str = Field(index=True)
    user_id: str
    token_hash: str = Field(index=True)
    portal_context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


class TwinApiKey(SQLModel, table=True):
    key_hash: str = Field(primary_key=True)
    org_id: str
    user_id: str
    role: str


class TwinAgent(SQLModel, table=True):
    agent_id: str = Field(primary_key=True)
    org_id: str = Field(index=True)
    settings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 0
    is_published: bool = False
    created_at: datetime
    updated_at: datetime


class TwinVoiceSession(SQLModel, table=True):
    session_id: str = Field(primary_key=True)
    project: str
    language: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


engine = create_engine(os.environ.get("TWIN_DATABASE_URL", "sqlite:///twin.db"), pool_size=48, max_overflow=16,
                       connect_args={"check_same_thread": False})


@event.listens_for(engine, "connect")
def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


SQLModel.metadata.create_all(engine)
JWT_SECRET = os.environ.get("VIRTUAL_BANKER_JWT_SECRET", "twin-secret")
RATE = RateLimitItemPerMinute(int(os.environ.get("VB_DEFAULT_RATE_LIMIT_PER_MINUTE", "10")))
limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
DEFAULT_CONFIG: dict[str, Any] = {"greeting": "Hello! How can I help you with your banking today?",
                                  "policy": {"max_session_duration_minutes": 30}}
BASIC_USERS: dict[str, str] = json.loads(os.environ.get("VERTEBRO_BASIC_USERS") or "{}")
hasher = PasswordHasher()
verified: set[bytes] = set()
_key = secrets.token_bytes(32)


def _seed() -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        if key := os.environ.get("TWIN_API_KEY"):
            session.merge(TwinApiKey(key_hash=hashlib.sha256(key.encode()).hexdigest(), org_id="org-1",
                                     user_id="user-1", role="admin"))
        if voice := os.environ.get("TWIN_VOICE_SESSION"):
            session.merge(TwinVoiceSession(session_id=voice, project="bench", language="en-US", user_id="anonymous",
                                           created_at=now, expires_at=now + timedelta(hours=2)))
        session.commit()


_seed()
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
bearer = HTTPBearer()
basic = HTTPBasic()


async def vb_claims(credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> dict[str, Any]:
    """The bearer JWT's claims (401 unless it verifies and names a tenant)."""
    try:
        claims = jwt.decode(credentials.credentials, JWT_SECRET, algorithms=["HS256"],
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        raise HTTPException(401, "Invalid token") from None
    if not isinstance(claims.get("tenant_id"), str):
        raise HTTPException(401, "Invalid token")
    return claims


async def vb_caller(claims: Annotated[dict[str, Any], Depends(vb_claims)], response: Response) -> dict[str, Any]:
    """The caller's claims, one request charged to its tenant+user budget (429 past it)."""
    key = f"{claims['tenant_id']}:{claims['sub']}"
    if not limiter.hit(RATE, key):
        raise HTTPException(429, "Rate limited")
    stats = limiter.get_window_stats(RATE, key)
    response.headers["X-RateLimit-Limit"] = str(RATE.amount)
    response.headers["X-RateLimit-Remaining"] = str(stats.remaining)
    response.headers["X-RateLimit-Reset"] = str(int(stats.reset_time))
    return claims


def _merged(overrides: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(DEFAULT_CONFIG))
    for key, value in overrides.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def _session_model(row: TwinSession, token: str | None = None) -> SessionModel:
    return SessionModel(session_id=row.session_id, tenant_id=row.tenant_id, user_id=row.user_id,
                        ephemeral_token=token, config=row.config,
                        expires_at=row.expires_at.replace(microsecond=0, tzinfo=UTC),
                        created_at=row.created_at.replace(microsecond=0, tzinfo=UTC))


@app.get("/api/version", response_model_exclude_none=True)
async def get_api_version(x_client_version: Annotated[str | None, Header()] = None) -> ApiVersion:
    """ServiceAi getApiVersion."""
    return ApiVersion(apiVersion="1.1.24", minClientVersion="1.0.0")


@app.post("/v1/sessions", status_code=201, response_model_exclude_none=True)
def create_session(body: CreateSessionRequest, caller: Annotated[dict[str, Any], Depends(vb_caller)]
                   ) -> SessionResponse:
    """VB createSession: one transaction, committed (fsync) before the 201."""
    try:
        assertion = jwt.decode(body.auth_assertion, JWT_SECRET, algorithms=["HS256"],
                               options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        raise HTTPException(401, "Invalid auth_assertion") from None
    if (assertion.get("tenant_id"), assertion["sub"]) != (body.tenant_id, body.user_id) or \
            (caller["tenant_id"], caller["sub"]) != (body.tenant_id, body.user_id):
        raise HTTPException(403, "Forbidden")
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with Session(engine, expire_on_commit=False) as session:
        tenant = session.get(TwinTenant, body.tenant_id)
        config = _merged(tenant.config if tenant else {})
        row = TwinSession(session_id=f"sess-{secrets.token_hex(12)}", tenant_id=body.tenant_id, user_id=body.user_id,
                          token_hash=hashlib.sha256(token.encode()).hexdigest(),
                          portal_context=body.portal_context.model_dump(exclude_none=True)
                          if body.portal_context else None,
                          config=config, created_at=now,
                          expires_at=now + timedelta(minutes=config["policy"]["max_session_duration_minutes"]))
        session.add(row)
        session.commit()
    return SessionResponse(success=True, data=_session_model(row, token), timestamp=now)


@app.get("/v1/sessions/{session_id}", response_model_exclude_none=True)
def get_session(session_id: str, caller: Annotated[dict[str, Any], Depends(vb_caller)]) -> SessionResponse:
    """VB getSession: tenant overrides and the session in one transaction."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        tenant = session.get(TwinTenant, caller["tenant_id"])
        _merged(tenant.config if tenant else {})
        row = session.get(TwinSession, session_id)
    if row is None or row.ended_at is not None or row.expires_at.replace(tzinfo=UTC) <= now \
            or (row.tenant_id, row.user_id) != (caller["tenant_id"], caller["sub"]):
        raise HTTPException(404, "Session not found")
    return SessionResponse(success=True, data=_session_model(row), timestamp=now)


async def api_key(credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> str:
    """The ``vk-`` key's SHA-256 (looked up with the request's own database work)."""
    if not credentials.credentials.startswith("vk-"):
        raise HTTPException(401, "Invalid API key")
    return hashlib.sha256(credentials.credentials.encode()).hexdigest()


@app.post("/v1/agent", status_code=201)
def create_agent(body: CreateAgentBody, key_hash: Annotated[str, Depends(api_key)]) -> dict[str, Any]:
    """Virstack createAgent: the key and the insert in one transaction."""
    now = datetime.now(UTC)
    settings = body.agent_settings.model_dump(mode="json", exclude_none=True)
    with Session(engine, expire_on_commit=False) as session:
        key = session.get(TwinApiKey, key_hash)
        if key is None:
            raise HTTPException(401, "Invalid API key")
        agent = TwinAgent(agent_id=secrets.token_urlsafe(12)[:16], org_id=key.org_id, settings=settings,
                          created_at=now, updated_at=now)
        session.add(agent)
        session.commit()
    return {"success": True, "code": 201, "message": "Agent created successfully",
            "data": {"agent_id": agent.agent_id, "version": 0, "is_published": False, "agent_settings": settings,
                     "created_at": now.isoformat(), "updated_at": now.isoformat()}}


async def basic_user(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> str:
    """HTTP Basic against the argon2 hash, verified once per credential."""
    stored = BASIC_USERS.get(credentials.username)
    if stored is None:
        raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": "Basic"})
    digest = hashlib.blake2b(f"{credentials.username}\0{credentials.password}\0{stored}".encode(), key=_key).digest()
    if digest not in verified:
        try:
            hasher.verify(stored, credentials.password)
        except VerificationError:
            raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": "Basic"}) from None
        verified.add(digest)
    return credentials.username


@app.get("/api/v1/voice/session/{session_id}")
def get_voice_session(session_id: str, user: Annotated[str, Depends(basic_user)]) -> VoiceSessionResponse:
    """Vertebro getSession."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = session.get(TwinVoiceSession, session_id)
    if row is None or row.ended_at is not None or row.expires_at.replace(tzinfo=UTC) <= now:
        raise HTTPException(404, "voice_session_not_found")
    url, expires, greeting = (f"ws://localhost/api/v1/voice/ws/{session_id}", row.expires_at.replace(tzinfo=UTC),
                              "Voice assistant ready. How can I help?")
    return VoiceSessionResponse(session_id=row.session_id, websocket_url=url, expires_at=expires,
                                initial_greeting=greeting, sessionId=row.session_id, websocketUrl=url,
                                expiresAt=expires, initialGreeting=greeting)
