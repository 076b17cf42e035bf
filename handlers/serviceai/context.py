"""Chatty Voice system prompt: getChattyVoiceAiContext, and the assembly the realtime mint reuses.

The prompt is assembled for the calling user from what is stored for its organisation:
the assistant's rules, the tools it may and may not use (from the caller's permissions), the
job workflow stages in order, and the knowledge-base articles — whole articles while the
``SERVICEAI_AI_CONTEXT_MAX_CHARS`` budget lasts, then the remaining ones by title only.
``knowledgeBaseLoaded`` / ``workflowStagesLoaded`` say whether any article / stage went in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import isoformat, utcnow
from generated.models.serviceai import ChattyAiContextResponse
from handlers.serviceai.bundle import bundle
from handlers.serviceai.permissions import effective_permissions
from handlers.serviceai.toolkit import TOOLS
from handlers.serviceai.versioning import chatty


@dataclass(frozen=True)
class AiContext:
    """An assembled system prompt (at most ``SERVICEAI_AI_CONTEXT_MAX_CHARS`` characters) and
    whether any knowledge-base article / workflow stage went into it."""

    instructions: str
    knowledge_base_loaded: bool
    workflow_stages_loaded: bool


RULES = """\
You are {assistant}, the voice assistant of ServiceAi, talking with {who} of organisation {org}.
- You are heard, not read: answer in one or two short spoken sentences unless asked for detail; no lists, \
markdown or URLs.
- Use your tools to look things up and to act. Never invent customers, jobs, ticket numbers, stages or prices; \
if a tool finds nothing, say so.
- Before creating a ticket or a note, or moving a job to another stage, repeat the key details and get a yes.
- When the user asks to see something, call navigate so it opens on their screen.
- When a tool answers success false, tell the user plainly what went wrong; for PERMISSION_DENIED say they \
do not have permission for that.
- Answer company questions from the knowledge base below (or search_knowledge_base); if it does not cover \
the question, say you do not know."""


async def build_context(token_info: dict[str, Any]) -> AiContext:
    """The system prompt for the caller (connexion's ``token_info`` of :mod:`handlers.serviceai.security`;
    see the module docstring). Raises ``StorageUnavailable`` when the database cannot be read."""
    settings = bundle().settings
    budget = settings.serviceai_ai_context_max_chars
    records = bundle().records
    org = token_info["organization_id"]
    stages = await records.list_stages(org)
    articles = await records.list_articles(org)
    allowed = effective_permissions(token_info)

    who = token_info.get("display_name") or f"user {token_info['sub']}"
    parts = [RULES.format(assistant=settings.serviceai_assistant_name, who=who, org=org)]
    usable = [t for t in TOOLS.values() if t.permission is None or t.permission in allowed]
    denied = [t for t in TOOLS.values() if t not in usable]
    parts.append("\n## Tools you may use\n" + "\n".join(f"- {t.name}: {t.description}" for t in usable))
    if denied:
        parts.append("\n## Tools this user may not use (they would answer PERMISSION_DENIED)\n"
                     + "\n".join(f"- {t.name}" for t in denied))
    if stages:
        parts.append("\n## Job workflow stages, in order (use the key with update_job_stage)\n" + "\n".join(
            f"{i}. {s.name} (key {s.key}){': ' + s.description if s.description else ''}"
            for i, s in enumerate(stages, 1)))
    parts.append(f"\nToday is {isoformat(utcnow())[:10]} (UTC).")

    text = "\n".join(parts)
    loaded: list[str] = []
    skipped: list[str] = []
    if articles:
        header = "\n\n## Knowledge base\n"
        remaining = budget - len(text) - len(header)
        for article in articles:
            block = f"### {article.title}\n{article.body.strip()}\n"
            if len(block) <= remaining:
                loaded.append(block)
                remaining -= len(block)
            else:
                skipped.append(article.title)
        if skipped:
            note = "Further articles (not loaded; use search_knowledge_base): "
            titles: list[str] = []
            for title in skipped:
                if len(note) + sum(len(t) + 2 for t in titles) + len(title) + 2 > remaining:
                    break
                titles.append(title)
            if titles:
                loaded.append(note + "; ".join(titles) + ".\n")
        if loaded:
            text += header + "\n".join(loaded)
    return AiContext(text[:budget].rstrip(), knowledge_base_loaded=any(b.startswith("### ") for b in loaded),
                     workflow_stages_loaded=bool(stages))


def ai_context_response(context: AiContext, assembled_at: datetime) -> ChattyAiContextResponse:
    """``context`` as the contract's ``ChattyAiContextResponse`` (``timestamp``: RFC 3339 UTC)."""
    return ChattyAiContextResponse(instructions=context.instructions,
                                   knowledgeBaseLoaded=context.knowledge_base_loaded,
                                   workflowStagesLoaded=context.workflow_stages_loaded,
                                   timestamp=isoformat(assembled_at))


@chatty
async def get_chatty_voice_ai_context(token_info: dict[str, Any]) -> ChattyAiContextResponse:
    """``GET /api/chatty-voice/ai-context`` (getChattyVoiceAiContext) → 200
    ``ChattyAiContextResponse`` ``{instructions, knowledgeBaseLoaded, workflowStagesLoaded,
    timestamp}``: the caller's system prompt (see :func:`build_context`) and when it was
    assembled (RFC 3339 UTC).

    Errors: 401, 400 (bad X-Client-Version), 426, 403 (no ``chatty-voice`` entitlement).
    """
    return ai_context_response(await build_context(token_info), utcnow())
