"""Tables. One SQLModel class per table; Alembic migrations under ``migrations/`` create them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from adapters.storage.types import UTCDateTime


class VbTenant(SQLModel, table=True):
    """Virtual Banker per-tenant configuration overrides (merged over the documented defaults)."""

    __tablename__ = "vb_tenant"

    tenant_id: str = Field(primary_key=True, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VbSession(SQLModel, table=True):
    """A Virtual Banker session; its ephemeral token is stored only as a SHA-256 hash."""

    __tablename__ = "vb_session"

    session_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=200)
    user_id: str = Field(index=True, max_length=200)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    portal_context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class VbVoiceSession(SQLModel, table=True):
    """Voice configuration attached to a Virtual Banker session (one per session)."""

    __tablename__ = "vb_voice_session"

    session_id: str = Field(primary_key=True, foreign_key="vb_session.session_id", max_length=64)
    tenant_id: str = Field(index=True, max_length=200)
    user_id: str = Field(max_length=200)
    asr_provider: str = Field(max_length=32)
    tts_provider: str = Field(max_length=32)
    voice_config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VbWebhook(SQLModel, table=True):
    """A tenant's webhook subscription. The signing secret is stored encrypted (it must be
    usable to sign, so it cannot be hashed)."""

    __tablename__ = "vb_webhook"

    webhook_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=200)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_encrypted: str | None = Field(default=None, max_length=512)
    active: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VbWebhookDelivery(SQLModel, table=True):
    """One event to one webhook: the durable delivery log. ``claimed_by`` is the worker sending it
    (None: nobody) until ``lease_until``."""

    __tablename__ = "vb_webhook_delivery"

    delivery_id: str = Field(primary_key=True, max_length=64)
    webhook_id: str = Field(index=True, foreign_key="vb_webhook.webhook_id", max_length=64)
    tenant_id: str = Field(max_length=200)
    event: str = Field(max_length=64)
    body: str
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
