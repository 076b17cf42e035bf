"""Vertebro Voice stores: Basic users, voice sessions, interaction history, the audio cache index,
and per-project intent examples and site sections. Every time is an aware UTC datetime passed
in by the caller (so a test can drive the clock)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.vertebro_voice.access import Scope
from adapters.storage.vertebro_voice.tables import (
    VertebroAudio,
    VertebroIntentExample,
    VertebroInteraction,
    VertebroKnowledge,
    VertebroSection,
    VertebroSession,
    VertebroUser,
)


def _pk(value: int | None) -> int:
    """An autoincrement primary key of a flushed or loaded row (set by the database, never None there)."""
    if value is None:
        raise RuntimeError("row has no primary key: it was not flushed")
    return value


#: pg_advisory_xact_lock key serializing session creation (the live-session cap), "vrtbcap1"
SESSION_CAP_LOCK = int.from_bytes(b"vrtbcap1", "big") & 0x7FFF_FFFF_FFFF_FFFF


class SessionLimitReached(Exception):
    """``VOICE_MAX_CONCURRENT_SESSIONS`` live sessions exist already."""


@dataclass(frozen=True)
class VoiceSessionRecord:
    """A voice session as stored: ``session_id`` (uuid4 hex), its ``project``, ``user_id`` (``anonymous``
    when none was given), ``language`` tag, ``voice_preference`` (``{provider, voice_id}`` or None),
    ``context`` (e.g. ``current_page``) and aware UTC times; live until ``expires_at``. ``owner`` is
    the Basic user who started it (None: started before ownership existed; admins only)."""
    session_id: str
    project: str
    user_id: str
    language: str
    voice_preference: dict[str, Any] | None
    context: dict[str, Any]
    created_at: datetime
    last_activity_at: datetime
    expires_at: datetime
    owner: str | None = None


def _session(row: VertebroSession) -> VoiceSessionRecord:
    return VoiceSessionRecord(row.session_id, row.project, row.user_id, row.language,
                              copy.deepcopy(row.voice_preference), copy.deepcopy(row.context or {}),
                              row.created_at, row.last_activity_at, row.expires_at, row.owner)


@dataclass(frozen=True)
class InteractionRecord:
    """One history item: ``type`` recognition | synthesis | intent | user | assistant, its JSON
    ``content`` and ``created_at`` (aware UTC)."""
    id: int
    session_id: str
    project: str
    user_id: str
    type: str
    content: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class AudioRecord:
    """A cached synthesis: the audio (``format`` mp3 or wav, ``size_bytes`` bytes, ``duration_seconds``
    seconds) is file ``file_id`` of the file store; ``cache_key`` is the SHA-256 of what was
    synthesized; it expires a TTL after ``accessed_at``. It belongs to ``project`` or, when None,
    to the Basic user ``owner`` (both None: admins only)."""
    audio_id: str
    cache_key: str
    text: str
    voice: str
    language: str
    emotion: str
    options: dict[str, Any]
    format: str
    file_id: str
    size_bytes: int
    duration_seconds: float
    created_at: datetime
    accessed_at: datetime
    project: str | None = None
    owner: str | None = None


def _audio(row: VertebroAudio) -> AudioRecord:
    return AudioRecord(row.audio_id, row.cache_key, row.text, row.voice, row.language, row.emotion,
                       copy.deepcopy(row.options), row.format, row.file_id, row.size_bytes, row.duration_seconds,
                       row.created_at, row.accessed_at, row.project, row.owner)


@dataclass(frozen=True)
class IntentExampleRecord:
    """A project's example utterance of ``intent``; ``action`` is the suggested action when it wins."""
    id: int
    project: str
    intent: str
    text: str
    action: dict[str, Any] | None


@dataclass(frozen=True)
class KnowledgeRecord:
    """A project's knowledge snippet; ``title`` and ``url`` are what dialog ``sources`` cite."""
    id: int
    project: str
    title: str
    url: str
    text: str


@dataclass(frozen=True)
class SectionRecord:
    """A project's site section (a ``navigate`` target): ``keywords`` are lower-case word stems."""
    project: str
    key: str
    url: str
    title: str
    keywords: list[str]
    description: str


def _live(now: datetime, scope: Scope | None = None):
    """Conditions of a live session (not deleted, not expired) that ``scope`` may see (None: any)."""
    live = (col(VertebroSession.ended_at).is_(None), VertebroSession.expires_at > now)
    if scope is None or scope.admin:
        return live
    return (*live, col(VertebroSession.owner) == scope.user, col(VertebroSession.project).in_(sorted(scope.projects)))


