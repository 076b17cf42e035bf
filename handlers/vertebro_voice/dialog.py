"""Vertebro dialog: detectIntent and generateDialogResponse (also used by the WebSocket).

Intent detection is offline (sentence embeddings + character n-grams against per-project
intent examples; :mod:`adapters.providers.intents`). Answers come from the shared language
model (``bundle().providers.llm()``: an OpenAI-compatible endpoint when ``LLM_BASE_URL`` is
set, else the offline retrieval model) prompted with the project's site sections and
knowledge snippets; the answer is synthesized into the audio cache.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from adapters.providers.base import ProviderError
from adapters.providers.intents import DEFAULT_SECTIONS, Example, IntentResult, Section, detect_language
from adapters.providers.llm import ChatMessage, LanguageModel
from adapters.storage.vertebro_voice.sessions import KnowledgeRecord, VoiceSessionRecord
from generated.models.vertebro_voice import DialogRequest, IntentRequest, IntentResponse
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.vertebro_voice.bundle import bundle
from handlers.vertebro_voice.envelope import limit_json, validation_error
from handlers.vertebro_voice.guard import guarded
from handlers.vertebro_voice.responses import audio_url, dialog_response, intent_response
from handlers.vertebro_voice.sessions import member_project, touch
from handlers.vertebro_voice.speech import record, synthesize_cached
from handlers.vertebro_voice.spelling import either

logger = logging.getLogger("handlers.vertebro_voice.dialog")

HISTORY_TURNS = 6
MAX_SOURCES = 3
SOURCE_MIN_SIMILARITY = 0.3
ACTION_TYPES = ("navigate", "scroll_to_top", "search", "contact")
MAX_TEXT = 2000  # characters of an utterance (dialog/intent, dialog/respond, text_input): the contract's maxLength
MAX_METADATA_BYTES = 16384
#: Russian titles of the built-in site sections (a project's own sections are titled as stored).
SECTION_TITLES_RU = {"pricing": "Цены", "contacts": "Контакты", "about": "О компании", "services": "Услуги",
                     "faq": "Вопросы и ответы", "blog": "Блог", "delivery": "Доставка", "home": "Главная"}


def navigation_reply(section: Section, language: str, builtin: bool) -> str:
    """The spoken confirmation of a navigation, in the user's ``language`` (``ru`` or ``en``):
    "Открываю раздел «Цены»: /pricing." / "Opening the Pricing page for you: /pricing."
    (``builtin``: a default section, whose Russian title is known)."""
    if language == "ru":
        title = SECTION_TITLES_RU.get(section.key, section.title) if builtin else section.title
        return f"Открываю раздел «{title}»: {section.url}."
    return f"Opening the {section.title} page for you: {section.url}."


async def project_sections(project: str) -> list[Section]:
    """The default site sections overridden/extended by the project's own."""
    by_key = {s.key: s for s in DEFAULT_SECTIONS}
    for row in await bundle().intents.sections(project):
        by_key[row.key] = Section(row.key, row.url, row.title, tuple(k.lower() for k in row.keywords),
                                  row.description)
    return list(by_key.values())


async def classify(text: str, project: str | None, current_page: str | None = None) -> IntentResult:
    """Intent of ``text`` with the project's examples and sections (503 if the model is missing)."""
    from adapters.providers.embeddings import EmbeddingModelMissing  # with the engine (NumPy)

    vertebro = bundle()
    examples: list[Example] = []
    sections = list(DEFAULT_SECTIONS)
    if project:
        examples = [Example(e.intent, e.text, e.action) for e in await vertebro.intents.examples(project)]
        sections = await project_sections(project)
    try:
        engine = await anyio.to_thread.run_sync(vertebro.intent_engine)
        return await anyio.to_thread.run_sync(
            lambda: engine.classify(text, extra_examples=examples, sections=sections, current_page=current_page))
    except EmbeddingModelMissing as exc:
        raise ApiError(503, "dialog_engine_unavailable", str(exc)) from None


def _intent_content(text: str, result: IntentResult) -> dict[str, Any]:
    """The history ``content`` of an ``intent`` item: the text and the result (snake_case, as stored)."""
    return {"text": text, "intent": result.intent, "confidence": result.confidence, "entities": result.entities,
            "suggested_action": result.suggested_action}


@guarded
async def detect_intent(body: IntentRequest, user: str | None = None) -> IntentResponse:
    """``POST /dialog/intent`` (detectIntent) → 200 ``IntentResponse``.

    ``intent``: the original's navigate | knowledge_query (informational questions and "tell me
    about …" requests; also when nothing matches clearly) | greeting | other (off-topic), plus
    search | contact | a project's own intent. ``confidence`` 0..1 (softmax over intent
    scores). ``entities``: ``target_section``/``url`` (navigate), ``query`` (search),
    ``contact_method``/``email``/``phone`` (contact), ``topic`` (knowledge_query). ``suggested_action``:
    ``{type: navigate, url}``, ``{type: search, query, url}``, ``{type: contact, method, url}``,
    ``{type: greet}``, ``{type: answer}`` or the project's action for its own intent; null when
    there is none. ``project`` selects the project's examples and sections;
    ``context.current_page`` turns a navigation to the current page into ``scroll_to_top``. With
    ``session_id`` (or ``sessionId``) the result is recorded in the session's history (404
    ``voice_session_not_found`` when it is not live or not the caller's). 404 ``project_not_found``
    when ``project`` is named and the caller is not its member. 503 ``dialog_engine_unavailable``
    when the embedding model is missing, ``mongo_unavailable`` when the database is.
    """
    scope = await bundle().scope(user)
    if body.project:
        member_project(scope, body.project)
    session_id = either(body.session_id, body.sessionId)
    session = await touch(session_id, scope) if session_id else None
    project = body.project or (session.project if session else None)
    current_page = body.context.current_page if body.context else None
    result = await classify(body.text, project, current_page)
    await record(session, "intent", _intent_content(body.text, result))
    return intent_response(result)


@dataclass
class DialogTurn:
    """One answered turn: the answer ``text``, its synthesized ``audio_url`` (None when synthesis
    failed), the ``sources`` cited (``{title, url[, score]}``), the ``suggested_actions`` and the
    detected ``intent``."""

    text: str
    audio_url: str | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    suggested_actions: list[dict[str, Any]] = field(default_factory=list)
    intent: IntentResult | None = None


def _system_prompt(project: str, language: str, sections: list[Section], knowledge: list[KnowledgeRecord],
                   intent: IntentResult, relevant: bool) -> str:
    """Instructions, then the facts the answer may use: a navigation confirmation for a
    ``navigate`` intent with a target; else the relevant knowledge snippets; else the site map."""
    lang = "Russian" if language == "ru" else "English"
    lines = [f'You are the voice assistant of the website of project "{project}".',
             f"Answer in {lang}, briefly: one to three short spoken sentences, no markdown.",
             "Use only the facts below; if they do not answer the question, say so.", ""]
    target = intent.entities.get("target_section") if intent.intent == "navigate" else None
    if target:
        section = next(s for s in sections if s.key == target)
        lines.append(f"Открываю раздел «{section.title}»: {section.url}." if language == "ru"
                     else f"Opening the {section.title} page for you: {section.url}.")
    elif knowledge and relevant:
        lines += [k.text.strip() for k in knowledge]
    else:
        lines += [f"{s.title} — {s.description or s.title}: page {s.url}." for s in sections]
        lines += [k.text.strip() for k in knowledge]
    return "\n".join(lines)


def _language_model() -> LanguageModel:
    """The shared language model; 503 ``dialog_engine_unavailable`` when it cannot be made."""
    try:
        model: LanguageModel = bundle().providers.llm()
    except ProviderError as exc:
        raise ApiError(503, "dialog_engine_unavailable", f"no language model: {exc}") from None
    return model


