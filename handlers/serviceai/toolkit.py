"""The Chatty Voice tools: their OpenAI-Realtime-compatible definitions and implementations.

Every tool works on the caller's organisation only, through the ServiceAi record store.
A tool returns :class:`ToolResult` (``success: true`` with a speakable ``message``, ``data``
and, for ``navigate``, an ``action`` the client executes) or raises :class:`ToolFailure`
(``success: false`` with a ``code``: ``INVALID_ARGUMENTS``, ``NOT_FOUND``). Dispatch, argument
validation and permission checks live in :mod:`handlers.serviceai.tools`.

Catalogue (name → permission):
  lookup_entity (entities:read), search_knowledge_base (knowledge:read),
  create_ticket (tickets:write), list_tickets (tickets:read), create_note (notes:write),
  list_notes (notes:read), update_job_stage (jobs:write), navigate (none).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.storage.serviceai.records import EntityRecord, NoteRecord, TicketRecord
from core.clock import isoformat, utcnow
from generated.models.serviceai import ChattyToolDefinition, Function, Parameters, Type
from handlers.serviceai.bundle import bundle


@dataclass
class ToolResult:
    """A successful tool run: a speakable ``message``, JSON ``data`` and, for navigate, the
    ``action`` the client executes."""

    message: str
    data: Any = None
    action: dict[str, Any] | None = None


class ToolFailure(Exception):
    """An expected failure reported as ``{success: false, code, error}`` (HTTP 200)."""

    def __init__(self, code: str, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error


@dataclass(frozen=True)
class Caller:
    """Who runs a tool: the user, its organisation (every record is scoped to it), its name."""

    user_id: str
    organization_id: str
    display_name: str | None


ToolFn = Callable[[Caller, dict[str, Any]], Awaitable[ToolResult]]


@dataclass(frozen=True)
class Tool:
    """One tool: its name, description, JSON Schema ``parameters``, required permission (None:
    only the entitlement) and implementation."""

    name: str
    description: str
    parameters: dict[str, Any]
    permission: str | None
    run: ToolFn = field(repr=False)

    def definition(self) -> ChattyToolDefinition:
        """The ``ChattyToolDefinition`` (Chat-Completions style: ``{type, function: {…}}``); every
        keyword of the parameter schemas is kept (ChattyToolParameterProperty is open)."""
        return ChattyToolDefinition(type=Type.function, function=Function(
            name=self.name, description=self.description, parameters=Parameters.model_validate(self.parameters)))

    def realtime_definition(self) -> dict[str, Any]:
        """The same tool in the Realtime session form (flat: ``{type, name, description, parameters}``)."""
        return {"type": "function", "name": self.name, "description": self.description, "parameters": self.parameters}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


ENTITY_TYPES_HINT = "customer, job, site, asset or contact"
PRIORITIES = ["low", "normal", "high", "urgent"]
TICKET_STATUSES = ["open", "closed"]

# Pages of the ServiceAi app the client can open, and their routes. An entity page is
# /<collection>/<id>; ENTITY_ROUTES gives the collection of each entity type.
PAGES: dict[str, str] = {
    "dashboard": "/",
    "customers": "/customers",
    "jobs": "/jobs",
    "schedule": "/schedule",
    "scans": "/scans",
    "tickets": "/tickets",
    "notes": "/notes",
    "knowledge-base": "/knowledge-base",
    "settings": "/settings",
}
ENTITY_ROUTES: dict[str, str] = {"customer": "/customers", "job": "/jobs", "site": "/sites", "asset": "/assets",
                                 "contact": "/contacts"}


def _entity_json(e: EntityRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": e.entity_id, "type": e.entity_type, "name": e.name}
    if e.reference:
        out["reference"] = e.reference
    if e.stage:
        out["stage"] = e.stage
    if e.attributes:
        out["attributes"] = e.attributes
    out["updatedAt"] = isoformat(e.updated_at)
    return out


def _ticket_json(t: TicketRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.ticket_id, "title": t.title, "description": t.description,
                           "priority": t.priority, "status": t.status, "createdBy": t.created_by,
                           "createdAt": isoformat(t.created_at)}
    if t.entity_id:
        out["entityId"] = t.entity_id
    return out


def _note_json(n: NoteRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": n.note_id, "content": n.content, "authorId": n.author_id,
                           "createdAt": isoformat(n.created_at)}
    if n.entity_id:
        out["entityId"] = n.entity_id
    return out


def _describe(e: EntityRecord) -> str:
    text = f"{e.entity_type} {e.name}"
    if e.reference:
        text += f" ({e.reference})"
    if e.stage:
        text += f", stage {e.stage}"
    return text


def _text(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


async def _entity_or_fail(caller: Caller, entity_id: str) -> EntityRecord:
    entity = await bundle().records.get_entity(caller.organization_id, entity_id)
    if entity is None:
        raise ToolFailure("NOT_FOUND", f"No record with id {entity_id!r} exists.")
    return entity


# ---------------------------------------------------------------------------------- tools


async def lookup_entity(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``lookup_entity {query, entityType?, limit? 1-10 (5)}`` → ``{query, count, matches: [entity]}``,
    best first. Raises ToolFailure."""
    query = _text(args, "query")
    if query is None:
        raise ToolFailure("INVALID_ARGUMENTS", "query must not be empty.")
    entity_type = _text(args, "entityType")
    entity_type = entity_type.lower() if entity_type else None
    limit = int(args.get("limit") or 5)
    records = bundle().records
    matches = await records.search_entities(caller.organization_id, query=query, entity_type=entity_type, limit=limit)
    if not matches and entity_type and entity_type.endswith("s"):  # "customers" said for "customer"
        matches = await records.search_entities(caller.organization_id, query=query, entity_type=entity_type[:-1],
                                                limit=limit)
    what = entity_type or "record"
    if not matches:
        message = f"No {what} matches {query!r}."
    elif len(matches) == 1:
        message = f"Found {_describe(matches[0])}."
    else:
        message = f"Found {len(matches)} matches for {query!r}: " + "; ".join(_describe(m) for m in matches) + "."
    return ToolResult(message, {"query": query, "count": len(matches), "matches": [_entity_json(m) for m in matches]})