_SESSIONS = VertebroSession.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table classes
_USERS = VertebroUser.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table classes
_HASH_BY_USER = sa_select(_USERS.c.password_hash).where(_USERS.c.username == bindparam("username"))
_LIVE_BY_ID = sa_select(_SESSIONS).where(_SESSIONS.c.session_id == bindparam("session_id"),
                                         _SESSIONS.c.ended_at.is_(None), _SESSIONS.c.expires_at > bindparam("now"))


class VertebroUserStore:
    """Basic-auth users added at run time (besides those in ``VERTEBRO_BASIC_USERS``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, username: str, password_hash: str, now: datetime) -> None:
        """Create or replace ``username`` with an argon2 ``password_hash``."""

        def work(s: Session) -> None:
            row = s.get(VertebroUser, username) or VertebroUser(username=username, password_hash="", created_at=now)
            row.password_hash = password_hash
            s.add(row)

        await self.db.run(work)

    async def password_hash(self, username: str) -> str | None:
        """The argon2 hash stored for ``username``, or None when it is not a stored user (read on
        every Basic-authenticated request: a prepared Core select, no ORM session)."""
        row: Any = await self.db.fetch_one(_HASH_BY_USER, {"username": username})
        return row.password_hash if row else None


class VertebroSessionStore:
    """Voice sessions. Live = not deleted and ``expires_at`` in the future."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, *, session_id: str, project: str, user_id: str, language: str,
                     voice_preference: dict[str, Any] | None, now: datetime, timeout_seconds: int,
                     max_live: int, owner: str | None = None) -> VoiceSessionRecord:
        """Create a session of the Basic user ``owner`` expiring ``timeout_seconds`` after ``now``. Raises
        :class:`SessionLimitReached` when ``max_live`` sessions are live already.

        The cap holds across processes and hosts: the insert and the count run in one
        transaction serialized with every other creation — on PostgreSQL by a transaction-scoped
        advisory lock taken first, on SQLite by the database's single writer (the insert comes
        first, so the count runs under the write lock and sees every committed session).
        """

        def work(s: Session) -> VoiceSessionRecord:
            connection = s.connection()
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SESSION_CAP_LOCK})
            row = VertebroSession(session_id=session_id, owner=owner, project=project, user_id=user_id,
                                  language=language,
                                  voice_preference=voice_preference, context={}, created_at=now,
                                  last_activity_at=now, expires_at=now + timedelta(seconds=timeout_seconds))
            s.add(row)
            s.flush()
            live = s.exec(select(func.count()).select_from(VertebroSession).where(*_live(now))).one()
            if live > max_live:
                raise SessionLimitReached(f"{live - 1} live sessions")  # rolls the insert back
            return _session(row)

        return await self.db.run(work)

    async def get_live(self, session_id: str, now: datetime, scope: Scope | None = None) -> VoiceSessionRecord | None:
        """The session if it is live at ``now`` (not deleted, not expired) and ``scope`` may see it
        (None: no restriction), else None."""
        # read on most requests: a prepared Core select (rows have the table's attributes), no ORM
        # session, narrowed to what ``scope`` may see
        query = _LIVE_BY_ID
        if scope is not None and not scope.admin:
            query = query.where(_SESSIONS.c.owner == scope.user, _SESSIONS.c.project.in_(sorted(scope.projects)))
        row: Any = await self.db.fetch_one(query, {"session_id": session_id, "now": now})
        return _session(row) if row else None

    async def touch(self, session_id: str, now: datetime, timeout_seconds: int,
                    context: dict[str, Any] | None = None, scope: Scope | None = None) -> VoiceSessionRecord | None:
        """Record activity on a live session ``scope`` may see (None: any): ``expires_at`` = now +
        timeout (and merge ``context`` into its context). None, changing nothing, when the session
        is not live or not visible."""

        def work(s: Session) -> VoiceSessionRecord | None:
            row = s.exec(select(VertebroSession).where(VertebroSession.session_id == session_id,
                                                       *_live(now, scope))).first()
            if row is None:
                return None
            row.last_activity_at = now
            row.expires_at = now + timedelta(seconds=timeout_seconds)
            if context:
                row.context = {**(row.context or {}), **context}
            s.add(row)
            s.flush()
            return _session(row)

        return await self.db.run(work)

    async def end(self, session_id: str, now: datetime, scope: Scope | None = None) -> bool:
        """Delete a live session ``scope`` may see (kept as an ended row for analytics). False,
        changing nothing, if it is not live or not visible."""

        def work(s: Session) -> bool:
            row = s.exec(select(VertebroSession).where(VertebroSession.session_id == session_id,
                                                       *_live(now, scope))).first()
            if row is None:
                return False
            row.ended_at = now
            s.add(row)
            return True

        return await self.db.run(work)

    async def counts(self, project: str, now: datetime) -> tuple[int, int]:
        """``(sessions ever started, sessions live now)`` of ``project``."""

        def work(s: Session) -> tuple[int, int]:
            total = s.exec(select(func.count()).select_from(VertebroSession)
                           .where(VertebroSession.project == project)).one()
            live = s.exec(select(func.count()).select_from(VertebroSession)
                          .where(VertebroSession.project == project, *_live(now))).one()
            return int(total), int(live)

        return await self.db.run(work)


