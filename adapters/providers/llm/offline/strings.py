"""String values from a text: entities (names, emails, phones, URLs, dates, ids, organizations) when the
property asks for one, an extractive summary, keywords, otherwise the most related sentence(s)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from adapters.providers.llm.offline.concepts import _CONCEPTS, _phrase_hits
from adapters.providers.llm.offline.entities import (
    _DATE_RE,
    _EMAIL_RE,
    _ID_RE,
    _ORG_WORDS,
    _PHONE_RE,
    _SPOKEN_EMAIL_RE,
    _TIME_RE,
    _URL_RE,
    _iso_date,
    _names_in,
    _organizations_in,
    _undot,
)
from adapters.providers.llm.offline.fitting import _fit_string, _pattern_match, _search
from adapters.providers.llm.offline.props import _Prop, _wants
from adapters.providers.llm.offline.sentences import _AGENT_LABELS, _CUSTOMER_LABELS, _Doc, _Sentence
from adapters.providers.llm.offline.text import (
    _SOCIAL_STEMS,
    _content_stems,
    _name_words,
    _norm,
    _stem,
    _token_index,
    _tokens,
)
from adapters.providers.llm.offline.tfidf import _cosine

_SUMMARY_WORDS = {"summary", "summarize", "summarise", "synopsis", "overview", "recap", "abstract", "gist", "tldr",
                  "резюме", "итог", "сводка", "кратко"}  # fmt: skip
_KEYWORD_WORDS = {"keyword", "tag", "topic", "theme", "term", "entity", "label", "ключевой", "тег", "тема",
                  "ключевые", "теги", "темы"}  # fmt: skip
_PERSON_WORDS = {"name", "full", "first", "last", "given", "family", "surname", "customer", "caller", "client",
                 "prospect", "lead", "buyer", "member", "owner", "speaker", "sales", "sale", "salesperson", "seller",
                 "doctor", "recipient", "sender", "applicant", "candidate", "tenant", "driver", "passenger",
                 "student", "agent", "contact", "patient", "person", "user", "operator", "representative", "rep",
                 "guest", "имя", "фамилия", "фио", "клиент", "оператор"}  # fmt: skip
_ID_WORDS = {"id", "number", "num", "no", "ref", "reference", "code", "номер", "код"}
_ID_NOUNS = {"account", "order", "ticket", "invoice", "policy", "confirmation", "tracking", "case", "booking",
             "reservation", "reference", "card", "contract", "claim", "member", "membership", "customer", "client",
             "счет", "счёт", "заказ", "договор", "заявка", "карта", "полис"}  # fmt: skip
_KEYWORD_STOP = {
    "work", "works", "get", "got", "go", "going", "make", "take", "know", "think", "see", "say", "said", "want",
    "need", "like", "help", "call", "calling", "called", "thank", "welcome", "sure", "great", "perfect", "sorry",
    "hear", "today", "nice", "fine", "right", "just", "let", "look", "looking", "tell", "would", "could", "one",
    "able", "speaking", "speak", "hello", "thing", "way", "time", "wait", "moment", "give", "put", "much",
    "because", "about", "anything", "something", "else", "okay", "yes", "day", "still", "back", "also",
    "может", "могу", "хочу", "нужно", "скажите", "сейчас", "минуту", "хорошо", "ладно", "понятно", "спасибо",
}  # fmt: skip
_OTHER_ROLE = {"agent": "customer", "customer": "agent"}


def _string(schema: Mapping[str, Any], prop: _Prop, doc: _Doc) -> str:
    """The string for ``prop``, fitted to ``minLength``/``maxLength`` and, if possible, ``pattern``."""
    result = _fit_string(_string_value(prop, doc), schema, doc)
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _search(pattern, result):
        result = _pattern_match(pattern, doc) or result
    return result


def _string_kind(prop: _Prop) -> str:
    """What the property asks for, from its name and ``format``: ``email``, ``phone``, ``url``, ``date``,
    ``organization``, ``name``, ``language``, ``identifier``, ``summary`` or ``text``."""
    words, fmt = prop.words, prop.fmt
    if fmt == "email" or _wants(words, {"email", "mail", "почта"}):
        return "email"
    if _wants(words, {"phone", "telephone", "tel", "mobile", "cell", "msisdn", "телефон"}) or (
        "number" in words and _wants(words, {"callback", "contact", "call"})
    ):
        return "phone"
    if fmt in ("uri", "url", "iri") or _wants(words, {"url", "link", "website", "uri", "site", "ссылка", "сайт"}):
        return "url"
    if fmt in ("date", "date-time", "time") or _wants(
        words, {"date", "day", "when", "time", "datetime", "deadline", "birthday", "dob", "slot", "дата", "время",
                "due", "когда", "timestamp"}  # fmt: skip
    ):
        return "date"
    if _wants(words, _ORG_WORDS) and len(words) <= 2:
        return "organization"
    if (
        words
        and set(words) <= _PERSON_WORDS | _AGENT_LABELS | _CUSTOMER_LABELS
        and not set(words) <= {"first", "last", "full", "given", "family"}
    ):  # "customer_name", "agent", "sales_rep", "caller": a person's name
        return "name"
    if _wants(words, {"language", "lang", "locale", "язык"}) and len(words) <= 2:
        return "language"
    if (
        _wants(words, _ID_WORDS)
        and (len(words) == 1 or _wants(words, _ID_NOUNS) or words[-1] in _ID_WORDS)
        and not _wants(words, {"count", "total", "amount"})
    ):
        return "identifier"
    if _wants(words, _SUMMARY_WORDS) or prop.stems & {_stem(w) for w in ("summary", "summarize", "summarise")}:
        return "summary"
    return "text"


def _string_value(prop: _Prop, doc: _Doc) -> str:
    """The best entity of the property's kind, the summary, the language, or the most related sentence
    (``""`` when nothing fits)."""
    kind = _string_kind(prop)
    if kind == "summary":
        return _summary(doc)
    if kind == "language":
        return doc.language
    if kind == "text":
        best = _related(prop, doc, limit=1)
        return best[0].text if best else ""
    found = _entities(kind, prop, doc)
    return found[0] if found else ""


def _entities(kind: str, prop: _Prop, doc: _Doc) -> list[str]:
    """Every ``kind`` entity in ``doc``, best first (for scalars) — deduplicated."""
    ranked: list[tuple[float, str]] = []
    relation = _relations(prop, doc)
    n = max(1, len(doc.sentences))
    for s in doc.sentences:
        role_ok = 1.0 if (prop.role is None or not s.role or s.role == prop.role) else 0.0
        late = s.index / n
        if kind == "email":
            found = _EMAIL_RE.findall(s.text) + [
                f"{_undot(m.group(1))}@{_undot(m.group(2))}".lower() for m in _SPOKEN_EMAIL_RE.finditer(s.text)
            ]
            ranked += [(role_ok + relation[s.index] - 0.01 * late, e) for e in found]
        elif kind == "phone":
            dates = [m.span() for m in _DATE_RE.finditer(s.text)]
            for m in _PHONE_RE.finditer(s.text):
                digits = re.sub(r"\D", "", m.group())
                if 7 <= len(digits) <= 15 and not any(a <= m.start() < b for a, b in dates):
                    ranked.append((role_ok + relation[s.index] - 0.01 * late, m.group().strip()))
        elif kind == "url":
            ranked += [(role_ok + relation[s.index], u.rstrip(".,;:!?)")) for u in _URL_RE.findall(s.text)]
        elif kind == "name":
            for name, strong, whose in _names_in(s):
                owner = s.role if whose == "self" else _OTHER_ROLE.get(s.role or "") if whose == "other" else None
                if owner is None:
                    fit = 0.5
                elif prop.role is not None:
                    fit = 1.0 if owner == prop.role else 0.0
                else:  # a plain "name" in a call analysis is the caller's
                    fit = 1.0 if owner == "customer" else 0.3
                ranked.append((2 * fit + (0.5 if strong else 0.0) - 0.01 * late, name))
        elif kind == "organization":
            ranked += [(1.0 + relation[s.index] - 0.01 * late, org) for org in _organizations_in(s)]
        elif kind == "identifier":
            ranked += _identifiers(s, prop, relation[s.index])
        elif kind == "date":
            ranked += _dates(s, prop, relation[s.index], late)
    ranked.sort(key=lambda r: -r[0])
    out: list[str] = []
    for _, value in ranked:
        if kind == "name":
            value = _name_part(value, prop)
        if value and value not in out:
            out.append(value)
    return out


def _name_part(name: str, prop: _Prop) -> str:
    parts = name.split()
    if _wants(prop.words, {"first", "given"}):
        return parts[0]
    if _wants(prop.words, {"last", "family", "surname", "фамилия"}):
        return parts[-1] if len(parts) > 1 else ""
    return name


def _identifiers(s: _Sentence, prop: _Prop, relation: float) -> list[tuple[float, str]]:
    blocked = [m.span() for r in (_PHONE_RE, _DATE_RE, _TIME_RE, _EMAIL_RE, _URL_RE) for m in r.finditer(s.text)]
    nouns = set(prop.words) & (_ID_NOUNS | _ID_WORDS)
    noun_positions = [i for i, t in enumerate(s.tokens) if _name_words(t) and _name_words(t)[0] in nouns]
    out = []
    for m in _ID_RE.finditer(s.text):
        if any(a <= m.start() < b for a, b in blocked) or len(re.sub(r"\D", "", m.group())) < 2:
            continue
        pos = _token_index(s.text, m.start())
        near = min((abs(pos - p) for p in noun_positions), default=99)
        out.append((relation + (1.0 / (1 + near) if near < 99 else 0.0), m.group()))
    return out


def _dates(s: _Sentence, prop: _Prop, relation: float, late: float) -> list[tuple[float, str]]:
    """Date/time mentions scored by sentence relation, lateness (the agreed slot comes last) and
    closeness to the property's words; a date with a time right next to it is kept as one span."""
    words = set(prop.words)
    want_time = bool(words & {"time", "datetime", "when", "slot", "timestamp", "время", "когда"}) or prop.fmt in (
        "time", "date-time")  # fmt: skip
    want_date = prop.fmt != "time"
    dates = [m.span() for m in _DATE_RE.finditer(s.text)] if want_date else []
    times = [m.span() for m in _TIME_RE.finditer(s.text)] if want_time else []
    near = [i for i, stem in enumerate(s.token_stems) if stem and stem in prop.stems]
    base = relation + 0.2 * late + (0.0 if s.question else 0.1)

    def closeness(span: tuple[int, int]) -> float:
        if not near:
            return 0.0
        pos = _token_index(s.text, span[0])
        return 0.3 / (1 + min(abs(pos - p) for p in near) / 2)

    spans: list[tuple[float, tuple[int, int]]] = []
    for d in dates:
        paired = [t for t in times if (0 <= t[0] - d[1] <= 15) or (0 <= d[0] - t[1] <= 15)]
        if paired:
            t = min(paired, key=lambda t: abs(t[0] - d[1]))
            spans.append((0.3, (min(d[0], t[0]), max(d[1], t[1]))))
    spans += [(0.0, span) for span in dates + times]
    out = [(base + bonus + closeness(span), s.text[span[0] : span[1]].strip(" ,.")) for bonus, span in spans]
    if prop.fmt == "date":
        out = [(score, _iso_date(v) or v) for score, v in out]
    return out


