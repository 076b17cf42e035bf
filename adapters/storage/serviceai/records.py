"""ServiceAi business records the Chatty Voice tools work on: entities (customers, jobs, sites…),
tickets, notes, knowledge-base articles and workflow stages. Persistence only: every query is
scoped to one organisation; no HTTP, no policy. Times are aware UTC datetimes. Every store method
raises ``StorageUnavailable`` (adapters/storage/database.py) when the database fails."""

from __future__ import annotations

import copy
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.serviceai.tables import (
    ServiceaiEntity,
    ServiceaiKnowledgeArticle,
    ServiceaiNote,
    ServiceaiTicket,
    ServiceaiWorkflowStage,
)


def new_id(prefix: str) -> str:
    """``<prefix>_<16 hex>``, e.g. ``tkt_5f0c…``."""
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class EntityRecord:
    """A stored entity (customer, job, site, …), detached from the ORM."""

    entity_id: str
    organization_id: str
    entity_type: str
    name: str
    reference: str | None
    stage: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TicketRecord:
    """A stored ticket (priority low/normal/high/urgent, status open/closed)."""

    ticket_id: str
    organization_id: str
    created_by: str
    title: str
    description: str
    priority: str
    status: str
    entity_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NoteRecord:
    """A stored note, attached to ``entity_id`` when given."""

    note_id: str
    organization_id: str
    author_id: str
    entity_id: str | None
    content: str
    created_at: datetime


@dataclass(frozen=True)
class ArticleRecord:
    """A stored knowledge-base article."""

    article_id: str
    organization_id: str
    title: str
    body: str
    tags: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class StageRecord:
    """One workflow stage; ``position`` orders the workflow (0 first)."""

    organization_id: str
    key: str
    name: str
    description: str
    position: int


def _entity(r: ServiceaiEntity) -> EntityRecord:
    return EntityRecord(r.entity_id, r.organization_id, r.entity_type, r.name, r.reference, r.stage,
                        copy.deepcopy(r.attributes), r.created_at, r.updated_at)


def _ticket(r: ServiceaiTicket) -> TicketRecord:
    return TicketRecord(r.ticket_id, r.organization_id, r.created_by, r.title, r.description, r.priority, r.status,
                        r.entity_id, r.created_at, r.updated_at)


def _note(r: ServiceaiNote) -> NoteRecord:
    return NoteRecord(r.note_id, r.organization_id, r.author_id, r.entity_id, r.content, r.created_at)


def _article(r: ServiceaiKnowledgeArticle) -> ArticleRecord:
    return ArticleRecord(r.article_id, r.organization_id, r.title, r.body, tuple(r.tags), r.updated_at)


def _stage(r: ServiceaiWorkflowStage) -> StageRecord:
    return StageRecord(r.organization_id, r.key, r.name, r.description, r.position)