class VertebroHistoryStore:
    """The interaction log of sessions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, session: VoiceSessionRecord, type_: str, content: dict[str, Any],
                  now: datetime) -> InteractionRecord:
        """Append a history item of ``type_`` with ``content`` (JSON) to ``session`` at ``now``."""
        def work(s: Session) -> InteractionRecord:
            row = VertebroInteraction(session_id=session.session_id, project=session.project,
                                      user_id=session.user_id, type=type_, content=content, created_at=now)
            s.add(row)
            s.flush()
            return InteractionRecord(_pk(row.id), row.session_id, row.project, row.user_id, row.type,
                                     copy.deepcopy(row.content), row.created_at)

        return await self.db.run(work)

    async def recent(self, session_id: str, limit: int) -> list[InteractionRecord]:
        """The ``limit`` newest items of a session, newest first."""

        def work(s: Session) -> list[InteractionRecord]:
            rows = s.exec(select(VertebroInteraction).where(VertebroInteraction.session_id == session_id)
                          .order_by(col(VertebroInteraction.id).desc()).limit(limit)).all()
            return [InteractionRecord(_pk(r.id), r.session_id, r.project, r.user_id, r.type, copy.deepcopy(r.content),
                                      r.created_at) for r in rows]

        return await self.db.run(work)

    async def count(self, project: str) -> int:
        """How many history items the sessions of ``project`` have (deleted and expired ones included)."""
        def work(s: Session) -> int:
            return int(s.exec(select(func.count()).select_from(VertebroInteraction)
                              .where(VertebroInteraction.project == project)).one())

        return await self.db.run(work)


class VertebroAudioStore:
    """Index of cached synthesized audio (the bytes are in the file store)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def hit(self, cache_key: str, now: datetime, fresh_after: datetime) -> AudioRecord | None:
        """The cached entry for ``cache_key`` (its ``accessed_at`` set to ``now``), or None when
        there is none or it was last accessed before ``fresh_after`` (expired, awaiting cleanup)."""

        def work(s: Session) -> AudioRecord | None:
            row = s.exec(select(VertebroAudio).where(VertebroAudio.cache_key == cache_key)).first()
            if row is None or row.accessed_at < fresh_after:
                return None
            row.accessed_at = now
            s.add(row)
            s.flush()
            return _audio(row)

        return await self.db.run(work)

    async def add(self, record: AudioRecord, fresh_after: datetime) -> tuple[AudioRecord, str | None]:
        """Index a new entry; if another request cached the same key meanwhile, that one wins
        (returned) and the caller removes its own file. Returns ``(entry, stale file id)``: an
        expired entry of the same key is replaced and its file id returned for removal."""

        def work(s: Session) -> tuple[AudioRecord, str | None]:
            existing = s.exec(select(VertebroAudio).where(VertebroAudio.cache_key == record.cache_key)).first()
            if existing is not None and existing.accessed_at >= fresh_after:
                return _audio(existing), None
            stale = None
            if existing is not None:  # expired, not yet cleaned: replaced
                stale = existing.file_id
                s.delete(existing)
                s.flush()
            row = VertebroAudio(**record.__dict__)
            s.add(row)
            s.flush()
            return _audio(row), stale

        return await self.db.run(work)

    async def get(self, audio_id: str, now: datetime, fresh_after: datetime,
                  scope: Scope | None = None) -> AudioRecord | None:
        """The entry ``audio_id`` (its ``accessed_at`` set to ``now``), or None, changing nothing,
        when there is none, it expired (last accessed before ``fresh_after``) or ``scope`` may not
        see it (None: no restriction)."""

        def work(s: Session) -> AudioRecord | None:
            row = s.get(VertebroAudio, audio_id)
            if row is None or row.accessed_at < fresh_after:
                return None
            if scope is not None and not scope.sees_audio(row.owner, row.project):
                return None
            row.accessed_at = now
            s.add(row)
            s.flush()
            return _audio(row)

        return await self.db.run(work)

    async def expired(self, accessed_before: datetime, limit: int = 500) -> list[AudioRecord]:
        """At most ``limit`` entries last accessed before ``accessed_before``, oldest access first."""
        def work(s: Session) -> list[AudioRecord]:
            rows = s.exec(select(VertebroAudio).where(VertebroAudio.accessed_at < accessed_before)
                          .order_by(col(VertebroAudio.accessed_at)).limit(limit)).all()
            return [_audio(r) for r in rows]

        return await self.db.run(work)

    async def remove_if_expired(self, audio_id: str, accessed_before: datetime) -> bool:
        """Delete the index entry unless it was accessed meanwhile. True when removed."""

        def work(s: Session) -> bool:
            row = s.get(VertebroAudio, audio_id)
            if row is None or row.accessed_at >= accessed_before:
                return False
            s.delete(row)
            return True

        return await self.db.run(work)