def _relations(prop: _Prop, doc: _Doc) -> list[float]:
    """Per sentence: how related it is to the property (TF-IDF cosine + cue hits + role/position)."""
    concept = set(prop.stems)
    cues: set[str] = set()
    for c in prop.concepts:
        cues |= c.positive
        concept |= set(_content_stems(cue for cue in c.positive if " " not in cue))
    cue_set = frozenset(cues)
    vec = doc.tfidf.vector(concept)
    n = max(1, len(doc.sentences))
    speakers = {c.speaker for c in prop.concepts} - {None}
    positions = {c.position for c in prop.concepts} - {None}
    out = []
    for s, svec in zip(doc.sentences, doc.vectors, strict=True):
        score = _cosine(vec, svec)
        if cue_set and _phrase_hits(s, cue_set):
            score += 0.3
        if score > 0:
            if prop.role and s.role == prop.role or (speakers and s.role in speakers):
                score += 0.15
            if "early" in positions:
                score += 0.1 * (1 - s.index / n)
            if "late" in positions:
                score += 0.1 * s.index / n
        out.append(score)
    return out


def _related(prop: _Prop, doc: _Doc, limit: int, questions_only: bool = False) -> list[_Sentence]:
    """Up to ``limit`` sentences related to the property, best first (none if nothing relates)."""
    relation = _relations(prop, doc)
    ranked = sorted(
        (i for i, s in enumerate(doc.sentences)
         if relation[i] > 0.05 and s.stems and (s.question or not questions_only)),
        key=lambda i: (-relation[i], i),
    )  # fmt: skip
    return [doc.sentences[i] for i in ranked[:limit]]


