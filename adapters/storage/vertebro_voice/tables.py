"""SiteLLM Vertebro Voice tables (migrations ``0003_vertebro``, ``0005_vertebro_ownership``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from adapters.storage.types import UTCDateTime

__all__ = [
    "VertebroAdmin",
    "VertebroAudio",
    "VertebroIntentExample",
    "VertebroInteraction",
    "VertebroKnowledge",
    "VertebroProjectMember",
    "VertebroSample",
    "VertebroSection",
    "VertebroSession",
    "VertebroTrainingJob",
    "VertebroUser",
]


class VertebroUser(SQLModel, table=True):
    """An HTTP Basic user of the Vertebro API added at run time (argon2 password hash)."""

    __tablename__ = "vertebro_user"

    username: str = Field(primary_key=True, max_length=200)
    password_hash: str = Field(max_length=512)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroAdmin(SQLModel, table=True):
    """A Basic user who sees every project and session (``manage grant-admin``)."""

    __tablename__ = "vertebro_admin"

    username: str = Field(primary_key=True, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroProjectMember(SQLModel, table=True):
    """``username`` is a member of ``project`` (``manage grant``): it may use the project's data."""

    __tablename__ = "vertebro_project_member"

    project: str = Field(primary_key=True, max_length=200)
    username: str = Field(primary_key=True, index=True, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroSession(SQLModel, table=True):
    """A voice conversation session; alive until ``expires_at`` (bumped by activity) or deletion.
    ``owner`` is the Basic user who started it (None for sessions from before ownership: admins only)."""

    __tablename__ = "vertebro_session"

    session_id: str = Field(primary_key=True, max_length=64)
    owner: str | None = Field(default=None, index=True, max_length=200)
    project: str = Field(index=True, max_length=200)
    user_id: str = Field(max_length=200)
    language: str = Field(max_length=35)
    voice_preference: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_activity_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))


class VertebroInteraction(SQLModel, table=True):
    """One history item of a session: recognition, synthesis, intent, user or assistant turn."""

    __tablename__ = "vertebro_interaction"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True, max_length=64)
    project: str = Field(index=True, max_length=200)
    user_id: str = Field(max_length=200)
    type: str = Field(max_length=16)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroAudio(SQLModel, table=True):
    """A cached synthesis: its audio lives in the file store under ``file_id``; it expires
    ``VOICE_AUDIO_CACHE_TTL`` seconds after ``accessed_at``. It belongs to ``project`` (made for a
    session of it) or, when that is None, to the Basic user ``owner``; both None (entries from
    before ownership): admins only."""

    __tablename__ = "vertebro_audio"

    audio_id: str = Field(primary_key=True, max_length=64)
    project: str | None = Field(default=None, index=True, max_length=200)
    owner: str | None = Field(default=None, max_length=200)
    cache_key: str = Field(unique=True, index=True, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    voice: str = Field(max_length=200)
    language: str = Field(max_length=35)
    emotion: str = Field(max_length=64)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    format: str = Field(max_length=8)
    file_id: str = Field(max_length=200)
    size_bytes: int
    duration_seconds: float
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    accessed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class VertebroIntentExample(SQLModel, table=True):
    """A project's own example utterance of an intent (added to the built-in defaults);
    ``action`` is the suggested action returned when this intent wins (None: the default)."""

    __tablename__ = "vertebro_intent_example"

    id: int | None = Field(default=None, primary_key=True)
    project: str = Field(index=True, max_length=200)
    intent: str = Field(max_length=64)
    text: str = Field(max_length=1000)
    action: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroSection(SQLModel, table=True):
    """A site section of a project, a target of ``navigate`` (overrides a default of the same key)."""

    __tablename__ = "vertebro_section"

    project: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=64)
    url: str = Field(max_length=2048)
    title: str = Field(max_length=200)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroKnowledge(SQLModel, table=True):
    """A project's knowledge snippet (a fact, or a question with its answer) the dialog engine
    answers from; ``title``/``url`` are what ``sources`` cite."""

    __tablename__ = "vertebro_knowledge"

    id: int | None = Field(default=None, primary_key=True)
    project: str = Field(index=True, max_length=200)
    title: str = Field(max_length=300)
    url: str = Field(default="", max_length=2048)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VertebroSample(SQLModel, table=True):
    """An uploaded voice training sample; its bytes live in the file store under ``file_id``."""

    __tablename__ = "vertebro_sample"

    id: str = Field(primary_key=True, max_length=64)
    project: str = Field(index=True, max_length=200)
    file_id: str = Field(max_length=200)
    filename: str = Field(max_length=500)
    content_type: str = Field(max_length=100)
    size_bytes: int
    duration_seconds: float | None = None
    uploaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class VertebroTrainingJob(SQLModel, table=True):
    """A voice training job. ``checkpoint`` holds the worker's persisted intermediate state so a
    job interrupted by a restart resumes where it stopped; ``claimed_by`` is the worker running it
    (None: nobody) and ``heartbeat_at`` its last sign of life."""

    __tablename__ = "vertebro_training_job"

    id: str = Field(primary_key=True, max_length=64)
    project: str = Field(index=True, max_length=200)
    status: str = Field(index=True, max_length=16)
    progress: float = 0.0
    message: str = Field(default="", max_length=500)
    checkpoint: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attempts: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    heartbeat_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_by: str | None = Field(default=None, max_length=128)
