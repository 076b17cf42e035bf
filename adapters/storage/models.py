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
