"""Scalar values from a text: booleans by cue evidence, sentiment polarity, enum choice, numbers near the
property's words (clamped into the schema's bounds)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from adapters.providers.llm.offline.concepts import (
    _SENTIMENT_NEG,
    _SENTIMENT_POS,
    _concepts_for,
    _phrase_hits,
    _stem_hits,
)
from adapters.providers.llm.offline.fitting import _bounds, _fit_number
from adapters.providers.llm.offline.numbers import _Number, _numbers
from adapters.providers.llm.offline.props import _Prop
from adapters.providers.llm.offline.sentences import _Doc
from adapters.providers.llm.offline.text import _STOPWORDS, _content_stems, _name_words, _norm, _stem, _tokens
from adapters.providers.llm.offline.tfidf import _cosine

_CATCH_ALL = {"other", "unknown", "none", "n/a", "na", "unclear", "not_applicable", "not applicable", "neutral",
              "другое", "неизвестно", "нет"}  # fmt: skip
_POSITIVE_LABELS = {"positive", "pos", "happy", "satisfied", "good", "pleased", "позитивный", "положительный",
                    "позитив", "довольный"}  # fmt: skip
_NEGATIVE_LABELS = {"negative", "neg", "angry", "frustrated", "unhappy", "dissatisfied", "bad", "upset",
                    "негативный", "отрицательный", "негатив", "недовольный"}  # fmt: skip
_NEUTRAL_LABELS = {"neutral", "mixed", "нейтральный", "нейтрально", "смешанный"}
_GENERIC_STEMS = frozenset(
    _stem(w) for w in ("customer", "caller", "client", "agent", "call", "whether", "true", "false", "flag", "boolean",
                       "indicate", "indicates", "value", "field", "клиент", "звонок", "ли")
)  # fmt: skip


def _boolean(prop: _Prop, doc: _Doc) -> bool:
    """True when later, non-question, non-negated cue evidence outweighs the contrary."""
    n = max(1, len(doc.sentences))
    score = 0.0
    concepts = [c for c in prop.concepts if c.boolean]
    positive = frozenset().union(*(c.positive for c in concepts))
    negative = frozenset().union(*(c.negative for c in concepts))
    speakers = {c.speaker for c in concepts} - {None}
    # Without a known concept: a sentence is evidence when it has the name's predicate ("card_BLOCKED",
    # else all the name's words) or at least two of the description's words.
    name_stems = {_stem(w) for w in prop.words if w not in _STOPWORDS} - _GENERIC_STEMS
    predicate = {_stem(w) for w in prop.words if len(w) > 4 and w.endswith(("ed", "en"))} - _GENERIC_STEMS
    group_a, need_a = (predicate, 1) if predicate else (name_stems, len(name_stems))
    group_b = prop.desc_stems - _GENERIC_STEMS
    need_b = min(2, len(group_b))
    for s in doc.sentences:
        if s.question:  # offers and questions are not evidence ("Would you like to book?")
            continue
        weight = 1.0 + s.index / n
        if speakers and doc.has_roles and s.role and s.role not in speakers:
            weight *= 0.3
        if concepts:
            hits = [(neg, 1.0) for _, neg in _phrase_hits(s, positive)]
            hits += [(not neg, 1.5) for _, neg in _phrase_hits(s, negative)]
        else:
            hits_a = _stem_hits(s, group_a) if group_a else []
            hits_b = _stem_hits(s, group_b) if group_b else []
            if hits_a and len({s.token_stems[i] for i, _ in hits_a}) >= need_a:
                hits = [(any(neg for _, neg in hits_a), 1.0)]
            elif hits_b and len({s.token_stems[i] for i, _ in hits_b}) >= need_b:
                hits = [(any(neg for _, neg in hits_b), 1.0)]
            else:
                hits = []
        for negated, strength in hits:
            score += -weight * strength if negated else weight * strength
    return score > 0


def _polarity(doc: _Doc) -> float:
    """Cue-word sentiment in [-1, 1] (customer sentences count fully, agent ones 0.3)."""
    if doc.polarity is None:
        pos = neg = 0.0
        for s in doc.sentences:
            weight = 0.3 if (doc.has_roles and s.role == "agent") else 1.0
            for _, negated in _phrase_hits(s, _SENTIMENT_POS):
                neg, pos = (neg + weight, pos) if negated else (neg, pos + weight)
            for _, negated in _phrase_hits(s, _SENTIMENT_NEG):
                neg, pos = (neg, pos + 0.5 * weight) if negated else (neg + weight, pos)
        doc.polarity = (pos - neg) / (pos + neg) if pos + neg else 0.0
    return doc.polarity


def _enum(schema: Mapping[str, Any], prop: _Prop, doc: _Doc) -> Any:
    """One of ``schema["enum"]``: for strings, by polarity when the values are sentiment labels, else
    the best-scoring value, else a catch-all (``other``/``unknown``…), else the first; for numbers, the
    first one the text mentions; for booleans, the boolean evidence; otherwise the first value."""
    values = list(schema["enum"])
    strings = [v for v in values if isinstance(v, str)]
    if strings:
        lowered = {_norm(v).replace("_", " ").replace("-", " "): v for v in strings}
        sentiment_like = prop.path_words & {"sentiment", "mood", "tone", "emotion", "настроение", "тональность"}
        classes = [set(lowered) & labels for labels in (_POSITIVE_LABELS, _NEGATIVE_LABELS, _NEUTRAL_LABELS)]
        if sentiment_like or sum(1 for c in classes if c) >= 2:
            p = _polarity(doc)
            order = [0] if p > 0.2 else [1] if p < -0.2 else [2]
            for idx in order:
                if classes[idx]:
                    return lowered[sorted(classes[idx], key=lambda v: strings.index(lowered[v]))[0]]
        scores = [_enum_score(v, doc) for v in strings]
        best = max(range(len(strings)), key=lambda i: (scores[i], -i))
        if scores[best] > 0:
            return strings[best]
        for v in strings:
            if _norm(v).replace("_", " ") in _CATCH_ALL:
                return v
        return strings[0] if values[0] in strings else values[0]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers:
        found = [n.value for s in doc.sentences for n in _numbers(s)]
        for value in found:
            for candidate in numbers:
                if float(candidate) == value:
                    return candidate
    bools = [v for v in values if isinstance(v, bool)]
    if bools and len(bools) == len(values):
        guess = _boolean(prop, doc)
        return guess if guess in bools else bools[0]
    return copy.deepcopy(values[0])


def _enum_score(value: str, doc: _Doc) -> float:
    """How strongly ``doc`` supports the enum value ``value`` (its words and concept cues, later sentences
    weigh more, questions less); a negated value (``not_booked``, ``unresolved``) scores the opposite."""
    words = _name_words(value)
    negative = False
    if words and words[0] in ("not", "no", "non", "un", "не", "нет"):
        words, negative = words[1:], True
    elif words and words[0].startswith("un") and len(words[0]) > 5 and words[0] not in ("until", "unit", "union"):
        words, negative = [words[0][2:]] + words[1:], True
    stems = set(_content_stems(words)) or {_stem(w) for w in words}
    concepts = _concepts_for(stems)
    cues = frozenset().union(*(c.positive for c in concepts))
    phrase = " ".join(words)
    n = max(1, len(doc.sentences))
    score = 0.0
    for s in doc.sentences:
        weight = (1.0 + s.index / n) * (0.3 if s.question else 1.0)
        matched = {s.token_stems[i] for i, _ in _stem_hits(s, stems)}
        neg_hits = sum(1 for _, neg in _stem_hits(s, stems) if neg)
        part = len(matched) / max(1, len(stems)) - neg_hits
        if len(words) > 1 and phrase and phrase in " ".join(s.tokens):
            part += 1.0
        for _, neg in _phrase_hits(s, cues):
            part += -0.5 if neg else 0.5
        score += weight * (-part if negative else part)
    return score


def _number(schema: Mapping[str, Any], prop: _Prop, doc: _Doc, *, integer: bool) -> int | float:
    """The number in ``doc`` closest to the property's words, units (minutes, %, people…) and currency,
    or a polarity-based score for ratings; 0 when the text has none; fitted to the schema's bounds."""
    words = set(prop.words)
    units: set[str] = set()
    if words & {"minute", "min", "duration", "length", "wait", "минута"}:
        units |= {"minute", "minutes", "min", "mins", "минут", "минуты", "минуту"}
    if words & {"hour", "hr", "час"}:
        units |= {"hour", "hours", "hrs", "час", "часа", "часов"}
    if words & {"day", "дней", "день"}:
        units |= {"day", "days", "дней", "дня", "день"}
    if words & {"second", "sec", "секунда"}:
        units |= {"second", "seconds", "sec", "secs", "секунд", "секунды"}
    if words & {"age", "year", "возраст"}:
        units |= {"years", "year", "old", "лет", "года", "год"}
    if words & {"percent", "percentage", "pct", "rate", "процент"}:
        units |= {"%", "percent", "процентов", "процента"}
    if words & {"people", "guest", "person", "party", "adult", "child", "kid", "attendee", "seat", "человек"}:
        units |= {"people", "persons", "person", "guests", "adults", "kids", "children", "человек", "гостей"}
    money = bool(words & {"price", "cost", "amount", "balance", "fee", "total", "payment", "sum", "charge",
                          "budget", "refund", "salary", "income", "debt", "loan", "сумма", "цена", "стоимость",
                          "баланс", "платеж", "платёж"})  # fmt: skip
    rating = any(c.name in ("rating", "satisfaction") for c in prop.concepts) or bool(
        words & {"score", "rating", "nps", "csat", "sentiment", "оценка"}
    )
    concept = set(prop.stems) | set().union(*(set(_content_stems(_tokens(" ".join(c.positive)))) for c in prop.concepts
                                               if c.name == "rating"))  # fmt: skip
    concept_vec = doc.tfidf.vector(concept)
    candidates: list[tuple[float, int, _Number]] = []
    for s, vec in zip(doc.sentences, doc.vectors, strict=True):
        numbers = _numbers(s)
        if not numbers:
            continue
        relation = _cosine(concept_vec, vec)
        near_positions = [i for i, stem in enumerate(s.token_stems) if stem and stem in concept]
        for num in numbers:
            score = relation
            if near_positions:
                distance = min(abs(num.position - p) for p in near_positions)
                score += 0.6 / (1 + distance / 3)
            if units and num.unit in units:
                score += 1.0
            if money and num.currency:
                score += 1.0
            if rating and num.unit in ("out", "из", "stars", "звезд"):
                score += 1.0
            candidates.append((score, s.index, num))
    value: float | None = None
    if candidates:
        best = max(candidates, key=lambda c: (c[0], c[1]))
        if best[0] > (0.5 if rating else 0):
            value = best[2].value
        elif len(candidates) == 1 and not (rating or units or money or prop.concepts):
            value = candidates[0][2].value  # the text's only number, for an otherwise unhinted property
    if value is None and rating:
        p = _polarity(doc)
        lo, hi = _bounds(schema, integer)
        if lo is not None and hi is not None:
            value = lo + (hi - lo) * (p + 1) / 2
        elif "sentiment" in words:
            value = p
        else:
            value = 3 + 2 * p  # a 1-5 scale
    return _fit_number(0 if value is None else value, schema, integer)