_WORD = re.compile(r"[\w'-]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ServiceaiRecordStore:
    """Entities, tickets, notes, knowledge base and workflow stages of organisations."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- entities -------------------------------------------------------------------------

    async def upsert_entity(self, *, organization_id: str, entity_type: str, name: str, now: datetime,
                            entity_id: str | None = None, reference: str | None = None, stage: str | None = None,
                            attributes: dict[str, Any] | None = None) -> EntityRecord:
        """Create an entity (id generated from its type when not given) or replace the stored
        fields of ``entity_id``. Raises PermissionError if the id belongs to another organisation."""

        def work(s: Session) -> EntityRecord:
            row = s.get(ServiceaiEntity, entity_id) if entity_id else None
            if row is not None and row.organization_id != organization_id:
                raise PermissionError(f"entity {entity_id} belongs to another organisation")
            if row is None:
                row = ServiceaiEntity(entity_id=entity_id or new_id(entity_type[:3].lower() or "ent"),
                                      organization_id=organization_id, entity_type=entity_type, name=name,
                                      created_at=now, updated_at=now)
            row.entity_type, row.name, row.reference, row.stage = entity_type, name, reference, stage
            row.attributes = attributes or {}
            row.updated_at = now
            s.add(row)
            s.flush()
            return _entity(row)

        return await self.db.run(work)

    async def get_entity(self, organization_id: str, entity_id: str) -> EntityRecord | None:
        """The entity, or None when unknown or another organisation's."""
        def work(s: Session) -> EntityRecord | None:
            row = s.get(ServiceaiEntity, entity_id)
            return _entity(row) if row and row.organization_id == organization_id else None

        return await self.db.run(work)

    async def search_entities(self, organization_id: str, *, query: str | None = None,
                              entity_type: str | None = None, limit: int = 5) -> list[EntityRecord]:
        """Entities of the organisation matching ``query``, best first.

        An exact id or reference match ranks first; then entities whose name or reference
        contains every word of the query as a word, then as a substring, then those sharing
        at least one word of 3+ letters (case-insensitive); ties by name.
        Without a query: the most recently updated entities.
        """

        def work(s: Session) -> list[EntityRecord]:
            stmt = select(ServiceaiEntity).where(ServiceaiEntity.organization_id == organization_id)
            if entity_type:
                stmt = stmt.where(ServiceaiEntity.entity_type == entity_type)
            if not query or not query.strip():
                rows = s.exec(stmt.order_by(col(ServiceaiEntity.updated_at).desc()).limit(limit)).all()
                return [_entity(r) for r in rows]
            words = _words(query)
            needle = query.strip().lower()
            # Narrow in SQL (any word in the name or reference, or the exact id/reference),
            # then rank in Python.
            # lower() typed as its column: the needle and patterns are stored-text encoded too (NUL)
            def lower(column: Any) -> Any:
                return func.lower(column, type_=column.type)

            clauses = [lower(ServiceaiEntity.entity_id) == needle, lower(ServiceaiEntity.reference) == needle]
            for word in words[:8]:
                pattern = f"%{_escape_like(word)}%"
                clauses.append(lower(ServiceaiEntity.name).like(pattern, escape="\\"))
                clauses.append(lower(ServiceaiEntity.reference).like(pattern, escape="\\"))
            rows = s.exec(stmt.where(or_(*clauses)).limit(2000)).all()
            scored: list[tuple[int, str, ServiceaiEntity]] = []
            for r in rows:
                ident = {r.entity_id.lower(), (r.reference or "").lower()}
                haystack = " ".join([r.name, r.reference or ""]).lower()
                haystack_words = set(_words(haystack))
                if needle in ident:
                    score = 0
                elif words and all(w in haystack_words for w in words):
                    score = 1
                elif words and all(w in haystack for w in words):
                    score = 2
                elif any(len(w) >= 3 and w in haystack_words for w in words):
                    score = 3
                else:
                    continue
                scored.append((score, r.name.lower(), r))
            scored.sort(key=lambda t: (t[0], t[1]))
            return [_entity(r) for _, _, r in scored[:limit]]

        return await self.db.run(work)

    async def set_entity_stage(self, organization_id: str, entity_id: str, stage: str,
                               now: datetime) -> tuple[str | None, EntityRecord] | None:
        """Move an entity to workflow ``stage``: ``(previous stage, updated record)``, or None
        when the entity is not the organisation's."""

        def work(s: Session) -> tuple[str | None, EntityRecord] | None:
            row = s.get(ServiceaiEntity, entity_id, with_for_update=True)
            if row is None or row.organization_id != organization_id:
                return None
            previous = row.stage
            row.stage, row.updated_at = stage, now
            s.add(row)
            s.flush()
            return previous, _entity(row)

        return await self.db.run(work)

    # ---- tickets --------------------------------------------------------------------------

    async def create_ticket(self, *, organization_id: str, created_by: str, title: str, description: str,
                            priority: str, entity_id: str | None, now: datetime) -> TicketRecord:
        """Store a new open ticket (id ``tkt_…``) created at ``now``."""
        def work(s: Session) -> TicketRecord:
            row = ServiceaiTicket(ticket_id=new_id("tkt"), organization_id=organization_id, created_by=created_by,
                                  title=title, description=description, priority=priority, status="open",
                                  entity_id=entity_id, created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            return _ticket(row)

        return await self.db.run(work)

    async def list_tickets(self, organization_id: str, *, status: str | None = None, entity_id: str | None = None,
                           limit: int = 10) -> list[TicketRecord]:
        """Tickets of the organisation, newest first."""

        def work(s: Session) -> list[TicketRecord]:
            stmt = select(ServiceaiTicket).where(ServiceaiTicket.organization_id == organization_id)
            if status:
                stmt = stmt.where(ServiceaiTicket.status == status)
            if entity_id:
                stmt = stmt.where(ServiceaiTicket.entity_id == entity_id)
            stmt = stmt.order_by(col(ServiceaiTicket.created_at).desc(), col(ServiceaiTicket.ticket_id).desc())
            return [_ticket(r) for r in s.exec(stmt.limit(limit)).all()]

        return await self.db.run(work)

    # ---- notes ----------------------------------------------------------------------------

    async def create_note(self, *, organization_id: str, author_id: str, entity_id: str | None, content: str,
                          now: datetime) -> NoteRecord:
        """Store a new note (id ``note_…``) created at ``now``."""
        def work(s: Session) -> NoteRecord:
            row = ServiceaiNote(note_id=new_id("note"), organization_id=organization_id, author_id=author_id,
                                entity_id=entity_id, content=content, created_at=now)
            s.add(row)
            s.flush()
            return _note(row)

        return await self.db.run(work)

    async def list_notes(self, organization_id: str, *, entity_id: str | None = None,
                         limit: int = 10) -> list[NoteRecord]:
        """Notes of the organisation (of one entity if given), newest first."""

        def work(s: Session) -> list[NoteRecord]:
            stmt = select(ServiceaiNote).where(ServiceaiNote.organization_id == organization_id)
            if entity_id:
                stmt = stmt.where(ServiceaiNote.entity_id == entity_id)
            stmt = stmt.order_by(col(ServiceaiNote.created_at).desc(), col(ServiceaiNote.note_id).desc())
            return [_note(r) for r in s.exec(stmt.limit(limit)).all()]

        return await self.db.run(work)

    # ---- knowledge base -------------------------------------------------------------------

    async def upsert_article(self, *, organization_id: str, title: str, body: str, now: datetime,
                             article_id: str | None = None, tags: list[str] | None = None) -> ArticleRecord:
        """Create an article (id ``kb_…`` when not given) or replace ``article_id``'s fields.
        Raises PermissionError if the id belongs to another organisation."""
        def work(s: Session) -> ArticleRecord:
            row = s.get(ServiceaiKnowledgeArticle, article_id) if article_id else None
            if row is not None and row.organization_id != organization_id:
                raise PermissionError(f"article {article_id} belongs to another organisation")
            if row is None:
                row = ServiceaiKnowledgeArticle(article_id=article_id or new_id("kb"), organization_id=organization_id,
                                                title=title, body=body, updated_at=now)
            row.title, row.body, row.tags, row.updated_at = title, body, list(tags or []), now
            s.add(row)
            s.flush()
            return _article(row)

        return await self.db.run(work)

    async def list_articles(self, organization_id: str) -> list[ArticleRecord]:
        """Every article of the organisation, by title."""

        def work(s: Session) -> list[ArticleRecord]:
            stmt = (select(ServiceaiKnowledgeArticle)
                    .where(ServiceaiKnowledgeArticle.organization_id == organization_id)
                    .order_by(col(ServiceaiKnowledgeArticle.title), col(ServiceaiKnowledgeArticle.article_id)))
            rows = s.exec(stmt).all()
            return [_article(r) for r in rows]

        return await self.db.run(work)

    async def delete_article(self, organization_id: str, article_id: str) -> bool:
        """Delete one article of the organisation; False when there was none."""
        def work(s: Session) -> bool:
            result = s.exec(delete(ServiceaiKnowledgeArticle)
                            .where(col(ServiceaiKnowledgeArticle.article_id) == article_id)
                            .where(col(ServiceaiKnowledgeArticle.organization_id) == organization_id))
            return result.rowcount == 1

        return await self.db.run(work)

    # ---- workflow stages ------------------------------------------------------------------

    async def replace_stages(self, organization_id: str, stages: list[dict[str, Any]]) -> list[StageRecord]:
        """Replace the organisation's workflow with ``stages`` (``{key, name, description?}`` in
        order). Raises ValueError on an empty or repeated key."""
        keys = [str(stage.get("key") or "") for stage in stages]
        if any(not k for k in keys) or len(set(keys)) != len(keys):
            raise ValueError("every workflow stage needs a unique, non-empty key")

        def work(s: Session) -> list[StageRecord]:
            s.exec(delete(ServiceaiWorkflowStage)
                   .where(col(ServiceaiWorkflowStage.organization_id) == organization_id))
            rows = [ServiceaiWorkflowStage(organization_id=organization_id, key=str(st["key"]),
                                           name=str(st.get("name") or st["key"]),
                                           description=str(st.get("description") or ""), position=i)
                    for i, st in enumerate(stages)]
            s.add_all(rows)
            s.flush()
            return [_stage(r) for r in rows]

        return await self.db.run(work)

    async def list_stages(self, organization_id: str) -> list[StageRecord]:
        """The organisation's workflow stages in order."""

        def work(s: Session) -> list[StageRecord]:
            rows = s.exec(select(ServiceaiWorkflowStage)
                          .where(ServiceaiWorkflowStage.organization_id == organization_id)
                          .order_by(col(ServiceaiWorkflowStage.position))).all()
            return [_stage(r) for r in rows]

        return await self.db.run(work)
