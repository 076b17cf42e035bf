"""Sentences and documents: sentence splitting, speaker labels (``Agent:``/``Customer:``) and roles, ``_Doc``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.providers.llm.offline.text import _STOPWORDS, _TOKEN_RE, _norm, _stem, detect_language
from adapters.providers.llm.offline.tfidf import _Tfidf

_ABBREV_END = re.compile(
    r"\b(?:mr|mrs|ms|dr|st|jr|sr|prof|etc|e\.g|i\.e|a\.m|p\.m|vs|approx|no|т\.е|т\.д|г|ул)\.$", re.I
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+")
_LABEL_RE = re.compile(
    r"^\s*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?[\])]?\s*[-–—]?\s*)?" r"([^\W\d_][\w.'’ -]{0,28}?)\s*:\s+(\S.*)$"
)
_TIMESTAMP_RE = re.compile(r"^\s*[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?[\])]?\s*[-–—]?\s*")
_AGENT_LABELS = {
    "agent", "operator", "assistant", "bot", "ai", "representative", "rep", "support", "advisor", "adviser",
    "consultant", "receptionist", "banker", "system", "ivr", "virtual assistant", "voice assistant",
    "sales", "sale", "salesperson", "seller", "recruiter", "dispatcher", "host", "interviewer", "продавец",
    "оператор", "агент", "бот", "ассистент", "консультант", "менеджер", "специалист", "сотрудник",
}  # fmt: skip
_CUSTOMER_LABELS = {
    "customer", "caller", "client", "user", "patient", "guest", "member", "buyer", "lead", "prospect",
    "клиент", "абонент", "пользователь", "пациент", "гость", "звонящий", "покупатель",
}  # fmt: skip
_AGENT_PHRASES = ("thank you for calling", "how can i help", "how may i help", "how can i assist",
                  "how may i assist", "чем могу помочь", "спасибо за звонок", "слушаю вас")  # fmt: skip


@dataclass
class _Sentence:
    index: int
    text: str  # without the speaker label
    speaker: str | None
    role: str | None  # "agent" | "customer" | None
    tokens: list[str]
    stems: list[str]  # content stems (stopwords dropped)
    token_stems: list[str | None]  # per token: its stem, or None for stopwords
    question: bool
    clause_start: list[int] = field(default_factory=list)  # per token: index of its clause's first token

    def window(self, i: int, size: int = 3) -> list[str]:
        """Up to ``size`` tokens before token ``i`` in the same clause (for negation)."""
        start = self.clause_start[i] if i < len(self.clause_start) else 0
        return self.tokens[max(start, i - size) : i]

    @property
    def labelled(self) -> str:
        return f"{self.speaker}: {self.text}" if self.speaker else self.text


def _make_sentence(index: int, text: str, speaker: str | None, role: str | None) -> _Sentence:
    matches = list(_TOKEN_RE.finditer(text))
    tokens = [_norm(m.group()) for m in matches]
    clause_start, start = [], 0
    for i, m in enumerate(matches):
        if i and re.search(r"[,;:()—–]|\s-\s", text[matches[i - 1].end() : m.start()]):
            start = i
        clause_start.append(start)
    token_stems = [None if (t in _STOPWORDS or (len(t) < 2 and not t.isdigit())) else _stem(t) for t in tokens]
    return _Sentence(
        index=index,
        text=text,
        speaker=speaker,
        role=role,
        tokens=tokens,
        stems=[s for s in token_stems if s],
        token_stems=token_stems,
        question=text.rstrip().endswith("?"),
        clause_start=clause_start,
    )


def _split_sentences(body: str) -> list[str]:
    pieces = [p.strip() for p in _SENTENCE_SPLIT.split(body) if p and p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and _ABBREV_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _label_role(label: str) -> str | None:
    low = _norm(label).strip()
    first = low.split()[0] if low.split() else low
    if low in _AGENT_LABELS or first in _AGENT_LABELS:
        return "agent"
    if low in _CUSTOMER_LABELS or first in _CUSTOMER_LABELS:
        return "customer"
    return None


class _Doc:
    """A text as sentences (speaker labels such as ``Agent:``/``Customer:`` recognised), with TF-IDF."""

    def __init__(self, sentences: list[_Sentence], language: str) -> None:
        self.sentences = sentences
        self.language = language
        self.tfidf = _Tfidf([s.stems for s in sentences])
        self.vectors = [self.tfidf.vector(s.stems) for s in sentences]
        self.has_roles = any(s.role for s in sentences)
        self.polarity: float | None = None  # cached by scalars._polarity

    @classmethod
    def parse(cls, text: str) -> _Doc:
        """Lines → sentences; a label counts as a speaker when it names a role (``Agent``, ``Клиент``…) or
        recurs; named speakers get roles from agent phrases ("how can I help")."""
        lines = [line for line in text.splitlines() if line.strip()]
        parsed: list[tuple[str | None, str]] = []
        labels: Counter[str] = Counter()
        candidates: list[tuple[str | None, str]] = []
        for line in lines:
            match = _LABEL_RE.match(line)
            if match and len(match.group(1).split()) <= 3:  # "Agent: …", "[00:01] Dr. Lee: …"
                label = match.group(1).strip()
                candidates.append((label, match.group(2)))
                labels[_norm(label)] += 1
            else:
                candidates.append((None, _TIMESTAMP_RE.sub("", line)))
        for label, body in candidates:
            if label and (_label_role(label) or labels[_norm(label)] >= 2):
                parsed.append((label, body))
            else:
                line_text = f"{label}: {body}" if label else body
                parsed.append((None, line_text))
        roles = {_norm(lbl): _label_role(lbl) for lbl, _ in parsed if lbl}
        unknown = [lbl for lbl, role in roles.items() if role is None]
        if unknown:  # named speakers: the one who says "how can I help" is the agent
            agents = {
                _norm(lbl) for lbl, body in parsed
                if lbl and _norm(lbl) in unknown and any(p in body.lower() for p in _AGENT_PHRASES)
            }  # fmt: skip
            for lbl in unknown:
                if lbl in agents:
                    roles[lbl] = "agent"
                elif agents and len(roles) == 2:
                    roles[lbl] = "customer"
        sentences: list[_Sentence] = []
        for label, body in parsed:
            role = roles.get(_norm(label)) if label else None
            for piece in _split_sentences(body):
                sentences.append(_make_sentence(len(sentences), piece, label, role))
        return cls(sentences, detect_language(text))

    def sub(self, sentences: Sequence[_Sentence]) -> _Doc:
        """A document of just ``sentences`` (re-indexed, its own TF-IDF)."""
        return _Doc(
            [_make_sentence(i, s.text, s.speaker, s.role) for i, s in enumerate(sentences)],
            detect_language(" ".join(s.text for s in sentences), self.language),
        )

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)