class VertebroIntentStore:
    """Per-project intent examples, site sections (added to the built-in defaults) and knowledge."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_example(self, project: str, intent: str, text: str, action: dict[str, Any] | None,
                          now: datetime) -> IntentExampleRecord:
        """Store an example ``text`` of ``intent`` for ``project`` (``action``: its suggested action or None)."""
        def work(s: Session) -> IntentExampleRecord:
            row = VertebroIntentExample(project=project, intent=intent, text=text, action=action, created_at=now)
            s.add(row)
            s.flush()
            return IntentExampleRecord(_pk(row.id), row.project, row.intent, row.text, row.action)

        return await self.db.run(work)

    async def examples(self, project: str) -> list[IntentExampleRecord]:
        """The project's own intent examples, in the order they were added."""
        def work(s: Session) -> list[IntentExampleRecord]:
            rows = s.exec(select(VertebroIntentExample).where(VertebroIntentExample.project == project)
                          .order_by(col(VertebroIntentExample.id))).all()
            return [IntentExampleRecord(_pk(r.id), r.project, r.intent, r.text, copy.deepcopy(r.action)) for r in rows]

        return await self.db.run(work)

    async def put_section(self, project: str, key: str, url: str, title: str, keywords: list[str],
                          description: str, now: datetime) -> SectionRecord:
        """Create or replace the project's section ``key`` (``url``, ``title``, ``keywords``, ``description``)."""
        def work(s: Session) -> SectionRecord:
            row = s.get(VertebroSection, (project, key)) or VertebroSection(
                project=project, key=key, url=url, title=title, created_at=now)
            row.url, row.title, row.keywords, row.description = url, title, list(keywords), description
            s.add(row)
            s.flush()
            return SectionRecord(row.project, row.key, row.url, row.title, list(row.keywords), row.description)

        return await self.db.run(work)

    async def sections(self, project: str) -> list[SectionRecord]:
        """The project's own sections, by key (the built-in defaults are not stored)."""
        def work(s: Session) -> list[SectionRecord]:
            rows = s.exec(select(VertebroSection).where(VertebroSection.project == project)
                          .order_by(col(VertebroSection.key))).all()
            return [SectionRecord(r.project, r.key, r.url, r.title, list(r.keywords), r.description) for r in rows]

        return await self.db.run(work)

    async def add_knowledge(self, project: str, title: str, url: str, text: str, now: datetime) -> KnowledgeRecord:
        """Add a knowledge snippet (a fact, or ``Q: … A: …``) to ``project``."""

        def work(s: Session) -> KnowledgeRecord:
            row = VertebroKnowledge(project=project, title=title, url=url, text=text, created_at=now)
            s.add(row)
            s.flush()
            return KnowledgeRecord(_pk(row.id), row.project, row.title, row.url, row.text)

        return await self.db.run(work)

    async def knowledge(self, project: str) -> list[KnowledgeRecord]:
        """The project's knowledge snippets, in the order they were added."""
        def work(s: Session) -> list[KnowledgeRecord]:
            rows = s.exec(select(VertebroKnowledge).where(VertebroKnowledge.project == project)
                          .order_by(col(VertebroKnowledge.id))).all()
            return [KnowledgeRecord(_pk(r.id), r.project, r.title, r.url, r.text) for r in rows]

        return await self.db.run(work)
