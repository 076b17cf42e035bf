"""Virstack VoiceAI tables (prefix ``vs_``). Every tenant-owned row carries ``org_id``.

Secrets are never stored in the clear: passwords as argon2 hashes, API keys as SHA-256
of the (high-entropy) key, SIP trunk passwords sealed with :class:`adapters.secretbox.SecretBox`
(the SIP stack must be able to use them again, so they cannot be hashed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from adapters.storage.types import UTCDateTime

#: Names of SIP trunks and dispatch rules: a client's (at most 200 characters, the contract's
#: maxLength) or derived from a number's nickname (200) plus " inbound" / " outbound".
NAME_LENGTH = 256


class VsMeta(SQLModel, table=True):
    """Install-wide facts: catalog seed version, the operator organization."""

    __tablename__ = "vs_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=500)


class VsOrganization(SQLModel, table=True):
    __tablename__ = "vs_organization"

    org_id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    agent_server_name: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsUser(SQLModel, table=True):
    """A login. ``email`` is stored lower-cased, unique across the install."""

    __tablename__ = "vs_user"

    user_id: str = Field(primary_key=True, max_length=36)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    email: str = Field(unique=True, index=True, max_length=320)
    first_name: str = Field(max_length=200)
    last_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsApiKey(SQLModel, table=True):
    """An API key (``vk-`` + 32 hex), stored only as its SHA-256."""

    __tablename__ = "vs_api_key"

    key_id: str = Field(primary_key=True, max_length=36)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    user_id: str = Field(max_length=36)
    role: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=200)
    key_hash: str = Field(unique=True, index=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class VsRevokedToken(SQLModel, table=True):
    """A logged-out JWT's ``jti``, kept until the token would have expired anyway."""

    __tablename__ = "vs_revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class VsAgent(SQLModel, table=True):
    """An agent's current (draft) configuration; ``version`` counts edits."""

    __tablename__ = "vs_agent"

    agent_id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0
    is_published: bool = False
    is_active: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsAgentVersion(SQLModel, table=True):
    """An immutable published snapshot of an agent's configuration."""

    __tablename__ = "vs_agent_version"
    __table_args__ = (UniqueConstraint("agent_id", "version", name="uq_vs_agent_version"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: str = Field(index=True, max_length=32)
    org_id: str = Field(index=True, max_length=36)
    version: int
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsProvider(SQLModel, table=True):
    """A provider of the global catalog (LLM / realtime engines)."""

    __tablename__ = "vs_provider"

    provider_id: str = Field(primary_key=True, max_length=128)  # the contract's maxLength
    display_name: str = Field(max_length=200)
    is_active: bool = True
    position: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsProviderModel(SQLModel, table=True):
    __tablename__ = "vs_provider_model"
    __table_args__ = (UniqueConstraint("provider_id", "model_id", name="uq_vs_provider_model"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_id: str = Field(index=True, foreign_key="vs_provider.provider_id", max_length=128)
    model_id: str = Field(max_length=200)
    display_name: str = Field(max_length=200)
    is_active: bool = True
    is_default: bool = False
    capabilities: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    voices: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    validation_rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    position: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsSipTrunk(SQLModel, table=True):
    """A SIP trunk (inbound: numbers it serves; outbound: the termination address).

    With the embedded telephony backend this row *is* the trunk; with the LiveKit backend it
    records which organization owns the LiveKit trunk ``trunk_id``.
    """

    __tablename__ = "vs_sip_trunk"

    trunk_id: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    kind: str = Field(max_length=16)
    # a name, or "<number nickname> inbound|outbound" (import): the contract's 200 and a suffix
    name: str = Field(default="", max_length=NAME_LENGTH)
    numbers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed_numbers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed_addresses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    address: str | None = Field(default=None, max_length=2048)  # termination_uri's maxLength
    auth_username: str | None = Field(default=None, max_length=256)  # auth_username / sip_username
    # Fernet of a password of up to 256 characters of up to 4 UTF-8 bytes each: 1464 characters
    auth_password_sealed: str | None = Field(default=None, max_length=2048)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsDispatchRule(SQLModel, table=True):
    """A SIP dispatch rule (LiveKit semantics; see adapters/sip/routing.py)."""

    __tablename__ = "vs_dispatch_rule"

    rule_id: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    name: str = Field(default="", max_length=NAME_LENGTH)  # as VsSipTrunk.name
    rule_type: str = Field(default="individual", max_length=16)
    trunk_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    inbound_numbers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    room_prefix: str = Field(default="", max_length=200)
    room_name: str = Field(default="", max_length=200)
    pin: str = Field(default="", max_length=32)
    hide_phone_number: bool = False
    agent_name: str | None = Field(default=None, max_length=64)
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsPhoneNumber(SQLModel, table=True):
    __tablename__ = "vs_phone_number"

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    number: str = Field(unique=True, index=True, max_length=32)
    trunk_id: str | None = Field(default=None, max_length=64)
    outbound_trunk_id: str | None = Field(default=None, max_length=64)
    dispatch_rule_id: str | None = Field(default=None, max_length=64)
    inbound_agent_id: str | None = Field(default=None, index=True, max_length=32)
    outbound_agent_id: str | None = Field(default=None, max_length=32)
    provider: str = Field(default="twilio", max_length=64)  # CreatePhoneNumberBody.provider's maxLength
    nickname: str | None = Field(default=None, max_length=200)
    is_active: bool = True
    provisioned: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VsCall(SQLModel, table=True):
    """One call (web or SIP) and everything learned about it."""

    __tablename__ = "vs_call"

    call_id: str = Field(primary_key=True, max_length=36)
    org_id: str = Field(index=True, foreign_key="vs_organization.org_id", max_length=36)
    agent_id: str = Field(index=True, max_length=32)
    agent_version: int | None = None
    channel: str = Field(max_length=8)
    direction: str = Field(max_length=16)
    status: str = Field(index=True, max_length=16)
    room_name: str = Field(unique=True, index=True, max_length=512)
    participant_identity: str | None = Field(default=None, max_length=512)
    from_number: str | None = Field(default=None, max_length=128)
    to_number: str | None = Field(default=None, max_length=128)
    sip_participant_id: str | None = Field(default=None, max_length=64)
    sip_call_id: str | None = Field(default=None, max_length=256)
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    dynamic_variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    transcripts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    session_report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    analysis: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    recordings: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    disconnection_reason: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    start_timestamp: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    end_timestamp: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class VsRoom(SQLModel, table=True):
    """A room of the embedded telephony backend (LiveKit keeps its own)."""

    __tablename__ = "vs_room"

    name: str = Field(primary_key=True, max_length=512)
    sid: str = Field(max_length=64)
    metadata_: str = Field(default="", sa_column=Column("metadata", Text, nullable=False))
    agent_name: str | None = Field(default=None, max_length=64)
    participants: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    empty_timeout: int = 300
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class VsWebhookEvent(SQLModel, table=True):
    """A LiveKit webhook event, stored once per event id."""

    __tablename__ = "vs_webhook_event"

    event_id: str = Field(primary_key=True, max_length=128)
    event: str = Field(max_length=64)
    room_name: str | None = Field(default=None, index=True, max_length=512)
    call_id: str | None = Field(default=None, max_length=36)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    processed: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
