"""ServiceAi Chatty Voice tables (specs/serviceai). Created by migration ``0003_serviceai``.

Every row belongs to one organisation (``organization_id``); a user only ever sees the rows of
its own organisation. Secrets (API tokens, CSRF tokens) are stored only as SHA-256 hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from adapters.storage.types import UTCDateTime


class ServiceaiUser(SQLModel, table=True):
    """A ServiceAi user: organisation, entitlements (``chatty-voice``) and tool permissions."""

    __tablename__ = "serviceai_user"

    user_id: str = Field(primary_key=True, max_length=200)
    organization_id: str = Field(index=True, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="member", max_length=32)
    entitlements: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    disabled: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ServiceaiApiToken(SQLModel, table=True):
    """An opaque bearer token of one user (only its SHA-256 hash is stored)."""

    __tablename__ = "serviceai_api_token"

    token_id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: str = Field(index=True, foreign_key="serviceai_user.user_id", max_length=200)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ServiceaiCsrfToken(SQLModel, table=True):
    """A CSRF token bound to one user, valid until ``expires_at``, usable once (hash stored)."""

    __tablename__ = "serviceai_csrf_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(index=True, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ServiceaiEntity(SQLModel, table=True):
    """A business record the assistant can look up: customer, job, site, asset, …

    ``reference`` is the human identifier people say aloud (a job number, an account code);
    ``stage`` is the job's workflow stage key (see :class:`ServiceaiWorkflowStage`).
    """

    __tablename__ = "serviceai_entity"

    entity_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(index=True, max_length=200)
    entity_type: str = Field(index=True, max_length=32)
    name: str = Field(max_length=300)
    reference: str | None = Field(default=None, index=True, max_length=100)
    stage: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ServiceaiTicket(SQLModel, table=True):
    """A support/work ticket created through the assistant (``create_ticket``)."""

    __tablename__ = "serviceai_ticket"

    ticket_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(index=True, max_length=200)
    created_by: str = Field(max_length=200)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    priority: str = Field(default="normal", max_length=16)
    status: str = Field(default="open", index=True, max_length=16)
    entity_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ServiceaiNote(SQLModel, table=True):
    """A free-text note, optionally attached to an entity (``create_note``)."""

    __tablename__ = "serviceai_note"

    note_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(index=True, max_length=200)
    author_id: str = Field(max_length=200)
    entity_id: str | None = Field(default=None, index=True, max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class ServiceaiKnowledgeArticle(SQLModel, table=True):
    """One knowledge-base article of an organisation (fed into the assistant's system prompt)."""

    __tablename__ = "serviceai_kb_article"

    article_id: str = Field(primary_key=True, max_length=64)
    organization_id: str = Field(index=True, max_length=200)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ServiceaiWorkflowStage(SQLModel, table=True):
    """One stage of an organisation's job workflow, in ``position`` order."""

    __tablename__ = "serviceai_workflow_stage"

    organization_id: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    position: int = 0