def _summary(doc: _Doc) -> str:
    """The 2-3 most informative sentences (TF-IDF centrality + reason/outcome cues), in text order."""
    social = _SOCIAL_STEMS
    candidates = [s for s in doc.sentences if len([t for t in s.stems if t not in social]) >= 3]
    candidates = candidates or [s for s in doc.sentences if s.stems] or list(doc.sentences)
    if not candidates:
        return ""
    k = len(candidates) if len(candidates) <= 2 else 2 if len(candidates) < 6 else 3
    reason = next(c for c in _CONCEPTS if c.name == "reason")
    outcome = next(c for c in _CONCEPTS if c.name == "outcome")
    problem = next(c for c in _CONCEPTS if c.name == "problem")
    n = max(1, len(doc.sentences))
    scores = {}
    centroid: Counter[str] = Counter()
    for s in candidates:
        centroid.update(doc.vectors[s.index])
    centroid_sq = sum(w * w for w in centroid.values())
    for s in candidates:
        vec = doc.vectors[s.index]
        # cosine with the sum of the OTHER sentences' vectors: (v·C - v·v) / |C - v|
        dot, self_sq = _cosine(vec, centroid), sum(w * w for w in vec.values())
        rest = math.sqrt(max(centroid_sq - 2 * dot + self_sq, 0.0))
        centrality = (dot - self_sq) / rest if rest > 1e-9 else 0.0
        score = centrality + 0.02 * min(len(s.stems), 12)
        if (_phrase_hits(s, reason.positive) or _phrase_hits(s, problem.positive)) and s.role != "agent":
            score += 0.3 * (1 - s.index / n)
        if _phrase_hits(s, outcome.positive):
            score += 0.3 * s.index / n
        if s.question:
            score -= 0.1
        scores[s.index] = score
    chosen = sorted(sorted(scores, key=lambda i: (-scores[i], i))[:k])
    return " ".join(doc.sentences[i].labelled for i in chosen)


