"""``OfflineLanguageModel``: the rule-based engine behind the :class:`LanguageModel` interface."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.providers.llm.base import (
    ChatMessage,
    LLMError,
    _check_generation,
    _check_schema,
    _coerce_messages,
    _schema_errors,
)
from adapters.providers.llm.offline.chat import _limit_words, _reply
from adapters.providers.llm.offline.extract import _Extractor


class OfflineLanguageModel:
    """A deterministic stand-in for an LLM: rules and TF-IDF retrieval, no network, no generation.

    It does not understand language and never invents facts; everything it says comes from
    the messages or text it is given, or from a handful of fixed phrases (in English, or in
    Russian when the user writes in Cyrillic).

    ``chat``
        Answers the LAST user message. Knowledge comes from the system message(s): FAQ pairs
        (``Q:``/``A:``, ``Вопрос:``/``Ответ:``), ``question? answer`` lines, ``topic — answer``
        lines and plain fact sentences (instruction lines such as "You are…"/"Answer briefly" are
        skipped). The snippet with the highest TF-IDF cosine to the message (word overlap on
        stems), preferring snippets in the user's language, is returned verbatim. Greetings,
        thanks and goodbyes get the matching phrase; a request for a human (or "yes" to the
        offer of one) gets a hand-off phrase; otherwise it says it does not know and offers a
        human agent. ``max_tokens`` shortens the answer (≈0.75 words per token);
        ``temperature`` is ignored (output is deterministic).

    ``extract``
        Fills every schema property from ``text`` (``instructions`` are ignored): booleans by
        cue words and negation rules from the property name and description; numbers from
        digits or number words (EN/RU) near the property's words, clamped to the bounds
        (0 or the minimum when the text has none); enums by keyword match of the values (a
        catch-all value such as ``other``/``unknown``/``neutral``, else the first value, when
        nothing matches; sentiment-style enums by cue-word polarity); strings by regex for
        names, emails, phones, dates/times, URLs and reference numbers when the property name
        asks for one, an extractive TF-IDF summary for ``summary``-like fields, otherwise the
        sentence most related to the property (empty string when nothing relates); arrays from
        every match; nested objects recursively. The result is validated against the schema;
        if a constraint it cannot meet (e.g. ``pattern``) fails, LLMError is raised.
    """

    name = "offline-template"
    generative = False
    #: What this engine does, as feature words (see the class docstring):
    capabilities: frozenset[str] = frozenset(
        {
            "offline",  # no network, no model weights
            "deterministic",  # same input, same output; temperature ignored
            "retrieval_chat",  # answers only from knowledge lines in the system prompt
            "greetings",  # greets back, thanks, goodbyes
            "human_handoff_offer",  # says it does not know and offers a human
            "languages:en,ru",  # Latin script → English phrases, Cyrillic → Russian
            "schema_extraction",  # rule-based, always schema-valid for the supported keywords
            "extractive_summary",  # sentences chosen from the text, never paraphrased
        }
    )

    async def chat(self, messages: list[ChatMessage], *, max_tokens: int = 400, temperature: float = 0.3) -> str:
        """Reply to the last user message (see the class docstring); ValueError on bad messages."""
        _check_generation(max_tokens, temperature)
        return _limit_words(self.reply(_coerce_messages(messages)), max_tokens)

    async def extract(self, text: str, schema: dict, *, instructions: str = "") -> dict:
        """An object valid against ``schema`` filled from ``text``; ValueError on a bad schema,
        LLMError when a constraint cannot be met."""
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        validator = _check_schema(schema)
        result = _Extractor(text, schema).extract()
        errors = _schema_errors(validator, result, limit=1)
        if errors:
            where, message = errors[0]
            raise LLMError(f"{self.name} could not satisfy the schema at {where}: {message}")
        return result

    # ---- chat ---------------------------------------------------------------------------

    def reply(self, messages: Sequence[ChatMessage]) -> str:
        """The reply text before length limiting (synchronous core of ``chat``)."""
        return _reply(messages)
