"""Cue-word concepts (booking, resolution, escalation, sentiment…) and matching cues in sentences with negation."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from adapters.providers.llm.offline.sentences import _Sentence
from adapters.providers.llm.offline.text import _CYRILLIC_RE, _is_negator, _norm, _stem, _tokens


@dataclass(frozen=True)
class _Concept:
    """Cue words for a property concept. ``triggers`` are stems of property-name words that
    select it; ``positive``/``negative`` are words or phrases (Cyrillic single words match as
    prefixes); ``speaker`` is whose sentences count fully (others count 0.3)."""

    name: str
    triggers: frozenset[str]
    positive: frozenset[str]
    negative: frozenset[str] = frozenset()
    speaker: str | None = None
    position: str | None = None  # "early" | "late": where such sentences usually are
    boolean: bool = True  # usable as evidence for a yes/no property


def _concept(name: str, triggers: str, positive: str, negative: str = "", speaker: str | None = None,
             position: str | None = None, boolean: bool = True) -> _Concept:  # fmt: skip

    def cues(spec: str) -> frozenset[str]:
        return frozenset(_norm(c.strip()) for c in spec.split("|") if c.strip())

    return _Concept(
        name,
        frozenset(_stem(t) for t in triggers.split()),
        cues(positive),
        cues(negative),
        speaker,
        position,
        boolean,
    )


_SATISFIED_POS = (
    "satisfied|happy|great|perfect|excellent|wonderful|fantastic|awesome|amazing|helpful|appreciate|"
    "appreciated|pleased|glad|love|lovely|brilliant|thanks|thank|thank you so much|that's great|very good|"
    "доволен|довольна|довольны|спасибо|благодар|отличн|прекрасн|замечательн|супер|помогли|рад|рада"
)
_SATISFIED_NEG = (
    "unsatisfied|dissatisfied|unhappy|frustrated|frustrating|angry|annoyed|annoying|disappointed|"
    "disappointing|terrible|awful|horrible|useless|ridiculous|worst|unacceptable|upset|furious|complaint|"
    "complain|waste of time|недоволен|недовольна|ужасн|плох|разочаров|возмущ|безобраз|жалоб|кошмар|"
    "бесполезн|отвратительн|раздраж"
)

_CONCEPTS: tuple[_Concept, ...] = (
    _concept("satisfaction", "satisfied satisfaction happy pleased csat delighted доволен удовлетворен",
             _SATISFIED_POS, _SATISFIED_NEG, speaker="customer"),
    _concept("booking", "book booked booking appointment schedule scheduled reservation reserve reserved meeting "
             "demo visit slot запись записан бронь встреча прием приём",
             "booked|scheduled|reserved|confirmed|all set|you're set|see you on|see you then|see you at|"
             "schedule a|set up a|book you|booked you|i'll book|we'll book|"
             "have you down|put you down|i've got you|booking is confirmed|appointment is confirmed|"
             "записал|записан|забронир|подтвержд|ждем вас",
             "cancel|cancelled|canceled|cancellation|fully booked|no availability|no slots|unavailable|"
             "отмен|нет свободных|нет мест|занято"),
    _concept("resolution", "resolved resolution resolve solved solve fixed fix решен решён решили",
             "resolved|solved|fixed|sorted|works now|working now|it works|that worked|that helped|that helps|"
             "all good|taken care of|problem solved|решен|решил|исправ|заработал|помогло",
             "unresolved|still not|still broken|doesn't work|not working|didn't work|escalate|get back to you|"
             "не работает|не помогло|все еще|по-прежнему", position="late"),
    _concept("escalation", "escalated escalation escalate transfer transferred human supervisor manager operator "
             "handoff handover live оператор перевод эскалация",
             "transfer|transferring|transferred|escalate|escalated|escalating|supervisor|manager|human|"
             "real person|live agent|another department|specialist|оператор|переключ|перевед|соедин|руковод|"
             "специалист|живым человеком"),
    _concept("callback", "callback call_back follow followup перезвон",
             "call back|call me back|call you back|callback|ring me back|follow up|get back to you|reach out|"
             "перезвон|свяжемся|свяжусь"),
    _concept("cancellation", "cancel cancelled cancellation churn terminate unsubscribe отмена расторжение",
             "cancel|cancelled|canceled|cancellation|terminate|close my account|unsubscribe|"
             "stop my subscription|отмен|расторг|закрыть счет|отключ",
             "keep my|stay with|останусь"),
    _concept("refund", "refund reimbursement chargeback возврат",
             "refund|refunded|reimburse|reimbursed|reimbursement|money back|chargeback|возврат|вернуть деньги|"
             "вернем"),
    _concept("complaint", "complaint complain complained grievance жалоба претензия",
             "complaint|complain|complaining|unacceptable|ridiculous|file a complaint|frustrated|angry|жалоб|"
             "претензи|возмущ|недоволен|безобраз", speaker="customer"),
    _concept("interest", "interested interest purchase buy bought sale sold converted conversion lead upgrade "
             "subscribe signup интерес покупка купил",
             "interested|interesting|sounds good|sounds great|sign me up|sign up|buy|purchase|i'll take|"
             "let's do it|go ahead|upgrade|send me a quote|send me more|tell me more|"
             "subscribe|интерес|купить|куплю|оформ|подключ|давайте|закаж",
             "not interested|no thanks|no thank you|too expensive|не интересно|не нужно|дорого",
             speaker="customer"),
    _concept("consent", "consent agree agreed accepted accept opt permission согласие согласен",
             "agree|agreed|consent|that's fine|go ahead|accept|sure|соглас|разреша",
             "disagree|refuse|decline|отказ", speaker="customer"),
    _concept("voicemail", "voicemail answering machine автоответчик",
             "voicemail|leave a message|leave your message|after the tone|after the beep|"
             "not available to take|mailbox|автоответчик|оставьте сообщение|после сигнала"),
    _concept("urgency", "urgent urgency emergency priority срочно срочность",
             "urgent|urgently|emergency|asap|immediately|right away|right now|critical|срочно|немедленно|"
             "как можно скорее|экстренн"),
    _concept("payment", "paid payment pay charged оплата оплачен",
             "paid|payment went through|payment received|payment is|charged|processed the payment|оплат|"
             "заплат|списан",
             "declined|payment failed|unpaid|overdue|отклон|не прош"),
    _concept("fraud", "fraud fraudulent stolen theft unauthorized suspicious мошенничество кража",
             "fraud|fraudulent|stolen|unauthorized|suspicious|didn't make|don't recognize|hacked|scam|"
             "мошен|украл|подозрит|не совершал"),
    _concept("reason", "reason purpose intent why topic subject inquiry enquiry motive причина цель тема "
             "обращение",
             "because|calling about|call about|regarding|i want|i'd like|i would like|i need|need to|want to|"
             "looking to|trying to|help with|problem|issue|question|звоню|по поводу|хочу|хотел|хотела|нужно|"
             "нужен|нужна|у меня|проблем|вопрос", speaker="customer", position="early", boolean=False),
    _concept("outcome", "outcome result resolution next step action follow conclusion todo task итог результат "
             "решение",
             "i'll|we'll|i will|we will|going to|booked|scheduled|resolved|confirmed|send|sent|follow up|"
             "next step|transfer|call back|all set|отправ|запис|перезвон|решен|будет", speaker="agent",
             position="late", boolean=False),
    _concept("problem", "problem issue complaint error bug fault objection concern проблема ошибка неисправность",
             "problem|issue|not working|doesn't work|broken|error|wrong|fail|failed|failing|charged twice|"
             "declined|blocked|lost|too expensive|concern|проблем|ошибк|не работает|сломал|заблокир|списал",
             speaker="customer"),
    _concept("rating", "rating rate score nps csat grade stars оценка балл",
             "rate|rating|score|out of|stars|оценк|балл|из", boolean=False),
)  # fmt: skip

_SENTIMENT_POS = _CONCEPTS[0].positive | {"good", "nice", "fine", "excellent", "хорош", "нравится"}
_SENTIMENT_NEG = _CONCEPTS[0].negative | {"bad", "poor", "hate", "плохо", "ужас"}


def _concepts_for(stems: Iterable[str]) -> list[_Concept]:
    """The concepts one of whose triggers is among ``stems``."""
    stems = set(stems)
    return [c for c in _CONCEPTS if c.triggers & stems]


@dataclass(frozen=True)
class _CueIndex:
    """Cues compiled for matching: exact words, Cyrillic prefixes, phrases by first word."""

    words: frozenset[str]
    prefixes: tuple[str, ...]
    phrases: dict[str, tuple[tuple[str, ...], ...]]


@functools.lru_cache(maxsize=256)
def _cue_index(cues: frozenset[str]) -> _CueIndex:
    words: set[str] = set()
    prefixes: list[str] = []
    phrases: dict[str, list[tuple[str, ...]]] = {}
    for cue in cues:
        parts = tuple(_tokens(cue))
        if not parts:
            continue
        if len(parts) > 1:
            phrases.setdefault(parts[0], []).append(parts)
        elif _CYRILLIC_RE.search(cue) and len(cue) >= 4:
            prefixes.append(parts[0])
        else:
            words.add(parts[0])
    return _CueIndex(frozenset(words), tuple(sorted(prefixes)), {k: tuple(v) for k, v in phrases.items()})


def _phrase_hits(sentence: _Sentence, cues: Iterable[str]) -> list[tuple[int, bool]]:
    """(token position, negated) for each occurrence of a cue word/phrase in ``sentence``.

    Single Cyrillic cues of 4+ letters match as prefixes (Russian inflection); a hit is negated
    when a negator precedes it within 3 tokens of the same clause (cues that contain a negator
    themselves, like "not working", are never negated)."""
    index = _cue_index(cues if isinstance(cues, frozenset) else frozenset(cues))
    hits: list[tuple[int, bool]] = []
    tokens = sentence.tokens
    for i, token in enumerate(tokens):
        matched: list[tuple[str, ...]] = []
        if token in index.words or (index.prefixes and token.startswith(index.prefixes)):
            matched.append((token,))
        for phrase in index.phrases.get(token, ()):
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                matched.append(phrase)
        for words in matched:
            self_negated = any(_is_negator(w) for w in words)
            hits.append((i, not self_negated and any(_is_negator(t) for t in sentence.window(i))))
    return hits


def _stem_hits(sentence: _Sentence, stems: set[str]) -> list[tuple[int, bool]]:
    """(token position, negated) for each token of ``sentence`` whose stem is in ``stems``."""
    hits = []
    for i, stem in enumerate(sentence.token_stems):
        if stem and stem in stems:
            hits.append((i, any(_is_negator(t) for t in sentence.window(i))))
    return hits