def _keywords(doc: _Doc, limit: int) -> list[str]:
    """The most distinctive content words, surface forms: frequency x IDF x word length, skipping
    names, speaker labels, pleasantries and common verbs; customer sentences count double."""
    weights: dict[str, float] = {}
    surface: dict[str, Counter[str]] = {}
    skip = _SOCIAL_STEMS | {_stem(w) for w in _KEYWORD_STOP}
    names = {_norm(w) for s in doc.sentences for name, _, _ in _names_in(s) for w in name.split()}
    labels = {_norm(s.speaker) for s in doc.sentences if s.speaker}
    for s in doc.sentences:
        factor = 2.0 if s.role == "customer" else 1.0
        hidden = set(_tokens(" ".join(_EMAIL_RE.findall(s.text) + _URL_RE.findall(s.text))))
        for token, stem in zip(s.tokens, s.token_stems, strict=True):
            if not stem or stem in skip or token in names or token in labels or len(token) < 3 or token in hidden:
                continue
            if any(c.isdigit() for c in token):
                continue
            surface.setdefault(stem, Counter())[token] += 1
            weights[stem] = weights.get(stem, 0.0) + factor * doc.tfidf.idf.get(stem, 1.0) * min(len(token), 10) / 10
    ranked = sorted(weights, key=lambda t: (-weights[t], t))
    return [surface[t].most_common(1)[0][0] for t in ranked[:limit]]


def _string_items(prop: _Prop, doc: _Doc, cap: int) -> list[str]:
    """Up to ``cap`` strings for an array property: entities of its kind, keywords, or related sentences
    (questions for ``questions``-like names), in text order."""
    kind = _string_kind(prop)
    if kind in ("email", "phone", "url", "name", "identifier", "date", "organization"):
        return _entities(kind, prop, doc)[:cap]
    if kind == "language":
        return [doc.language]
    if _wants(prop.words, _KEYWORD_WORDS):
        return _keywords(doc, cap)
    questions_only = _wants(prop.words, {"question", "вопрос"})
    sentences = _related(prop, doc, limit=cap, questions_only=questions_only)
    if not sentences and questions_only:
        sentences = [s for s in doc.sentences if s.question][:cap]
    return [s.text for s in sorted(sentences, key=lambda s: s.index)]