async def converse(session: VoiceSessionRecord, text: str, metadata: dict[str, Any] | None = None) -> DialogTurn:
    """One dialog turn on a live session: records the user turn, the intent, the synthesis and
    the assistant turn. Raises 503 ``dialog_engine_unavailable`` when the language model fails."""
    llm = _language_model()
    vertebro = bundle()
    language = detect_language(text)
    previous = list(reversed(await vertebro.history.recent(session.session_id, 50)))
    await record(session, "user", {"text": text, **({"metadata": metadata} if metadata else {})})
    intent = await classify(text, session.project, session.context.get("current_page"))
    await record(session, "intent", _intent_content(text, intent))
    sections = await project_sections(session.project)
    knowledge = await vertebro.intents.knowledge(session.project)
    engine = await anyio.to_thread.run_sync(vertebro.intent_engine)
    sources: list[dict[str, Any]] = []
    relevant: list[KnowledgeRecord] = []
    if knowledge:
        scores = await anyio.to_thread.run_sync(
            lambda: engine.similarity(text, [f"{k.title}. {k.text}" for k in knowledge]))
        ranked = sorted(zip(scores, knowledge, strict=True), key=lambda p: -p[0])  # one score per snippet
        relevant = [k for score, k in ranked if score >= SOURCE_MIN_SIMILARITY][:MAX_SOURCES]
        knowledge = relevant or [k for _, k in ranked[:MAX_SOURCES]]
        sources = [{"title": k.title, "url": k.url, "score": round(float(s), 4)}
                   for s, k in ranked if k in relevant]
    if intent.intent == "navigate" and intent.entities.get("target_section"):
        section = next(s for s in sections if s.key == intent.entities["target_section"])
        sources.append({"title": section.title, "url": section.url})
    messages = [ChatMessage("system", _system_prompt(session.project, language, sections, knowledge, intent,
                                                     bool(relevant)))]
    for item in previous[-HISTORY_TURNS * 3:]:
        if item.type in ("user", "assistant") and isinstance(item.content.get("text"), str):
            messages.append(ChatMessage(item.type, item.content["text"]))
    messages.append(ChatMessage("user", text))
    target = intent.entities.get("target_section") if intent.intent == "navigate" else None
    if target:  # the reply follows the intent: a navigation is confirmed in the user's language
        section = next(s for s in sections if s.key == target)
        builtin = any(d == section for d in DEFAULT_SECTIONS)
        answer = navigation_reply(section, language, builtin)
    else:
        try:
            answer = (await llm.chat(messages, max_tokens=200, temperature=0.3)).strip()
        except (ProviderError, ValueError) as exc:
            logger.warning("dialog engine failed: %r", exc)
            raise ApiError(503, "dialog_engine_unavailable", f"dialog engine failed: {exc}") from None
    url = None
    try:
        same = session.language[:2].lower() == language
        voice = str((session.voice_preference or {}).get("voice_id") or "default")
        entry, cached = await synthesize_cached(answer, voice=voice, language=session.language if same else
                                                ("ru-RU" if language == "ru" else "en-US"), project=session.project)
        url = audio_url(entry)
        await record(session, "synthesis", {"text": answer, "audio_url": url,
                                            "duration_seconds": entry.duration_seconds, "cached": cached})
    except ApiError as exc:  # no audio: the answer is still given as text (audio_url null)
        logger.warning("dialog answer not synthesized: %s", exc.message)
    actions = [dict(intent.suggested_action)] if intent.suggested_action and (
        intent.suggested_action.get("type") in ACTION_TYPES or intent.intent not in
        ("navigate", "search", "contact", "greeting", "knowledge_query", "other")) else []
    turn = DialogTurn(answer, url, sources, actions, intent)
    await record(session, "assistant", {"text": answer, "audio_url": url, "sources": sources,
                                        "suggested_actions": actions})
    return turn


@guarded
async def generate_dialog_response(body: DialogRequest, user: str | None = None) -> Reply:
    """``POST /dialog/respond`` (generateDialogResponse) → 202 ``DialogResponse``:
    ``type`` (always ``response``), ``text`` (the language model's answer, in the user's language),
    ``audio_url`` (the answer synthesized into the audio cache; null if synthesis failed),
    ``sources`` (the project's knowledge snippets and site section the answer drew on:
    ``{title, url}``), ``suggested_actions`` (the detected intent's action: navigate/search/contact/
    project action), with the camelCase aliases. The session is ``session_id`` or ``sessionId``.
    The user, intent, synthesis and assistant turns are recorded in the session history.
    404 ``voice_session_not_found`` (not live, or not the caller's: nothing is recorded then); 503
    ``dialog_engine_unavailable`` / ``mongo_unavailable``.
    """
    session_id = either(body.session_id, body.sessionId)
    if session_id is None:  # the schema requires one spelling; kept for a request that bypassed it
        raise validation_error(["body", "session_id"], "Field required")
    limit_json(body.metadata, MAX_METADATA_BYTES, ["body", "metadata"])
    session = await touch(session_id, await bundle().scope(user))
    turn = await converse(session, body.text.strip(), body.metadata)
    return Reply(dialog_response(turn.text, turn.audio_url, turn.sources, turn.suggested_actions), 202)
