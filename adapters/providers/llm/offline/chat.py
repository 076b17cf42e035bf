"""The offline chat rules: greetings, thanks, goodbyes, a hand-off to a human, answers from knowledge."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.providers.llm.base import ChatMessage
from adapters.providers.llm.offline.knowledge import _knowledge, _retrieve
from adapters.providers.llm.offline.sentences import _split_sentences
from adapters.providers.llm.offline.text import (
    _BYES,
    _GREETING_PHRASES,
    _GREETINGS,
    _SOCIAL,
    _STOPWORDS,
    _THANKS,
    _tokens,
    detect_language,
)

_HUMAN_WORDS = {"human", "operator", "representative", "оператор", "оператора", "оператором", "человеком",
                "специалист", "специалиста", "специалистом"}  # fmt: skip
_HUMAN_PHRASES = ("real person", "live agent", "live person", "talk to someone", "speak to someone",
                  "speak to a person", "talk to a person", "speak with a person", "живым человеком",
                  "живой человек")  # fmt: skip
_AFFIRM = {"yes", "yeah", "yep", "sure", "please", "ok", "okay", "alright", "definitely", "да", "давайте", "конечно",
           "хорошо", "ага", "можно", "угу"}  # fmt: skip
_DENY = {"no", "nope", "нет", "не"}

_PHRASES = {
    "en": {
        "greet": "Hello! How can I help you?",
        "greet_prefix": "Hello! ",
        "thanks": "You're welcome! Is there anything else I can help you with?",
        "bye": "Goodbye, and have a nice day!",
        "unknown": ("I'm sorry, I don't know the answer to that. Would you like me to connect you with a human agent?"),
        "connect": "Of course. I'm connecting you with a human agent now, please stay on the line.",
        "declined": "All right. Is there anything else I can help you with?",
        "offer_marker": "human agent",
    },
    "ru": {
        "greet": "Здравствуйте! Чем могу помочь?",
        "greet_prefix": "Здравствуйте! ",
        "thanks": "Пожалуйста! Могу ли я помочь чем-то ещё?",
        "bye": "До свидания, хорошего дня!",
        "unknown": "Извините, я не знаю ответа на этот вопрос. Хотите, я соединю вас с оператором?",
        "connect": "Конечно. Соединяю вас с оператором, пожалуйста, оставайтесь на линии.",
        "declined": "Хорошо. Могу ли я помочь чем-то ещё?",
        "offer_marker": "с оператором",
    },
}


def _reply(messages: Sequence[ChatMessage]) -> str:
    """The reply text before length limiting (synchronous core of ``chat``)."""
    system = "\n".join(m.content for m in messages if m.role == "system")
    last_user = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
    if last_user is None:
        return _PHRASES[detect_language(system)]["greet"]
    query = messages[last_user].content
    lang = detect_language(query, default=detect_language(system))
    phrases = _PHRASES[lang]
    tokens = _tokens(query)
    low = " ".join(tokens)
    previous = next((m.content for m in reversed(messages[:last_user]) if m.role == "assistant"), "")
    offered = any(p["offer_marker"] in previous for p in _PHRASES.values())
    content = [t for t in tokens if t not in _STOPWORDS and t not in _SOCIAL]

    if offered and tokens and tokens[0] in _AFFIRM and len(content) <= 2:
        return phrases["connect"]
    if offered and tokens and tokens[0] in _DENY and len(content) <= 2:
        return phrases["declined"]
    if set(tokens) & _HUMAN_WORDS or any(p in low for p in _HUMAN_PHRASES):
        return phrases["connect"]

    greeting = bool(tokens) and (tokens[0] in _GREETINGS or any(low.startswith(p) for p in _GREETING_PHRASES))
    if not content:
        if set(tokens) & _BYES:
            return phrases["bye"]
        if set(tokens) & _THANKS:
            return phrases["thanks"]
        if greeting or not tokens:
            return phrases["greet"]
    answer = _retrieve(query, _knowledge(system), lang)
    if answer:
        return phrases["greet_prefix"] + answer if greeting else answer
    if not content and greeting:
        return phrases["greet"]
    return phrases["unknown"]


def _limit_words(text: str, max_tokens: int) -> str:
    """Shorten ``text`` to about ``max_tokens`` tokens (0.75 words per token), at a sentence end if possible."""
    max_words = max(1, int(max_tokens * 0.75))
    if len(text.split()) <= max_words:
        return text
    kept: list[str] = []
    for sentence in _split_sentences(text):
        if len(" ".join(kept + [sentence]).split()) > max_words:
            break
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    return " ".join(text.split()[:max_words]) + "…"