def _tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", text.lower()) if len(w) > 1]


def _snippet(body: str, terms: set[str], width: int = 240) -> str:
    lowered = body.lower()
    positions = [lowered.find(t) for t in terms if lowered.find(t) >= 0]
    start = max(0, min(positions) - 60) if positions else 0
    text = body[start:start + width].strip()
    return ("…" if start else "") + text + ("…" if start + width < len(body) else "")


async def search_knowledge_base(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``search_knowledge_base {query, limit? 1-5 (3)}`` → ``{query, count, results: [{id, title, snippet,
    score}]}`` (TF-IDF ranking). Raises ToolFailure."""
    query = _text(args, "query")
    if query is None:
        raise ToolFailure("INVALID_ARGUMENTS", "query must not be empty.")
    limit = int(args.get("limit") or 3)
    articles = await bundle().records.list_articles(caller.organization_id)
    terms = set(_tokens(query))
    docs = [(a, Counter(_tokens(a.title) * 3 + _tokens(a.body) + [t.lower() for t in a.tags] * 2)) for a in articles]
    n = len(docs)
    scored = []
    for article, counts in docs:
        score = 0.0
        for term in terms:
            if counts[term]:
                df = sum(1 for _, c in docs if c[term])
                score += (1 + math.log(counts[term])) * math.log(1 + n / df)
        if score > 0:
            scored.append((score, article))
    scored.sort(key=lambda t: (-t[0], t[1].title))
    hits = [{"id": a.article_id, "title": a.title, "snippet": _snippet(a.body, terms), "score": round(s, 3)}
            for s, a in scored[:limit]]
    if not articles:
        message = "The knowledge base is empty."
    elif not hits:
        message = f"Nothing in the knowledge base matches {query!r}."
    else:
        message = f"Best match: {hits[0]['title']}. {hits[0]['snippet']}"
    return ToolResult(message, {"query": query, "count": len(hits), "results": hits})


async def create_ticket(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``create_ticket {title, description?, priority? (normal), entityId?}`` → the stored ticket;
    NOT_FOUND for a foreign entityId. Raises ToolFailure."""
    title = _text(args, "title")
    if title is None:
        raise ToolFailure("INVALID_ARGUMENTS", "title must not be empty.")
    entity_id = _text(args, "entityId")
    if entity_id:
        await _entity_or_fail(caller, entity_id)
    priority = args.get("priority") or "normal"
    ticket = await bundle().records.create_ticket(
        organization_id=caller.organization_id, created_by=caller.user_id, title=title,
        description=str(args.get("description") or "").strip(), priority=priority, entity_id=entity_id, now=utcnow())
    return ToolResult(f"Created ticket {ticket.ticket_id}: {ticket.title} ({ticket.priority} priority).",
                      _ticket_json(ticket))


async def list_tickets(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``list_tickets {status?, entityId?, limit? 1-20 (10)}`` → ``{count, tickets}``, newest first. Raises
    ToolFailure."""
    entity_id = _text(args, "entityId")
    if entity_id:
        await _entity_or_fail(caller, entity_id)
    tickets = await bundle().records.list_tickets(caller.organization_id, status=args.get("status"),
                                                     entity_id=entity_id, limit=int(args.get("limit") or 10))
    if not tickets:
        message = "There are no matching tickets."
    else:
        message = f"{len(tickets)} ticket{'s' if len(tickets) != 1 else ''}: " + "; ".join(
            f"{t.title} ({t.status}, {t.priority})" for t in tickets) + "."
    return ToolResult(message, {"count": len(tickets), "tickets": [_ticket_json(t) for t in tickets]})


async def create_note(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``create_note {content, entityId?}`` → the stored note; NOT_FOUND for a foreign entityId. Raises
    ToolFailure."""
    content = _text(args, "content")
    if content is None:
        raise ToolFailure("INVALID_ARGUMENTS", "content must not be empty.")
    entity_id = _text(args, "entityId")
    target = await _entity_or_fail(caller, entity_id) if entity_id else None
    note = await bundle().records.create_note(organization_id=caller.organization_id, author_id=caller.user_id,
                                                 entity_id=entity_id, content=content, now=utcnow())
    where = f" on {_describe(target)}" if target else ""
    return ToolResult(f"Saved the note{where}.", _note_json(note))


async def list_notes(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``list_notes {entityId?, limit? 1-20 (10)}`` → ``{count, notes}``, newest first. Raises ToolFailure."""
    entity_id = _text(args, "entityId")
    if entity_id:
        await _entity_or_fail(caller, entity_id)
    notes = await bundle().records.list_notes(caller.organization_id, entity_id=entity_id,
                                                 limit=int(args.get("limit") or 10))
    message = (f"{len(notes)} note{'s' if len(notes) != 1 else ''}, newest first: "
               + "; ".join(n.content[:120] for n in notes) + ".") if notes else "There are no notes."
    return ToolResult(message, {"count": len(notes), "notes": [_note_json(n) for n in notes]})


async def update_job_stage(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``update_job_stage {jobId, stage}`` (stage key or name) → ``{jobId, previousStage, stage, job}``;
    INVALID_ARGUMENTS for an unknown stage or a non-job, NOT_FOUND for a foreign id. Raises ToolFailure."""
    job_id = _text(args, "jobId") or ""
    wanted = _text(args, "stage") or ""
    records = bundle().records
    stages = await records.list_stages(caller.organization_id)
    if not stages:
        raise ToolFailure("INVALID_ARGUMENTS", "No workflow stages are configured for this organisation.")
    stage = next((s for s in stages if wanted.lower() in (s.key.lower(), s.name.lower())), None)
    if stage is None:
        raise ToolFailure("INVALID_ARGUMENTS", f"Unknown stage {wanted!r}; stages are: "
                          + ", ".join(f"{s.name} ({s.key})" for s in stages) + ".")
    job = await _entity_or_fail(caller, job_id)
    if job.entity_type != "job":
        raise ToolFailure("INVALID_ARGUMENTS", f"{job_id} is a {job.entity_type}, not a job.")
    moved = await records.set_entity_stage(caller.organization_id, job_id, stage.key, utcnow())
    if moved is None:  # deleted in between
        raise ToolFailure("NOT_FOUND", f"No record with id {job_id!r} exists.")
    previous, updated = moved
    message = (f"Job {updated.name} is already at stage {stage.name}." if previous == stage.key
               else f"Moved job {updated.name} to stage {stage.name}.")
    return ToolResult(message, {"jobId": job_id, "previousStage": previous, "stage": stage.key,
                                "job": _entity_json(updated)})


async def navigate(caller: Caller, args: dict[str, Any]) -> ToolResult:
    """``navigate {page?, entityId?}`` (at least one) → ``data {route}`` and ``action {type: navigate,
    route, page, entityId?}``; a record's page follows its type. Raises ToolFailure."""
    page = _text(args, "page")
    entity_id = _text(args, "entityId")
    if page is None and entity_id is None:
        raise ToolFailure("INVALID_ARGUMENTS", "Give a page, an entityId, or both.")
    action: dict[str, Any] = {"type": "navigate"}
    if entity_id:
        entity = await _entity_or_fail(caller, entity_id)
        # A record's page is decided by its type (a job opens under /jobs whatever page was named).
        base = ENTITY_ROUTES.get(entity.entity_type, "/records")
        action.update(route=f"{base}/{entity.entity_id}", page=base.strip("/"), entityId=entity.entity_id)
        message = f"Opening {_describe(entity)}."
    else:
        assert page is not None
        action.update(route=PAGES[page], page=page)
        message = f"Opening {page.replace('-', ' ')}."
    return ToolResult(message, {"route": action["route"]}, action)


_LIMIT = {"type": "integer", "description": "Most results to return.", "minimum": 1, "maximum": 20}

TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("lookup_entity",
         "Look up customers, jobs, sites and other records by name, reference (e.g. a job number) or id. "
         "Use it before acting on a record the user names.",
         _object({"query": {"type": "string", "description": "Name, reference or id to look for."},
                  "entityType": {"type": "string",
                                 "description": f"Restrict to one record type: {ENTITY_TYPES_HINT}."},
                  "limit": {**_LIMIT, "maximum": 10}}, ["query"]),
         "entities:read", lookup_entity),
    Tool("search_knowledge_base",
         "Search the company knowledge base (procedures, pricing, policies) and return the best passages.",
         _object({"query": {"type": "string", "description": "What to look for, in a few words."},
                  "limit": {**_LIMIT, "maximum": 5}}, ["query"]),
         "knowledge:read", search_knowledge_base),
    Tool("create_ticket",
         "Create a ticket for follow-up work or a problem report, optionally about one record.",
         _object({"title": {"type": "string", "description": "Short summary, at most 200 characters.",
                            "maxLength": 200},
                  "description": {"type": "string", "description": "Details of the request.", "maxLength": 5000},
                  "priority": {"type": "string", "enum": PRIORITIES, "description": "Defaults to normal."},
                  "entityId": {"type": "string", "description": "Id of the record it concerns (from lookup_entity)."}},
                 ["title"]),
         "tickets:write", create_ticket),
    Tool("list_tickets",
         "List recent tickets, newest first, optionally only open or closed ones or those of one record.",
         _object({"status": {"type": "string", "enum": TICKET_STATUSES, "description": "Only tickets in this status."},
                  "entityId": {"type": "string", "description": "Only tickets about this record."},
                  "limit": _LIMIT}, []),
         "tickets:read", list_tickets),
    Tool("create_note",
         "Save a note, optionally attached to a record (customer, job, site…).",
         _object({"content": {"type": "string", "description": "The note text.", "maxLength": 10000},
                  "entityId": {"type": "string", "description": "Id of the record to attach it to."}},
                 ["content"]),
         "notes:write", create_note),
    Tool("list_notes",
         "List recent notes, newest first, optionally only those of one record.",
         _object({"entityId": {"type": "string", "description": "Only notes attached to this record."},
                  "limit": _LIMIT}, []),
         "notes:read", list_notes),
    Tool("update_job_stage",
         "Move a job to another stage of the company's workflow.",
         _object({"jobId": {"type": "string", "description": "Id of the job (from lookup_entity)."},
                  "stage": {"type": "string", "description": "Key or name of the workflow stage."}},
                 ["jobId", "stage"]),
         "jobs:write", update_job_stage),
    Tool("navigate",
         "Open a page of the app on the user's screen, or the page of one record.",
         _object({"page": {"type": "string", "enum": list(PAGES), "description": "The page to open."},
                  "entityId": {"type": "string", "description": "Open this record's page (from lookup_entity)."}},
                 []),
         None, navigate),
]}
