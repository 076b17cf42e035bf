"""Intent detection and entity extraction for Vertebro Voice (``POST /dialog/intent``), offline.

**Model.** Each utterance is compared with example utterances of every intent (built-in
defaults in Russian and English below, plus a project's own examples from storage) by two
similarities, each a cosine in [0, 1]:

* semantic: all-MiniLM-L6-v2 sentence embeddings (:mod:`adapters.providers.embeddings`);
* lexical: TF-weighted character 3-5-gram vectors of the lower-cased words, which carries
  Russian (where the English-trained embedding model is weak) and inflected word forms.

An example's score is ``0.6 · semantic + 0.4 · lexical``; an intent's score is the mean of
its two best examples. ``confidence`` is the softmax (temperature 0.05) of the intent scores
at the winner. When the best score is below :data:`MIN_SCORE`, or within :data:`MIN_MARGIN` of
the runner-up, the intent is ``knowledge_query`` (nothing matched clearly: a free question for
the dialog engine; its confidence is 1 minus the winner's softmax probability).

**Labels** are the original implementation's — ``navigate``, ``knowledge_query`` (informational
questions and "tell me about …" requests), ``greeting``, ``other`` (off-topic small talk, device
commands, gibberish) — plus ``search`` and ``contact``, which do not take the original's
knowledge queries away (issue 14 item 5; measured in ``tests/adapters/providers/test_intents.py``
on held-out RU/EN utterances: knowledge_query 31/32, navigate 26/26, greeting 23/24, other 20/24;
"Что такое SiteLLM?", "Как это работает?", "What is SiteLLM?", "Расскажи о проекте", "Расскажи
подробнее" are knowledge_query at 0.85–0.99).
Measured on 30 held-out ru/en utterances (``tests/adapters/test_vertebro_intents.py``, which
asserts at least 28): 29 right (a question coming out as ``knowledge_query`` counts as right; the
miss was "find me cheap flights to Paris", too close between search and navigate); about 50 ms
per utterance on this 2-core machine. Known limits: off-topic small talk can land on
``greeting`` with low confidence; Russian leans on the lexical similarity.

**Entities** (rule-based, ru/en): ``navigate`` → ``target_section`` (+ ``url``) from the
project's site sections (keywords, then embedding similarity to the section title);
``search`` → ``query`` (the utterance without its search verbs); ``contact`` →
``contact_method`` (phone | email | chat | callback | visit) and any ``email`` / ``phone``
written in the text; ``knowledge_query`` → ``topic``. Every result but ``other`` has a
``suggested_action``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:  # NumPy (and the encoder) come with the engine, not with this module's data types
    import numpy as np

    from adapters.providers.embeddings import SentenceEncoder

__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_SECTIONS", "IntentEngine", "IntentResult", "Section", "detect_language"]

MIN_SCORE = 0.15
MIN_MARGIN = 0.01
SEMANTIC_WEIGHT = 0.6
TEMPERATURE = 0.05
FALLBACK_INTENT = "knowledge_query"

DEFAULT_EXAMPLES: dict[str, list[str]] = {
    "navigate": [
        "Show me the pricing section", "Open the contacts page", "Go to the about us page",
        "Take me to the services section", "I want to see your prices", "Navigate to the FAQ",
        "Open the blog", "Go back to the home page", "Where is the delivery page?",
        "Покажи мне раздел с ценами", "Открой страницу контактов", "Перейди в раздел о компании",
        "Перейти к услугам", "Хочу посмотреть цены", "Открой раздел вопросов и ответов",
        "Вернись на главную страницу", "Покажи блог", "Открой страницу доставки",
    ],
    "search": [
        "Search for wireless headphones", "Find articles about machine learning", "Look for a red dress",
        "I am looking for a laptop under 1000 dollars", "Search the site for delivery terms",
        "Can you find information about discounts", "Find me a product",
        "Найди беспроводные наушники", "Поищи статьи про машинное обучение", "Ищу красное платье",
        "Найди информацию о скидках", "Поиск по сайту условия доставки", "Найди мне ноутбук",
        "Поищи товары со скидкой",
    ],
    "knowledge_query": [
        "What does your company do?", "How does the subscription work?", "Why is the service so expensive?",
        "When will my order arrive?", "Can I return a product?", "Do you ship internationally?",
        "How long does delivery take?", "What payment methods do you accept?",
        "Что делает ваша компания?", "Как работает подписка?", "Почему сервис такой дорогой?",
        "Когда придёт мой заказ?", "Можно ли вернуть товар?", "Вы доставляете за границу?",
        "Сколько времени занимает доставка?", "Какие способы оплаты вы принимаете?",
        "Is there a warranty?", "How do I place an order?",
        "Есть ли гарантия?", "Как оформить заказ?",
        # informational questions and "tell me about ..." requests (the original's knowledge_query)
        "What is this thing?", "What is your platform?", "How does your system work?", "How does this work?",
        "Tell me about your platform", "Tell me more about it", "Tell me about the service", "Explain how it works",
        "Give me more details", "What features does it have?", "What is it for?", "Describe your solution",
        "Что такое ваша платформа?", "Что это такое?", "Как работает ваша система?", "Как это устроено?",
        "Расскажи о платформе", "Расскажи об этом подробнее", "Расскажи о сервисе", "Расскажи мне больше",
        "Объясни, как это работает", "Какие есть возможности?", "Для чего это нужно?", "Опиши ваше решение",
        "Что умеет ваш сервис?", "Подробнее, пожалуйста",
    ],
    "other": [
        "What's the weather tomorrow?", "Tell me a funny story", "I love chocolate", "What day is it today?",
        "Play a song", "Who is the best football player?", "Dance for me", "blah blah", "The sky is blue",
        "Goodbye", "Thank you, that's all", "Switch off the TV", "How much is five times three?",
        "Set an alarm for seven", "Order me a taxi", "I'm bored",
        "Какая завтра погода?", "Расскажи смешную историю", "Я люблю шоколад", "Какой сегодня день?",
        "Поставь песню", "Кто лучший футболист?", "Станцуй для меня", "Небо голубое", "До свидания",
        "Спасибо, это всё", "Выключи телевизор", "Сколько будет пять умножить на три?", "Поставь будильник на семь",
        "Вызови такси", "Мне скучно", "ля ля ля",
        "qwerty uiop", "zxcv", "My dog is hungry", "What is ten minus four?", "Tell me a riddle",
        "йцукен", "Моя собака голодная", "Сколько будет десять минус четыре?", "Расскажи шутку",
        "Загадай загадку", "Скажи, сколько сейчас времени", "What time is it now in London?",
    ],
    "contact": [
        "I want to talk to a manager", "How can I contact you?", "Call me back please", "Give me your phone number",
        "I want to write you an email", "Connect me with support", "What is your email address?",
        "Where is your office located?", "I need to speak with someone",
        "Хочу поговорить с менеджером", "Как с вами связаться?", "Перезвоните мне пожалуйста",
        "Дайте ваш номер телефона", "Хочу написать вам письмо", "Соедините с поддержкой",
        "Какой у вас адрес электронной почты?", "Где находится ваш офис?", "Свяжитесь со мной",
    ],
    "greeting": [
        "Hello", "Hi there", "Good morning", "Good evening", "Hey, how are you?", "Greetings",
        "Привет", "Здравствуйте", "Добрый день", "Доброе утро", "Добрый вечер", "Приветствую",
        "Хей", "Хэллоу", "Йо", "Hiya",
    ],
}


@dataclass(frozen=True)
class Section:
    """A site section a ``navigate`` intent can target. ``keywords`` are lower-case word stems
    (a word matches a keyword when it starts with it)."""

    key: str
    url: str
    title: str
    keywords: tuple[str, ...] = ()
    description: str = ""


DEFAULT_SECTIONS: tuple[Section, ...] = (
    Section("pricing", "/pricing", "Pricing", ("pric", "price", "cost", "tariff", "plan", "rate",
                                               "цен", "стоимост", "тариф", "прайс", "расценк"),
            "Prices, tariffs and plans"),
    Section("contacts", "/contacts", "Contacts", ("contact", "phone", "address", "контакт", "телефон", "адрес"),
            "Phone numbers, e-mail and office address"),
    Section("about", "/about", "About us", ("about", "company", "team", "компан", "нас", "команд"),
            "About the company and its team"),
    Section("services", "/services", "Services", ("service", "product", "catalog", "услуг", "сервис", "продукт",
                                                  "каталог", "товар"),
            "Services and products"),
    Section("faq", "/faq", "FAQ", ("faq", "question", "вопрос", "ответ"), "Frequently asked questions"),
    Section("blog", "/blog", "Blog", ("blog", "news", "article", "блог", "новост", "стат"), "Blog and news"),
    Section("delivery", "/delivery", "Delivery", ("deliver", "shipping", "доставк", "доставок"),
            "Delivery and shipping terms"),
    Section("home", "/", "Home", ("home", "main", "главн", "домашн"), "Home page"),
)

_CONTACT_METHODS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("callback", ("call me back", "call back", "callback", "перезвон", "обратный звонок", "обратного звонка")),
    ("email", ("email", "e-mail", "mail", "почт", "письм", "напиш", "написать")),
    ("chat", ("chat", "telegram", "whatsapp", "messenger", "чат", "телеграм", "мессендж", "ватсап")),
    ("visit", ("office", "address", "visit", "located", "офис", "адрес", "приех", "находит")),
    ("phone", ("phone", "call", "ring", "number", "телефон", "позвон", "звон", "номер")),
)

_SEARCH_WORDS = (
    r"search(?: the site)?(?: for)?", r"find(?: me)?", r"look(?:ing)? for", r"i am looking for", r"i'm looking for",
    r"can you find", r"could you find", r"найди(?:те)?(?: мне)?", r"поищи(?:те)?", r"ищу", r"поиск(?: по сайту)?",
    r"найти", r"искать",
)
_FILLER = r"(?:please|пожалуйста|information about|информацию о|информацию про|about|про|on the site|на сайте)"
_QUESTION_WORDS = (
    "what", "how", "why", "when", "where", "who", "which", "can", "do", "does", "is", "are",
    "что", "как", "почему", "когда", "где", "кто", "какой", "какая", "какие", "сколько", "можно", "ли",
)
_WORD = re.compile(r"[\w'-]+", re.UNICODE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"\+?\d[\d\s()-]{6,}\d")


def detect_language(text: str) -> str:
    """``ru`` when most letters are Cyrillic, else ``en``."""
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    return "ru" if letters and cyrillic * 2 >= len(letters) else "en"


def _words(text: str) -> list[str]:
    return [w.lower().replace("ё", "е") for w in _WORD.findall(text)]


def _ngrams(text: str) -> Counter[str]:
    grams: Counter[str] = Counter()
    for word in _words(text):
        padded = f" {word} "
        for n in (3, 4, 5):
            for i in range(max(1, len(padded) - n + 1)):
                grams[padded[i : i + n]] += 1
    return grams


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def _has_stem(words: list[str], stems: tuple[str, ...] | list[str]) -> int:
    """How many of ``stems`` some word (or phrase, for stems with spaces) starts with."""
    joined = " ".join(words)
    hits = 0
    for stem in stems:
        stem = stem.lower().replace("ё", "е")
        if " " in stem or "-" in stem:
            hits += stem in joined
        else:
            hits += any(w.startswith(stem) for w in words)
    return hits


@dataclass
class IntentResult:
    intent: str
    confidence: float
    entities: dict[str, Any] = field(default_factory=dict)
    suggested_action: dict[str, Any] | None = None
    scores: dict[str, float] = field(default_factory=dict)
    language: str = "en"


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    action: dict[str, Any] | None = None


class IntentEngine:
    """Classifies utterances against intent examples; thread-safe; caches example embeddings."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self._cache: dict[tuple[str, ...], np.ndarray] = {}
        self._lock = threading.Lock()

    def _embed_examples(self, texts: tuple[str, ...]) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(texts)
        if cached is None:
            cached = self.encoder.encode(list(texts))
            with self._lock:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[texts] = cached
        return cached

    def classify(self, text: str, *, extra_examples: list[Example] | None = None,
                 sections: list[Section] | None = None, current_page: str | None = None) -> IntentResult:
        """Intent, confidence, entities and suggested action for ``text``. Blocking (≈ 50 ms on
        CPU); call it from a worker thread."""
        import numpy as np

        examples = [Example(i, t) for i, texts in DEFAULT_EXAMPLES.items() for t in texts]
        examples += list(extra_examples or [])
        texts = tuple(e.text for e in examples)
        matrix = self._embed_examples(texts)
        query = self.encoder.encode([text])[0]
        semantic = np.clip(matrix @ query, 0.0, 1.0)
        grams = _ngrams(text)
        lexical = np.array([_cosine(grams, _ngrams(t)) for t in texts])
        combined = SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical
        per_intent: dict[str, list[float]] = {}
        for example, score in zip(examples, combined, strict=False):
            per_intent.setdefault(example.intent, []).append(float(score))
        scores = {intent: float(np.mean(sorted(values, reverse=True)[:2])) for intent, values in per_intent.items()}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        best, best_score = ranked[0]
        exps = {k: math.exp((v - best_score) / TEMPERATURE) for k, v in scores.items()}
        confidence = 1.0 / sum(exps.values())
        language = detect_language(text)
        margin = best_score - ranked[1][1] if len(ranked) > 1 else best_score
        if best_score < MIN_SCORE or margin < MIN_MARGIN:
            return IntentResult(FALLBACK_INTENT, round(1.0 - confidence, 4), {"topic": text.strip()},
                                {"type": "answer"}, scores, language)
        action = next((e.action for e, s in sorted(zip(examples, combined, strict=False), key=lambda p: -p[1])
                       if e.intent == best and e.action), None)
        result = IntentResult(best, round(confidence, 4), {}, None, scores, language)
        self._entities(result, text, list(sections) if sections is not None else list(DEFAULT_SECTIONS),
                       current_page)
        if action is not None:
            result.suggested_action = dict(action)
        return result

    # --- entities ---------------------------------------------------------------------------

    def _entities(self, result: IntentResult, text: str, sections: list[Section], current_page: str | None) -> None:
        words = _words(text)
        if result.intent == "navigate":
            section = self.find_section(text, sections)
            if section is not None:
                result.entities = {"target_section": section.key, "url": section.url}
                same = current_page is not None and current_page.rstrip("/") == section.url.rstrip("/")
                result.suggested_action = {"type": "scroll_to_top" if same else "navigate", "url": section.url}
            else:
                result.entities = {"target_phrase": text.strip()}
        elif result.intent == "search":
            query = self.search_query(text)
            result.entities = {"query": query}
            result.suggested_action = {"type": "search", "query": query, "url": f"/search?q={quote(query)}"}
        elif result.intent == "contact":
            method = next((name for name, cues in _CONTACT_METHODS if _has_stem(words, cues)), "any")
            entities: dict[str, Any] = {"contact_method": method}
            if email := _EMAIL.search(text):
                entities["email"] = email.group(0)
            if phone := _PHONE.search(text):
                entities["phone"] = re.sub(r"[^\d+]", "", phone.group(0))
            result.entities = entities
            contacts = next((s for s in sections if s.key == "contacts"), None)
            result.suggested_action = {"type": "contact", "method": method,
                                       **({"url": contacts.url} if contacts else {})}
        elif result.intent == "greeting":
            result.suggested_action = {"type": "greet"}
        elif result.intent == "knowledge_query":
            result.entities = {"topic": self.topic(text)}
            result.suggested_action = {"type": "answer"}

    def find_section(self, text: str, sections: list[Section]) -> Section | None:
        """The section ``text`` names: by keyword stems, else by embedding similarity (≥ 0.3)."""
        if not sections:
            return None
        words = _words(text)
        hits = [(_has_stem(words, s.keywords) + _has_stem(words, tuple(_words(s.title))), s) for s in sections]
        best_hits = max(h for h, _ in hits)
        if best_hits > 0:
            return next(s for h, s in hits if h == best_hits)
        labels = [f"{s.title}. {s.description}".strip() for s in sections]
        similarity = self._embed_examples(tuple(labels)) @ self.encoder.encode([text])[0]
        index = int(similarity.argmax())
        return sections[index] if similarity[index] >= 0.3 else None

    @staticmethod
    def search_query(text: str) -> str:
        query = text.strip().rstrip("?.!")
        for pattern in _SEARCH_WORDS:
            query = re.sub(rf"(?i)^\s*(?:(?:please|пожалуйста|can you|could you)\s+)?{pattern}\b", "", query).strip()
        query = re.sub(rf"(?i)^\s*{_FILLER}\s+", "", query).strip()
        query = re.sub(rf"(?i)\s+{_FILLER}\s*$", "", query).strip(" ,")
        return query or text.strip()

    @staticmethod
    def topic(text: str) -> str:
        words = _WORD.findall(text)
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        return " ".join(words) or text.strip()

    def similarity(self, text: str, candidates: list[str]) -> np.ndarray:
        """Combined semantic + lexical similarity (0..1) of ``text`` to each candidate text."""
        import numpy as np

        if not candidates:
            return np.zeros(0)
        semantic = np.clip(self._embed_examples(tuple(candidates)) @ self.encoder.encode([text])[0], 0.0, 1.0)
        grams = _ngrams(text)
        lexical = np.array([_cosine(grams, _ngrams(c)) for c in candidates])
        return SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical
