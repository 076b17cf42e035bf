"""Language models shared by the APIs: one interface, an OpenAI-compatible client, an offline engine.

Used for post-call analysis of transcripts (``extract``), a voice assistant's dialog replies and
the realtime voice loop (``chat``), and filler transcripts for TTS (``chat``).

Interface (:class:`LanguageModel`)
  ``chat(messages, *, max_tokens=400, temperature=0.3) -> str``
      The assistant's next reply to ``messages`` (a list of :class:`ChatMessage`; roles
      ``system``/``user``/``assistant``). ``max_tokens`` caps the reply length in tokens
      (>= 1); ``temperature`` is 0.0-2.0 (ignored by the offline engine).
  ``extract(text, schema, *, instructions="") -> dict``
      An object valid against the JSON Schema ``schema`` whose root is an object schema with
      ``properties``. EVERY declared property is present, at every level of nested objects
      (supported: ``type`` string/number/integer/boolean/array/object/null, ``enum``,
      ``const``, ``required``, ``properties``, ``items``, ``minimum``/``maximum`` and the
      exclusive forms, ``multipleOf``, ``minLength``/``maxLength``, ``minItems``/``maxItems``,
      ``uniqueItems``, local ``$ref``, ``allOf``/``anyOf``/``oneOf``). Undeclared keys are
      never returned.

Errors
  :class:`LLMError` (a ``ProviderError``) when the engine fails: HTTP status >= 400 (``status``,
  ``retry_after`` seconds), timeout, transport failure, an answer that is not JSON or has the
  wrong shape, or an extraction that cannot satisfy the schema. Messages never contain the API
  key. ``ValueError`` for the caller's mistakes: no messages, an unknown role, non-string
  content, ``max_tokens`` < 1, ``temperature`` outside 0-2, a schema that is not a valid JSON
  Schema or whose root is not an object schema.

Engines
  :class:`OpenAICompatibleLanguageModel` (``openai-compatible``) — ``POST {base_url}/chat/completions``.
  :class:`OfflineLanguageModel` (``offline-template``) — rules and TF-IDF retrieval, no network,
  no generative model.
  :func:`language_model` picks one from the ``LLM_BASE_URL``/``LLM_API_KEY``/``LLM_MODEL`` settings.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx
import jsonschema
from jsonschema.exceptions import SchemaError

from adapters.providers.base import ProviderError
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorClient, VendorHTTPError

logger = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
DEFAULT_MODEL = "gpt-4o-mini"
API_KEY_SETTING = "LLM_API_KEY"
EXTRACT_MAX_TOKENS = 1500
_EXCERPT_CHARS = 200


# ==== interface ==========================================================================


@dataclass(frozen=True)
class ChatMessage:
    """One conversation turn: ``role`` is ``system``, ``user`` or ``assistant``; ``content`` is text."""

    role: str
    content: str


class LLMError(ProviderError):
    """The language model failed (not the caller's fault).

    ``status`` is the vendor's HTTP status when it answered >= 400 (else None);
    ``retry_after`` the seconds it asked to wait, when it said so.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@runtime_checkable
class LanguageModel(Protocol):
    """A chat/extraction engine. See the module docstring for shapes, units and errors."""

    name: str

    async def chat(self, messages: list[ChatMessage], *, max_tokens: int = 400, temperature: float = 0.3) -> str:
        """The assistant's next reply to ``messages``; raises LLMError or ValueError."""
        ...

    async def extract(self, text: str, schema: dict, *, instructions: str = "") -> dict:
        """An object valid against ``schema`` with every property filled; raises LLMError or ValueError."""
        ...


def _coerce_messages(messages: Iterable[Any]) -> list[ChatMessage]:
    """ChatMessage objects (or ``{"role", "content"}`` mappings) checked for role and content."""
    out: list[ChatMessage] = []
    for message in messages:
        if isinstance(message, ChatMessage):
            role, content = message.role, message.content
        elif isinstance(message, Mapping):
            role, content = message.get("role"), message.get("content")
        else:
            raise ValueError(f"a chat message must be a ChatMessage, not {type(message).__name__}")
        if role not in ROLES:
            raise ValueError(f"unknown chat role {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f"chat message content must be a string, not {type(content).__name__}")
        out.append(ChatMessage(role, content))
    if not out:
        raise ValueError("chat needs at least one message")
    return out


def _check_generation(max_tokens: int, temperature: float) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("max_tokens must be an integer >= 1")
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0.0 <= temperature <= 2.0:
        raise ValueError("temperature must be a number from 0.0 to 2.0")


# ==== JSON Schema helpers ================================================================

_DEF_KEYS = ("$defs", "definitions", "components")


def _validator_class(schema: Mapping[str, Any]) -> type:
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


def _check_schema(schema: Any) -> Any:
    """The validator for ``schema``; ValueError when it is not an object schema with properties."""
    if not isinstance(schema, Mapping):
        raise ValueError("schema must be a JSON Schema object (a dict)")
    cls = _validator_class(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None
    root = _Schemas(schema).resolve(schema)
    types = root.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if not (is_object or (types is None and "properties" in root)):
        raise ValueError("schema root must be an object schema (type: object with properties)")
    return cls(schema)


class _Schemas:
    """Resolves local ``$ref`` and ``allOf`` against the root schema; validates sub-values."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._cls = _validator_class(root)
        self._defs = {k: root[k] for k in _DEF_KEYS if k in root}

    def resolve(self, schema: Any, _depth: int = 0) -> dict[str, Any]:
        if schema is True or not isinstance(schema, Mapping):
            return {}
        schema = dict(schema)
        if "$ref" in schema and _depth < 20:
            target = self._pointer(schema.pop("$ref"))
            merged = dict(self.resolve(target, _depth + 1))
            merged.update(schema)  # siblings of $ref (2019-09+) refine the target
            schema = merged
        if "allOf" in schema and _depth < 20:
            parts = [self.resolve(part, _depth + 1) for part in schema.pop("allOf") or []]
            merged: dict[str, Any] = {}
            for part in parts + [schema]:
                for key, value in part.items():
                    if key == "properties" and isinstance(value, Mapping):
                        merged.setdefault("properties", {}).update(value)
                    elif key == "required" and isinstance(value, list):
                        merged["required"] = list(dict.fromkeys(merged.get("required", []) + value))
                    else:
                        merged[key] = value
            schema = merged
        return schema

    def _pointer(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def valid(self, value: Any, schema: Any) -> bool:
        """Whether ``value`` is valid against ``schema`` (a sub-schema of the root)."""
        if isinstance(schema, Mapping):
            schema = {**self._defs, **schema}
        try:
            return self._cls(schema).is_valid(value)
        except Exception:  # noqa: BLE001 - an unresolvable $ref counts as invalid
            return False


# ==== text basics ========================================================================

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)


def detect_language(text: str, default: str = "en") -> str:
    """``ru`` when ``text`` has more Cyrillic than Latin letters, ``en`` when Latin wins,
    ``default`` when it has neither."""
    cyr, lat = len(_CYRILLIC_RE.findall(text)), len(_LATIN_RE.findall(text))
    if not cyr and not lat:
        return default
    return "ru" if cyr > lat else "en"


def _norm(token: str) -> str:
    return token.lower().replace("’", "'").replace("ё", "е")


def _tokens(text: str) -> list[str]:
    return [_norm(t) for t in _TOKEN_RE.findall(text)]


_STOP_EN = set("""a an the and or but if then else of to in on at by for with about from into over after before between
    under again further once here there when where why how all any both each few more most other some such
    only own same so than too very can will just should now i me my myself we our ours you your yours he him
    his she her hers it its they them their what which who whom this that these those am is are was were be
    been being have has had having do does did doing would could shall may might must let let's i'm i've
    i'd i'll you're you've you'll you'd we're we've we'll it's that's there's here's what's um uh oh well yeah
    also please really sir madam ma'am not no yes ok okay hmm""".split())
_STOP_RU = set(
    _norm(w)
    for w in """и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по только ее её мне
    было вот от меня еще ещё нет о из ему теперь когда даже ну ли если уже или ни быть был него до вас нибудь
    опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб
    без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом почти
    мой тем чтобы нее сейчас были куда зачем всех можно при наконец об другой хоть после над больше тот через
    эти нас про всего них какая много разве эту моя впрочем свою этой перед иногда чуть том нельзя такой им
    более всегда конечно всю между это мне меня пожалуйста алло ваш ваша ваше ваши наш наша наше наши вами
    нам""".split()
)
_STOPWORDS = _STOP_EN | _STOP_RU

_RU_ENDINGS = sorted(
    """иями ями ами ого его ому ему ыми ими ой ей ий ый ая яя ое ее ые ие ам ям ах ях ом ем ов ев ую юю ться тся
    ешь ет ем ете ют ут ит им ите ат ят ла ли ло л а я о е ы и у ю ь й""".split(),
    key=len,
    reverse=True,
)
_EN_SUFFIXES = (
    ("ations", ""), ("ation", ""), ("ments", ""), ("ment", ""), ("ingly", ""), ("ings", ""), ("ing", ""),
    ("ied", "y"), ("ies", "y"), ("edly", ""), ("ed", ""), ("ions", ""), ("ion", ""), ("es", ""), ("s", ""),
)  # fmt: skip


def _stem(token: str) -> str:
    """A light stemmer: suffix stripping, then truncation (6 letters Latin, 5 Cyrillic)."""
    token = _norm(token)
    if any(c.isdigit() for c in token):
        return token
    if _CYRILLIC_RE.search(token):
        for ending in _RU_ENDINGS:
            if token.endswith(ending) and len(token) - len(ending) >= 3:
                token = token[: -len(ending)]
                break
        return token[:5]
    if token.endswith("'s"):
        token = token[:-2]
    if "'" in token:
        return token
    for suffix, repl in _EN_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                break
            token = token[: -len(suffix)] + repl
            break
    if len(token) >= 4 and token.endswith("e"):
        token = token[:-1]
    return token[:6]


def _content_stems(tokens: Iterable[str]) -> list[str]:
    return [_stem(t) for t in tokens if t not in _STOPWORDS and (len(t) > 1 or t.isdigit())]


def _name_words(name: str) -> list[str]:
    """``appointmentBooked`` / ``appointment_booked`` / ``appointment-booked`` → words, singular."""
    spaced = re.sub(r"([a-zа-яё0-9])([A-ZА-ЯЁ])", r"\1 \2", name or "")
    words = _tokens(spaced.replace("_", " ").replace("-", " "))
    out = []
    for word in words:
        if len(word) > 3 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        out.append(word)
    return out


class _Tfidf:
    """TF-IDF over a small corpus of stem lists; ``vector`` gives L2-normalised sparse vectors."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        n = len(docs)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
        self.unknown_idf = math.log(1 + n) + 1.0

    def vector(self, terms: Iterable[str]) -> dict[str, float]:
        tf = Counter(terms)
        vec = {t: (1.0 + math.log(c)) * self.idf.get(t, self.unknown_idf) for t, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        return {t: x / norm for t, x in vec.items()} if norm else {}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(t, 0.0) for t, x in a.items())


_NEGATORS = {
    "not", "no", "never", "cannot", "nothing", "nobody", "neither", "nor", "without", "hardly",
    "не", "нет", "ни", "никогда", "ничего", "без", "нельзя",
}  # fmt: skip


def _is_negator(token: str) -> bool:
    return token in _NEGATORS or token.endswith("n't")


# ==== sentences and documents ============================================================

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
        self.polarity: float | None = None  # cached by _Extractor.polarity

    @classmethod
    def parse(cls, text: str) -> _Doc:
        lines = [line for line in text.splitlines() if line.strip()]
        parsed: list[tuple[str | None, str]] = []
        labels: Counter[str] = Counter()
        candidates = []
        for line in lines:
            match = _LABEL_RE.match(line)
            label = match.group(1).strip() if match and len(match.group(1).split()) <= 3 else None
            candidates.append((label, match.group(2) if label else _TIMESTAMP_RE.sub("", line)))
            if label:
                labels[_norm(label)] += 1
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
        return _Doc(
            [_make_sentence(i, s.text, s.speaker, s.role) for i, s in enumerate(sentences)],
            detect_language(" ".join(s.text for s in sentences), self.language),
        )

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


# ==== lexicon ============================================================================


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
    words, prefixes, phrases = set(), [], {}
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
    hits = []
    for i, stem in enumerate(sentence.token_stems):
        if stem and stem in stems:
            hits.append((i, any(_is_negator(t) for t in sentence.window(i))))
    return hits


# ==== entity patterns ====================================================================

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_SPOKEN_EMAIL_RE = re.compile(
    r"\b([a-z0-9]+(?:\s+(?:dot|точка)\s+[a-z0-9]+)*)\s+(?:at|собака)\s+([a-z0-9-]+(?:\s+(?:dot|точка)\s+[a-z]{2,})+)\b",
    re.I,
)


def _undot(spoken: str) -> str:
    return re.sub(r"\s+(?:dot|точка)\s+", ".", spoken, flags=re.I)


_PHONE_RE = re.compile(r"(?<![\w+(])(?:\+|\()?\d(?:[ ().-]{0,2}\d){6,14}(?!\w)")
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"]+|\bwww\.[^\s<>\"]+", re.I)
_MONTHS_EN = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTHS_RU = r"(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
_WEEKDAYS = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|понедельник|вторник|сред[ау]|четверг|"
    r"пятниц[ау]|суббот[ау]|воскресенье)"
)
_DATE_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b"
    r"|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"
    rf"|\b{_MONTHS_EN}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS_EN}\b(?:,?\s+\d{{4}})?"
    rf"|\b\d{{1,2}}\s+{_MONTHS_RU}(?:\s+\d{{4}})?"
    rf"|\b(?:(?:next|this|on|coming)\s+)?{_WEEKDAYS}\b"
    r"|\b(?:the\s+day\s+after\s+tomorrow|tomorrow|today|tonight|next\s+week|next\s+month|"
    r"послезавтра|завтра|сегодня|на\s+следующей\s+неделе)\b",
    re.I,
)
_TIME_RE = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)|\b\d{1,2}:\d{2}\b|\bnoon\b|\bmidnight\b"
    r"|\bв\s+\d{1,2}(?::\d{2})?\s*(?:час(?:а|ов)?|утра|вечера|дня)?",
    re.I,
)
_ID_RE = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,}(?![\w-])")
_NUMBER_RE = re.compile(r"(?<![\w.,])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:[.,]\d+)?(?:st|nd|rd|th)?(?![\w])")
_CURRENCY_SIGNS = "$€£₽¥"
_CURRENCY_WORDS = {"dollar", "dollars", "usd", "euro", "euros", "eur", "pound", "pounds", "gbp", "rub", "руб",
                   "рубль", "рубля", "рублей", "долларов", "доллара", "евро", "bucks"}  # fmt: skip

_NUM_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "dozen": 12,
    "ноль": 0, "один": 1, "одна": 1, "одно": 1, "одного": 1, "одной": 1, "одну": 1, "два": 2, "две": 2,
    "двух": 2, "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6,
    "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10,
    "десяти": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19,
}  # fmt: skip
_TENS_WORDS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
    "семьдесят": 70, "восемьдесят": 80, "девяносто": 90, "сто": 100, "двести": 200, "триста": 300,
    "четыреста": 400, "пятьсот": 500,
}  # fmt: skip
_ORDINAL_WORDS = {
    "once": 1, "twice": 2, "thrice": 3, "first": 1, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "дважды": 2, "трижды": 3, "второй": 2, "третий": 3,
    "третий": 3, "четвертый": 4, "пятый": 5, "второй": 2,
}  # fmt: skip
_SCALE_WORDS = {"hundred": 100, "thousand": 1000, "тысяча": 1000, "тысячи": 1000, "тысяч": 1000}


@dataclass
class _Number:
    value: float
    position: int  # token index in its sentence
    unit: str  # the next token, lowercase ("" if none)
    currency: bool


def _token_index(sentence_text: str, char_pos: int) -> int:
    return len(_TOKEN_RE.findall(sentence_text[:char_pos]))


def _blocked_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for regex in (_EMAIL_RE, _URL_RE, _PHONE_RE, _DATE_RE, _TIME_RE):
        spans += [m.span() for m in regex.finditer(text)]
    spans += [m.span() for m in _ID_RE.finditer(text) if re.search(r"[A-Za-z]", m.group())]
    return spans


def _numbers(sentence: _Sentence) -> list[_Number]:
    """Numbers in a sentence (digits and number words), not those inside phones, dates, times or ids."""
    text = sentence.text
    blocked = _blocked_spans(text)
    found: list[_Number] = []
    for m in _NUMBER_RE.finditer(text):
        if any(a <= m.start() < b for a, b in blocked):
            continue
        raw = re.sub(r"(st|nd|rd|th)$", "", m.group()).replace("−", "-")
        if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
            raw = raw.replace(",", "")
        raw = raw.replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            continue
        if not math.isfinite(value) or abs(value) > 1e15:
            continue
        pos = _token_index(text, m.start())
        before = text[: m.start()].rstrip()[-1:]
        unit = sentence.tokens[pos + 1] if pos + 1 < len(sentence.tokens) else ""
        after = text[m.end() : m.end() + 2].strip()[:1]
        if after == "%":
            unit = "%"
        currency = bool(before and before in _CURRENCY_SIGNS) or unit in _CURRENCY_WORDS
        found.append(_Number(value, pos, unit, currency))
    tokens = sentence.tokens
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _NUM_WORDS or t in _TENS_WORDS:
            start, total, current = i, 0, 0
            while i < len(tokens):
                t = tokens[i]
                if t in _TENS_WORDS:
                    current += _TENS_WORDS[t]
                elif t in _NUM_WORDS and (current == 0 or current % 10 == 0):
                    current += _NUM_WORDS[t]
                elif t in _SCALE_WORDS and (current or total):
                    if _SCALE_WORDS[t] == 100:
                        current = max(current, 1) * 100
                    else:
                        total += max(current, 1) * _SCALE_WORDS[t]
                        current = 0
                elif (
                    t in ("and", "и")
                    and i + 1 < len(tokens)
                    and (tokens[i + 1] in _NUM_WORDS or tokens[i + 1] in _TENS_WORDS)
                    and current >= 100
                ):  # noqa: E501
                    pass
                else:
                    break
                i += 1
            unit = tokens[i] if i < len(tokens) else ""
            found.append(_Number(float(total + current), start, unit, unit in _CURRENCY_WORDS))
            continue
        if t in _ORDINAL_WORDS:
            unit = tokens[i + 1] if i + 1 < len(tokens) else ""
            found.append(_Number(float(_ORDINAL_WORDS[t]), i, unit, False))
        i += 1
    found.sort(key=lambda n: n.position)
    return found


_TITLE = r"(?i:(?:mr|mrs|ms|miss|dr)\.?\s+)"
_NAME_EN = r"((?:[A-Z][a-z'’-]+)(?:\s+[A-Z][a-z'’-]+){0,2})"
_NAME_RU = r"([А-ЯЁ][а-яё-]+(?:\s+[А-ЯЁ][а-яё-]+){0,2})"
# (pattern, whose name: "self" = the speaker's, "other" = the listener's, None = unknown)
_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"(?i:\b(?:my name is|my name's|name is|name's|this is|i am|i'm|it's|call me|"
                r"you're speaking (?:to|with)|you are speaking (?:to|with)))\s+" + _TITLE + "?" + _NAME_EN), "self"),
    (re.compile(r"(?i:\b(?:is this|am i speaking (?:to|with)|i'm speaking (?:to|with)|thank you,?|thanks,?|"
                r"hi,?|hello,?|dear|mister|madam))\s+" + _TITLE + "?" + _NAME_EN), "other"),
    (re.compile(r"(?<![\w.])" + _TITLE + _NAME_EN), None),
    (re.compile(r"(?i:(?<![а-яё])(?:меня зовут|мое имя|моё имя|с вами говорит|говорит|на связи|это|я))\s+" + _NAME_RU),
     "self"),
    (re.compile(r"(?i:(?<![а-яё])(?:спасибо,?|здравствуйте,?|добрый день,?|уважаемый|уважаемая))\s+" + _NAME_RU),
     "other"),
)  # fmt: skip
_STRONG_INTRO = ("name", "зовут", "имя", "speaking", "говорит")
_NOT_NAMES = {
    "i", "hello", "hi", "hey", "sorry", "thanks", "thank", "yes", "no", "okay", "ok", "well", "here", "just", "not",
    "good", "great", "fine", "sure", "calling", "the", "a", "an", "it", "that", "this", "so", "and", "but",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "today",
    "tomorrow", "здравствуйте", "добрый", "спасибо", "да", "нет", "хорошо", "конечно", "понедельник",
    "mr", "mrs", "ms", "dr", "there", "everyone", "all", "again", "sir", "madam", "team",
}  # fmt: skip
_NAME_SPEAKING = re.compile(r"(?<![\w-])([A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?),?\s+(?:speaking|here)\b")


def _names_in(sentence: _Sentence) -> list[tuple[str, bool, str | None]]:
    """Person names in a sentence: (name, explicitly introduced, whose: "self"/"other"/None)."""
    out: list[tuple[str, bool, str | None]] = []
    seen: set[tuple[int, int]] = set()
    for m in _NAME_SPEAKING.finditer(sentence.text):
        words = [w for w in m.group(1).split() if _norm(w) not in _NOT_NAMES]
        if words and m.start(1) > 0:  # not "Here's…"/"Speaking of…" at the start of a sentence
            out.append((" ".join(words), True, "self"))
            seen.add(m.span(1))
    for regex, whose in _NAME_PATTERNS:
        for m in regex.finditer(sentence.text):
            if any(a <= m.start(1) < b for a, b in seen):
                continue
            words = m.group(1).split()
            while words and _norm(words[-1]) in _NOT_NAMES:
                words.pop()
            if not words or _norm(words[0]) in _NOT_NAMES:
                continue
            intro = m.group(0)[: m.start(1) - m.start(0)].lower()
            after = sentence.text[m.end(1) :].lstrip(" ,").lower()
            strong = any(w in intro for w in _STRONG_INTRO) or after.startswith(("speaking", "here", "на связи"))
            out.append((" ".join(words), strong, whose))
            seen.add(m.span(1))
    return out


_ORG_WORDS = {"company", "organization", "organisation", "business", "employer", "firm", "brand", "vendor", "provider",
              "competitor", "bank", "clinic", "компания", "организация", "банк", "фирма"}  # fmt: skip
_ORG_EN = re.compile(r"\b(?:from|at|with|for|of|calling|called|to|join|joined|switch to|use|using)\s+"
                     r"((?:[A-Z][\w&'’.-]*)(?:\s+(?:[A-Z][\w&'’.-]*|&))*)")  # fmt: skip
_ORG_RU = re.compile(r"«([^»]{2,40})»|(?<![а-яё])(?:компани[яиюей]|банк[аеу]?|фирм[аыеу]|организаци[яиюей])\s+"
                     r"([А-ЯЁA-Z][\w-]+(?:\s+[А-ЯЁA-Z][\w-]+)*)")  # fmt: skip


def _organizations_in(sentence: _Sentence) -> list[str]:
    """Capitalised names after "from/at/with/calling…", or in «quotes» (not person names or days)."""
    people = {name for name, _, _ in _names_in(sentence)}
    out = []
    for m in _ORG_EN.finditer(sentence.text):
        words = m.group(1).rstrip(".,").split()
        while words and (_norm(words[-1].rstrip(".")) in _NOT_NAMES or words[-1] == "&"):
            words.pop()
        name = " ".join(words)
        if words and _norm(words[0].rstrip(".")) not in _NOT_NAMES and name not in people:
            out.append(name)
    for m in _ORG_RU.finditer(sentence.text):
        name = (m.group(1) or m.group(2) or "").strip()
        if name and name not in people:
            out.append(name)
    return out


# ==== offline engine =====================================================================

_GREETINGS = {"hello", "hi", "hey", "hiya", "greetings", "howdy", "hallo", "здравствуйте", "здравствуй", "привет",
              "приветствую", "алло", "здрасте"}  # fmt: skip
_GREETING_PHRASES = ("good morning", "good afternoon", "good evening", "good day", "добрый день", "доброе утро",
                     "добрый вечер", "доброй ночи")  # fmt: skip
_THANKS = {"thanks", "thank", "thx", "cheers", "спасибо", "благодарю"}
_BYES = {"bye", "goodbye", "farewell", "свидания", "пока"}
_SOCIAL = (
    _GREETINGS | _THANKS | _BYES
    | {"good", "morning", "afternoon", "evening", "day", "night", "there", "everyone", "much", "lot", "you",
       "добрый", "доброе", "день", "утро", "вечер", "ночи", "большое", "всего", "доброго", "до", "see", "later",
       "again", "so", "very"}
)  # fmt: skip
_SOCIAL_STEMS = frozenset(_stem(w) for w in _SOCIAL)
_HUMAN_WORDS = {"human", "operator", "representative", "оператор", "оператора", "оператором", "человеком",
                "специалист", "специалиста", "специалистом"}  # fmt: skip
_HUMAN_PHRASES = ("real person", "live agent", "live person", "talk to someone", "speak to someone",
                  "speak to a person", "talk to a person", "speak with a person", "живым человеком", "живой человек")  # fmt: skip
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

_BULLET_RE = re.compile(r"^\s*(?:[-*•·–—]|\d{1,3}[.)])\s+")
_Q_RE = re.compile(r"^(?:(?:q|в)\s*\d*\s*[:)]|(?:question|вопрос)\s*\d*\s*[:.\-–—])\s*", re.I)
_A_RE = re.compile(r"^(?:(?:a|о)\s*\d*\s*[:)]|(?:answer|ответ)\s*\d*\s*[:.\-–—])\s*", re.I)
_INLINE_QA_RE = re.compile(r"^(.+?)\s+(?:a|answer|о|ответ)\s*[:)]\s*(.+)$", re.I)
_QMARK_RE = re.compile(r"^(.{3,}?\?)\s+(\S.*)$")
_SEPARATOR_RE = re.compile(r"^(.{3,}?)\s+(?:->|=>|\||—)\s+(.+)$")
_INSTRUCTION_RE = re.compile(
    r"^(?:you are|you're|your (?:role|task|job|name|goal)|act as|as an? |answer|respond|reply|always|never|"
    r"do not|don't|be |keep|use |speak|talk|only|if you|if the (?:user|caller|customer)|if asked|"
    r"when the (?:user|caller|customer)|ты |вы |твоя |ваша |отвечай|отвечайте|всегда|никогда|не |будь|будьте|"
    r"используй|говори|если пользователь|если клиент|если вас|если тебя)",
    re.I,
)
_KNOWLEDGE_HEADERS = ("knowledge", "faq", "facts", "context", "information", "info", "reference", "documents",
                      "snippets", "sources", "база знаний", "справка", "информация", "контекст", "факты",
                      "вопросы и ответы", "частые вопросы", "знания")  # fmt: skip
_INSTRUCTION_HEADERS = ("instructions", "rules", "guidelines", "style", "persona", "tone", "инструкции", "правила",
                        "стиль", "роль")  # fmt: skip


@dataclass
class _Snippet:
    match_text: str  # what the query is compared with (question twice + answer)
    answer: str
    language: str


def _section_named(heading: str) -> str | None:
    """``"knowledge"`` or ``"instructions"`` for a lower-cased heading that names one, else None."""
    if any(heading.startswith(h) or heading.endswith(h) for h in _KNOWLEDGE_HEADERS):
        return "knowledge"
    if any(heading.startswith(h) or heading.endswith(h) for h in _INSTRUCTION_HEADERS):
        return "instructions"
    return None


def _knowledge(system: str) -> list[_Snippet]:
    """Knowledge lines of the system prompt(s): FAQ pairs, ``question? answer`` lines, facts.

    Instruction lines ("You are…", "Answer briefly", "Отвечай…") and headers are skipped; after a
    ``Knowledge:``/``FAQ:``/``Context:`` header every line counts as knowledge.
    """
    snippets: list[_Snippet] = []
    section = "neutral"
    pending_q: str | None = None
    last_pair: _Snippet | None = None
    heading = ""

    def add(question: str, answer: str) -> _Snippet:
        # A Markdown heading above a fact is its topic: matched on, never answered with.
        snippet = _Snippet(f"{heading} {question} {question} {answer}", answer.strip(),
                           detect_language(answer or question))
        snippets.append(snippet)
        return snippet

    for raw in system.splitlines():
        line = _BULLET_RE.sub("", raw).strip()
        if not line:
            pending_q, last_pair = None, None
            continue
        markdown = re.match(r"^#{1,6}\s+(.*?)\s*#*$", line)
        if markdown:
            heading = markdown.group(1).rstrip(":").strip()
            section = _section_named(heading.lower()) or section
            pending_q, last_pair = None, None
            continue
        low = line.lower().rstrip(":").strip()
        if line.endswith(":") and len(line.split()) <= 5:
            section = _section_named(low) or section
            pending_q, last_pair = None, None
            continue
        if _Q_RE.match(line):
            body = _Q_RE.sub("", line)
            inline = _INLINE_QA_RE.match(body)
            if inline:
                last_pair, pending_q = add(inline.group(1), inline.group(2)), None
            else:
                pending_q, last_pair = body, None
            continue
        if _A_RE.match(line) and pending_q:
            last_pair, pending_q = add(pending_q, _A_RE.sub("", line)), None
            continue
        bullet = bool(_BULLET_RE.match(raw))
        if last_pair is not None and not bullet and not re.search(r"[.!?…]$", last_pair.answer):
            last_pair.answer += " " + line  # a wrapped answer continues on the next line
            last_pair.match_text += " " + line
            continue
        last_pair = None
        if section == "instructions":
            continue
        qmark = _QMARK_RE.match(line)
        if qmark:
            add(qmark.group(1), qmark.group(2))
            continue
        sep = _SEPARATOR_RE.match(line)
        if sep:
            add(sep.group(1), line)
            continue
        for sentence in _split_sentences(line):
            if section != "knowledge" and _INSTRUCTION_RE.match(sentence):
                continue
            add("", sentence)
    return snippets


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
        errors = sorted(validator.iter_errors(result), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
            raise LLMError(f"{self.name} could not satisfy the schema at {where}: {errors[0].message}")
        return result

    # ---- chat ---------------------------------------------------------------------------

    def reply(self, messages: Sequence[ChatMessage]) -> str:
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
        answer = self._retrieve(query, _knowledge(system), lang)
        if answer:
            return phrases["greet_prefix"] + answer if greeting else answer
        if not content and greeting:
            return phrases["greet"]
        return phrases["unknown"]

    @staticmethod
    def _retrieve(query: str, snippets: list[_Snippet], lang: str) -> str | None:
        """The best snippet's answer by TF-IDF cosine (at least one shared stem), or None."""
        query_stems = [s for s in _content_stems(_tokens(query)) if s not in _SOCIAL_STEMS]
        if not query_stems or not snippets:
            return None
        pool = [s for s in snippets if s.language == lang] or snippets
        docs = [_content_stems(_tokens(s.match_text)) for s in pool]
        tfidf = _Tfidf(docs)
        qvec = tfidf.vector(query_stems)
        best, best_score = None, 0.0
        for snippet, doc in zip(pool, docs):
            if not set(doc) & set(query_stems):
                continue
            score = _cosine(qvec, tfidf.vector(doc))
            if score > best_score + 1e-12:
                best, best_score = snippet, score
        return best.answer if best is not None and best_score >= 0.1 else None


# ==== extraction =========================================================================

_SUMMARY_WORDS = {"summary", "summarize", "summarise", "synopsis", "overview", "recap", "abstract", "gist", "tldr",
                  "резюме", "итог", "сводка", "кратко"}  # fmt: skip
_KEYWORD_WORDS = {"keyword", "tag", "topic", "theme", "term", "entity", "label", "ключевой", "тег", "тема",
                  "ключевые", "теги", "темы"}  # fmt: skip
_PERSON_WORDS = {"name", "full", "first", "last", "given", "family", "surname", "customer", "caller", "client",
                 "prospect", "lead", "buyer", "member", "owner", "speaker", "sales", "sale", "salesperson", "seller", "doctor",
                 "recipient", "sender", "applicant", "candidate", "tenant", "driver", "passenger", "student", "фио",
                 "agent", "contact", "patient", "person", "user", "operator", "representative", "rep", "guest",
                 "имя", "фамилия", "фио", "клиент", "оператор"}  # fmt: skip
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
_CATCH_ALL = {"other", "unknown", "none", "n/a", "na", "unclear", "not_applicable", "not applicable", "neutral",
              "другое", "неизвестно", "нет"}  # fmt: skip
_POSITIVE_LABELS = {"positive", "pos", "happy", "satisfied", "good", "pleased", "позитивный", "положительный",
                    "позитив", "довольный"}  # fmt: skip
_NEGATIVE_LABELS = {"negative", "neg", "angry", "frustrated", "unhappy", "dissatisfied", "bad", "upset",
                    "негативный", "отрицательный", "негатив", "недовольный"}  # fmt: skip
_NEUTRAL_LABELS = {"neutral", "mixed", "нейтральный", "нейтрально", "смешанный"}
_MAX_DEPTH = 12
_OTHER_ROLE = {"agent": "customer", "customer": "agent"}
_GENERIC_STEMS = frozenset(
    _stem(w) for w in ("customer", "caller", "client", "agent", "call", "whether", "true", "false", "flag", "boolean",
                       "indicate", "indicates", "value", "field", "клиент", "звонок", "ли")
)  # fmt: skip


def _wants(words: Sequence[str], vocabulary: set[str]) -> bool:
    return bool(set(words) & vocabulary)


@dataclass
class _Prop:
    """What a property name/description asks for."""

    name: str
    path: tuple[str, ...]
    words: list[str]  # name words, singular
    path_words: set[str]
    stems: set[str]  # content stems of name + description + title
    concepts: list[_Concept] = field(default_factory=list)
    fmt: str | None = None
    desc_stems: set[str] = field(default_factory=set)  # content stems of the description + title only

    @property
    def role(self) -> str | None:
        if self.path_words & (_AGENT_LABELS | {"agent", "operator"}):
            return "agent"
        if self.path_words & _CUSTOMER_LABELS:
            return "customer"
        return None


class _Extractor:
    def __init__(self, text: str, schema: Mapping[str, Any]) -> None:
        self.doc = _Doc.parse(text)
        self.schemas = _Schemas(schema)
        self.root = schema

    def extract(self) -> dict:
        value = self.value(self.root, _Prop("", (), [], set(), set()), self.doc, 0)
        return value if isinstance(value, dict) else {}

    # ---- dispatch -----------------------------------------------------------------------

    def prop(self, name: str, schema: Mapping[str, Any], parent: _Prop) -> _Prop:
        words = _name_words(name)
        described = " ".join(str(schema.get(k, "")) for k in ("description", "title") if isinstance(schema.get(k), str))
        desc_stems = set(_content_stems(_tokens(described)))
        stems = set(_content_stems(words)) | desc_stems
        path_words = set(parent.path_words) | set(words)
        concepts = _concepts_for(set(_content_stems(words)) | set(_stem(w) for w in words)) or _concepts_for(stems)
        fmt = schema.get("format") if isinstance(schema.get("format"), str) else None
        return _Prop(name, parent.path + (name,), words, path_words, stems, concepts, fmt, desc_stems)

    def value(self, schema: Any, prop: _Prop, doc: _Doc, depth: int) -> Any:
        schema = self.schemas.resolve(schema)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.enum(schema, prop, doc)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                ordered = sorted(branches, key=lambda b: self.schemas.resolve(b).get("type") == "null")
                for branch in ordered:
                    merged = {**base, **self.schemas.resolve(branch)}
                    candidate = self.value(merged, prop, doc, depth + 1)
                    if self.schemas.valid(candidate, schema):
                        return candidate
                return self.value({**base, **self.schemas.resolve(ordered[0])}, prop, doc, depth + 1)
        kind = self.kind(schema)
        if kind == "null":
            return None
        if depth > _MAX_DEPTH:
            return {"object": {}, "array": [], "string": "", "boolean": False}.get(kind, 0)
        if kind == "object":
            return self.object(schema, prop, doc, depth)
        if kind == "array":
            return self.array(schema, prop, doc, depth)
        if kind == "boolean":
            return self.boolean(prop, doc)
        if kind in ("number", "integer"):
            return self.number(schema, prop, doc, integer=kind == "integer")
        return self.string(schema, prop, doc)

    @staticmethod
    def kind(schema: Mapping[str, Any]) -> str:
        types = schema.get("type")
        if isinstance(types, str):
            return types
        if isinstance(types, list) and types:
            non_null = [t for t in types if t != "null"]
            return non_null[0] if non_null else "null"
        if "properties" in schema or "required" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "minItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
            return "number"
        return "string"

    # ---- objects ------------------------------------------------------------------------

    def object(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc, depth: int) -> dict:
        out: dict[str, Any] = {}
        properties = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
        for key, sub in properties.items():
            out[key] = self.value(sub, self.prop(key, self.schemas.resolve(sub), prop), doc, depth + 1)
        extra = schema.get("additionalProperties")
        for key in schema.get("required") or []:
            if key not in out:
                sub = extra if isinstance(extra, Mapping) else {"type": "string"}
                out[key] = self.value(sub, self.prop(key, self.schemas.resolve(sub), prop), doc, depth + 1)
        return out

    # ---- booleans -----------------------------------------------------------------------

    def boolean(self, prop: _Prop, doc: _Doc) -> bool:
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

    # ---- polarity -----------------------------------------------------------------------

    def polarity(self, doc: _Doc) -> float:
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

    # ---- enums --------------------------------------------------------------------------

    def enum(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc) -> Any:
        values = list(schema["enum"])
        strings = [v for v in values if isinstance(v, str)]
        if strings:
            lowered = {_norm(v).replace("_", " ").replace("-", " "): v for v in strings}
            sentiment_like = prop.path_words & {"sentiment", "mood", "tone", "emotion", "настроение", "тональность"}
            classes = [set(lowered) & labels for labels in (_POSITIVE_LABELS, _NEGATIVE_LABELS, _NEUTRAL_LABELS)]
            if sentiment_like or sum(1 for c in classes if c) >= 2:
                p = self.polarity(doc)
                order = [0] if p > 0.2 else [1] if p < -0.2 else [2]
                for idx in order:
                    if classes[idx]:
                        return lowered[sorted(classes[idx], key=lambda v: strings.index(lowered[v]))[0]]
            scores = [self.enum_score(v, doc) for v in strings]
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
            guess = self.boolean(prop, doc)
            return guess if guess in bools else bools[0]
        return copy.deepcopy(values[0])

    def enum_score(self, value: str, doc: _Doc) -> float:
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

    # ---- numbers ------------------------------------------------------------------------

    def number(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc, *, integer: bool) -> int | float:
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
        for s, vec in zip(doc.sentences, doc.vectors):
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
            p = self.polarity(doc)
            lo, hi = _bounds(schema, integer)
            if lo is not None and hi is not None:
                value = lo + (hi - lo) * (p + 1) / 2
            elif "sentiment" in words:
                value = p
            else:
                value = 3 + 2 * p  # a 1-5 scale
        return _fit_number(0 if value is None else value, schema, integer)

    # ---- strings ------------------------------------------------------------------------

    def string(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc) -> str:
        result = _fit_string(self.string_value(prop, doc), schema, doc)
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _search(pattern, result):
            result = _pattern_match(pattern, doc) or result
        return result

    def string_kind(self, prop: _Prop) -> str:
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
            words, {"date", "day", "when", "time", "datetime", "deadline", "birthday", "dob", "slot", "дата", "время", "due",
                    "когда", "timestamp"}  # fmt: skip
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
        if _wants(words, _ID_WORDS) and (len(words) == 1 or _wants(words, _ID_NOUNS) or words[-1] in _ID_WORDS):
            if not _wants(words, {"count", "total", "amount"}):
                return "identifier"
        if _wants(words, _SUMMARY_WORDS) or prop.stems & {_stem(w) for w in ("summary", "summarize", "summarise")}:
            return "summary"
        return "text"

    def string_value(self, prop: _Prop, doc: _Doc) -> str:
        kind = self.string_kind(prop)
        if kind == "summary":
            return self.summary(doc)
        if kind == "language":
            return doc.language
        if kind == "text":
            best = self.related(prop, doc, limit=1)
            return best[0].text if best else ""
        found = self.entities(kind, prop, doc)
        return found[0] if found else ""

    def entities(self, kind: str, prop: _Prop, doc: _Doc) -> list[str]:
        """Every ``kind`` entity in ``doc``, best first (for scalars) — deduplicated."""
        ranked: list[tuple[float, str]] = []
        relation = self.relations(prop, doc)
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
                    owner = s.role if whose == "self" else _OTHER_ROLE.get(s.role) if whose == "other" else None
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
                ranked += self.identifiers(s, prop, relation[s.index])
            elif kind == "date":
                ranked += self.dates(s, prop, relation[s.index], late)
        ranked.sort(key=lambda r: -r[0])
        out: list[str] = []
        for _, value in ranked:
            if kind == "name":
                value = self.name_part(value, prop)
            if value and value not in out:
                out.append(value)
        return out

    @staticmethod
    def name_part(name: str, prop: _Prop) -> str:
        parts = name.split()
        if _wants(prop.words, {"first", "given"}):
            return parts[0]
        if _wants(prop.words, {"last", "family", "surname", "фамилия"}):
            return parts[-1] if len(parts) > 1 else ""
        return name

    @staticmethod
    def identifiers(s: _Sentence, prop: _Prop, relation: float) -> list[tuple[float, str]]:
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

    @staticmethod
    def dates(s: _Sentence, prop: _Prop, relation: float, late: float) -> list[tuple[float, str]]:
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

    def relations(self, prop: _Prop, doc: _Doc) -> list[float]:
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
        for s, svec in zip(doc.sentences, doc.vectors):
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

    def related(self, prop: _Prop, doc: _Doc, limit: int, questions_only: bool = False) -> list[_Sentence]:
        """Up to ``limit`` sentences related to the property, best first (none if nothing relates)."""
        relation = self.relations(prop, doc)
        ranked = sorted(
            (i for i, s in enumerate(doc.sentences) if relation[i] > 0.05 and s.stems and (s.question or not questions_only)),
            key=lambda i: (-relation[i], i),
        )  # fmt: skip
        return [doc.sentences[i] for i in ranked[:limit]]

    def summary(self, doc: _Doc) -> str:
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

    def keywords(self, doc: _Doc, limit: int) -> list[str]:
        """The most distinctive content words, surface forms: frequency x IDF x word length, skipping
        names, speaker labels, pleasantries and common verbs; customer sentences count double."""
        weights: Counter[str] = Counter()
        surface: dict[str, Counter[str]] = {}
        skip = _SOCIAL_STEMS | {_stem(w) for w in _KEYWORD_STOP}
        names = {_norm(w) for s in doc.sentences for name, _, _ in _names_in(s) for w in name.split()}
        labels = {_norm(s.speaker) for s in doc.sentences if s.speaker}
        for s in doc.sentences:
            factor = 2.0 if s.role == "customer" else 1.0
            hidden = set(_tokens(" ".join(_EMAIL_RE.findall(s.text) + _URL_RE.findall(s.text))))
            for token, stem in zip(s.tokens, s.token_stems):
                if not stem or stem in skip or token in names or token in labels or len(token) < 3 or token in hidden:
                    continue
                if any(c.isdigit() for c in token):
                    continue
                surface.setdefault(stem, Counter())[token] += 1
                weights[stem] += factor * doc.tfidf.idf.get(stem, 1.0) * min(len(token), 10) / 10
        ranked = sorted(weights, key=lambda t: (-weights[t], t))
        return [surface[t].most_common(1)[0][0] for t in ranked[:limit]]

    # ---- arrays -------------------------------------------------------------------------

    def array(self, schema: Mapping[str, Any], prop: _Prop, doc: _Doc, depth: int) -> list:
        items_schema = schema.get("items")
        if isinstance(items_schema, list):  # draft-04..07 tuple form
            items = [self.value(s, prop, doc, depth + 1) for s in items_schema]
            return self.fit_items(items, {}, schema, prop, doc, depth)
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        head = [self.value(s, prop, doc, depth + 1) for s in prefix]
        items_schema = self.schemas.resolve(items_schema if isinstance(items_schema, Mapping) else {})
        limit = schema.get("maxItems")
        cap = max(0, min(5, limit - len(head))) if isinstance(limit, int) else 5
        kind = self.kind(items_schema) if items_schema else "string"
        item_prop = prop
        values: list[Any] = []
        if isinstance(items_schema.get("enum"), list) and items_schema["enum"]:
            strings = [v for v in items_schema["enum"] if isinstance(v, str)]
            scored = [(self.enum_score(v, doc), i, v) for i, v in enumerate(strings)]
            values = [v for score, _, v in sorted(scored, key=lambda x: (-x[0], x[1])) if score > 0][:cap]
        elif "const" in items_schema:
            values = []
        elif kind == "string":
            values = self.string_items(item_prop, doc, cap)
            values = [_fit_string(v, items_schema, doc) for v in values]
        elif kind in ("number", "integer"):
            related = self.related(prop, doc, limit=len(doc.sentences)) if doc.sentences else []
            source = related or doc.sentences
            nums = [n.value for s in sorted(source, key=lambda s: s.index) for n in _numbers(s)]
            values = [_fit_number(v, items_schema, kind == "integer") for v in nums][:cap]
        elif kind == "object":
            sentences = self.related(prop, doc, limit=min(cap, 3))
            values = [
                self.value(items_schema, item_prop, doc.sub([s]), depth + 1)
                for s in sorted(sentences, key=lambda s: s.index)
            ]
        elif kind == "boolean":
            values = []
        return self.fit_items(head + values, items_schema, schema, prop, doc, depth)

    def string_items(self, prop: _Prop, doc: _Doc, cap: int) -> list[str]:
        kind = self.string_kind(prop)
        if kind in ("email", "phone", "url", "name", "identifier", "date", "organization"):
            return self.entities(kind, prop, doc)[:cap]
        if kind == "language":
            return [doc.language]
        if _wants(prop.words, _KEYWORD_WORDS):
            return self.keywords(doc, cap)
        questions_only = _wants(prop.words, {"question", "вопрос"})
        sentences = self.related(prop, doc, limit=cap, questions_only=questions_only)
        if not sentences and questions_only:
            sentences = [s for s in doc.sentences if s.question][:cap]
        return [s.text for s in sorted(sentences, key=lambda s: s.index)]

    def fit_items(self, items: list, items_schema: Mapping[str, Any], schema: Mapping[str, Any], prop: _Prop,
                  doc: _Doc, depth: int) -> list:  # fmt: skip
        """Apply uniqueItems, maxItems and minItems (padding with further values from the text)."""
        unique = schema.get("uniqueItems") is True
        if unique:
            items = _dedupe(items)
        hi = schema.get("maxItems")
        if isinstance(hi, int):
            items = items[:hi]
        lo = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 0
        if len(items) < lo:
            for candidate in self.variants(items_schema, prop, doc, depth):
                if len(items) >= lo:
                    break
                if items_schema and not self.schemas.valid(candidate, items_schema):
                    continue
                if not unique:  # repeats are allowed: the best value fills the rest
                    items.extend(copy.deepcopy(candidate) for _ in range(lo - len(items)))
                    break
                if not any(_json_equal(candidate, i) for i in items):
                    items.append(candidate)
        return items

    def variants(self, items_schema: Mapping[str, Any], prop: _Prop, doc: _Doc, depth: int) -> Iterable[Any]:
        """Candidate items for padding: from the whole text, from each sentence, then synthetic ones."""
        yield self.value(items_schema, prop, doc, depth + 1)
        for s in doc.sentences[:20]:
            yield self.value(items_schema, prop, doc.sub([s]), depth + 1)
        resolved = self.schemas.resolve(items_schema)
        kind = self.kind(resolved) if resolved else "string"
        if isinstance(resolved.get("enum"), list):
            yield from (copy.deepcopy(v) for v in resolved["enum"])
        elif kind == "boolean":
            yield from (False, True)
        elif kind in ("number", "integer"):
            lo, _ = _bounds(resolved, kind == "integer")
            step = resolved.get("multipleOf") or 1
            start = lo if lo is not None else 0
            for i in range(50):
                yield _fit_number(start + i * step, resolved, kind == "integer")
        elif kind == "string":
            for i in range(1, 50):
                yield _fit_string(f"item {i}", resolved, doc)
        elif kind == "array":
            yield []


# ==== value fitting ======================================================================


def _bounds(schema: Mapping[str, Any], integer: bool) -> tuple[float | None, float | None]:
    """Inclusive (lo, hi) from minimum/maximum/exclusive*; integers get integer bounds."""

    def num(key: str) -> float | None:
        v = schema.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    lo, hi = num("minimum"), num("maximum")
    ex_lo, ex_hi = num("exclusiveMinimum"), num("exclusiveMaximum")
    if schema.get("exclusiveMinimum") is True and lo is not None:  # draft-04 boolean form
        ex_lo, lo = lo, None
    if schema.get("exclusiveMaximum") is True and hi is not None:
        ex_hi, hi = hi, None
    if integer:
        lows = [math.ceil(lo)] if lo is not None else []
        lows += [math.floor(ex_lo) + 1] if ex_lo is not None else []
        highs = [math.floor(hi)] if hi is not None else []
        highs += [math.ceil(ex_hi) - 1] if ex_hi is not None else []
        return (max(lows) if lows else None), (min(highs) if highs else None)
    low = lo
    if ex_lo is not None:
        high_ref = hi if hi is not None else ex_hi
        nudge = (high_ref - ex_lo) / 2 if high_ref is not None and high_ref > ex_lo else 1.0
        low = max(low, ex_lo + min(nudge, 1.0)) if low is not None else ex_lo + min(nudge, 1.0)
    high = hi
    if ex_hi is not None:
        low_ref = lo if lo is not None else ex_lo
        nudge = (ex_hi - low_ref) / 2 if low_ref is not None and ex_hi > low_ref else 1.0
        high = min(high, ex_hi - min(nudge, 1.0)) if high is not None else ex_hi - min(nudge, 1.0)
    return low, high


def _fit_number(value: float, schema: Mapping[str, Any], integer: bool) -> int | float:
    """``value`` clamped into the schema's bounds, rounded to ``multipleOf`` and to an int if needed."""
    lo, hi = _bounds(schema, integer)
    if lo is not None and value < lo:
        value = lo
    if hi is not None and value > hi:
        value = hi
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
        k = round(value / step)
        options = [k, k + 1, k - 1, k + 2, k - 2]
        for option in options:
            candidate = option * step
            if isinstance(step, int) or float(step).is_integer():
                candidate = int(option * int(step))
            if (lo is None or candidate >= lo) and (hi is None or candidate <= hi):
                quotient = candidate / step
                if int(quotient) == quotient:
                    value = candidate
                    break
    if integer:
        return int(round(value))
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return round(value, 6) if isinstance(value, float) and not schema.get("multipleOf") else value


def _fit_string(value: str, schema: Mapping[str, Any], doc: _Doc) -> str:
    """``value`` cut to ``maxLength`` (at a word boundary when possible) and lengthened to ``minLength``
    with text from the document (or an explicit "not mentioned" note when the text is too short)."""
    lo = schema.get("minLength") if isinstance(schema.get("minLength"), int) else 0
    hi = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None
    if len(value) < lo:
        whole = doc.text.strip()
        if value and whole.startswith(value):
            value = whole
        elif len(whole) >= lo and not value:
            value = whole
        if len(value) < lo:
            note = "не упоминается" if doc.language == "ru" else "not mentioned"
            value = (value + " " if value else "") + note
            while len(value) < lo:
                value += "."
    if hi is not None and len(value) > hi:
        cut = value[:hi]
        space = cut.rfind(" ")
        if space >= max(lo, hi // 2) and space > 0:
            cut = cut[:space]
        value = cut.rstrip() if len(cut.rstrip()) >= lo else cut
    return value


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _pattern_match(pattern: str, doc: _Doc) -> str | None:
    """The first substring of the text (whole sentences first) that satisfies ``pattern``."""
    core = re.sub(r"^\^|(?<!\\)\$$", "", pattern)
    candidates = [s.text for s in doc.sentences]
    try:
        for source in candidates:
            for m in re.finditer(core, source):
                if m.group() and _search(pattern, m.group()):
                    return m.group()
    except re.error:
        return None
    return None


def _iso_date(text: str) -> str | None:
    """``YYYY-MM-DD`` for dates that carry a year, else None."""
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        return m.group(0)
    m = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if month > 12 and day <= 12:
            day, month = month, day
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    m = re.fullmatch(rf"({_MONTHS_EN})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", text, re.I)
    if m:
        return f"{int(m.group(3)):04d}-{months.index(m.group(1)[:3].lower()) + 1:02d}-{int(m.group(2)):02d}"
    m = re.fullmatch(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTHS_EN}),?\s+(\d{{4}})", text, re.I)
    if m:
        return f"{int(m.group(3)):04d}-{months.index(m.group(2)[:3].lower()) + 1:02d}-{int(m.group(1)):02d}"
    return None


def _json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b
    )  # fmt: skip


def _dedupe(items: list) -> list:
    out: list = []
    for item in items:
        if not any(_json_equal(item, o) for o in out):
            out.append(item)
    return out


# ==== OpenAI-compatible engine ===========================================================


class OpenAICompatibleLanguageModel:
    """An OpenAI-compatible chat-completions server (OpenAI, Azure OpenAI proxies, vLLM, Ollama,
    LM Studio, OpenRouter…).

    ``POST {base_url}/chat/completions`` with ``{"model", "messages": [{"role", "content"}],
    "max_tokens", "temperature"}`` and ``Authorization: Bearer <api_key>`` when a key is set
    (``base_url`` like ``https://api.openai.com/v1``). The reply is
    ``choices[0].message.content`` (a string, or a list of ``{"type": "text", "text"}`` parts).

    ``extract`` sends ``response_format: {"type": "json_object"}``, temperature 0 and the schema
    in the system prompt; the answer must be a JSON object (code fences are tolerated). Every
    property that is missing or invalid against its sub-schema — at any level of nested
    objects — is replaced by the :class:`OfflineLanguageModel` value for it (logged at INFO),
    undeclared keys are dropped, so the result is always complete and valid.

    Errors: HTTP >= 400, timeouts (``timeout`` seconds per request), transport failures, a
    body or answer that is not JSON, or an unexpected shape → :class:`LLMError`, with the key
    replaced by ``***``. ``ValueError`` for a base_url that is not http(s) or an empty model.
    ``client`` (used as is, never closed here) or ``transport`` are for tests and pooling.
    """

    name = "openai-compatible"
    generative = True
    capabilities: frozenset[str] = frozenset({"generative", "chat", "schema_extraction", "json_mode"})

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not re.match(r"^https?://[^\s/]+", base_url.strip()):
            raise ValueError("base_url must be an http(s) URL such as https://api.openai.com/v1")
        if not model or not isinstance(model, str):
            raise ValueError("model must be a non-empty model name")
        self.base_url = base_url.strip().rstrip("/")
        self.model = model
        self._api_key = api_key or None
        self._url = f"{self.base_url}/chat/completions"
        self._http = VendorClient(
            self.name, secrets=[api_key] if api_key else [], timeout=timeout, client=client, transport=transport
        )
        self._offline = OfflineLanguageModel()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OpenAICompatibleLanguageModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def chat(self, messages: list[ChatMessage], *, max_tokens: int = 400, temperature: float = 0.3) -> str:
        """The model's reply text; LLMError on any failure, ValueError on bad arguments."""
        _check_generation(max_tokens, temperature)
        payload = [{"role": m.role, "content": m.content} for m in _coerce_messages(messages)]
        return await self._complete(payload, max_tokens=max_tokens, temperature=temperature)

    async def extract(self, text: str, schema: dict, *, instructions: str = "") -> dict:
        """A complete, schema-valid object: the model's JSON, repaired per property offline."""
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        validator = _check_schema(schema)
        system = (
            (instructions.strip() + "\n\n" if instructions and instructions.strip() else "")
            + "Extract information from the user's text. Answer with ONE JSON object only (no prose, no code "
            "fences) that is valid against this JSON Schema:\n"
            + json.dumps(schema, ensure_ascii=False)
            + "\nFill EVERY property, including optional ones and those of nested objects. Derive the values from "
            "the text; when the text says nothing about a property, use false, 0, an empty string or an empty "
            "list as its type allows."
        )
        content = await self._complete(
            [{"role": "system", "content": system}, {"role": "user", "content": text}],
            max_tokens=EXTRACT_MAX_TOKENS,
            temperature=0.0,
            json_mode=True,
        )
        answer = self._parse_json(content)
        schemas = _Schemas(schema)
        offline: dict | None = None

        def fallback() -> dict:
            nonlocal offline
            if offline is None:
                offline = _Extractor(text, schema).extract()
            return offline

        repaired: list[str] = []
        result = _repair(answer, schemas.resolve(schema), schemas, fallback, (), repaired)
        if not validator.is_valid(result):
            repaired = ["(all)"]
            result = copy.deepcopy(fallback())
            if not validator.is_valid(result):
                error = next(iter(validator.iter_errors(result)))
                raise LLMError(f"{self.name}: the answer could not be made valid against the schema: {error.message}")
        if repaired:
            logger.info("%s extract: repaired %s offline", self.name, ", ".join(repaired))
        return result

    # ---- plumbing -----------------------------------------------------------------------

    async def _complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
                        json_mode: bool = False) -> str:  # fmt: skip
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await self._http.post(self._url, json_body=body, headers=headers, setting_hint=API_KEY_SETTING)
            payload = self._http.json(response)
        except VendorHTTPError as exc:
            raise LLMError(str(exc), status=exc.status, retry_after=exc.retry_after) from None
        except ProviderError as exc:
            raise LLMError(self._http.redact(str(exc))) from None
        return self._content(payload)

    def _content(self, payload: Any) -> str:
        if isinstance(payload, Mapping) and payload.get("error") and not payload.get("choices"):
            error = payload["error"]
            detail = error.get("message") if isinstance(error, Mapping) else error
            raise LLMError(self._http.redact(f"{self.name} returned an error: {str(detail)[:_EXCERPT_CHARS]}"))
        try:
            message = payload["choices"][0]["message"]
            content = message.get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(
                f"{self.name} returned an unexpected response: no choices[0].message ({type(exc).__name__})"
            ) from None
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        if content is None:
            refusal = message.get("refusal") if isinstance(message, Mapping) else None
            what = (
                f"the model refused: {str(refusal)[:_EXCERPT_CHARS]}"
                if refusal
                else "choices[0].message.content is empty"
            )
            raise LLMError(self._http.redact(f"{self.name} returned no text ({what})"))
        if not isinstance(content, str):
            raise LLMError(f"{self.name} returned an unexpected response: content is {type(content).__name__}")
        return content

    def _parse_json(self, content: str) -> dict:
        text = content.strip()
        fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S | re.I)
        if fenced:
            text = fenced.group(1)
        if not text.startswith("{") and "{" in text and "}" in text:
            text = text[text.index("{") : text.rindex("}") + 1]
        try:
            value = json.loads(text)
        except ValueError:
            excerpt = re.sub(r"\s+", " ", self._http.redact(content))[:_EXCERPT_CHARS] or "(empty)"
            raise LLMError(f"{self.name} returned text that is not JSON: {excerpt}") from None
        if not isinstance(value, dict):
            raise LLMError(f"{self.name} returned JSON that is not an object ({type(value).__name__})")
        return value


def _repair(value: Any, schema: Mapping[str, Any], schemas: _Schemas, fallback, path: tuple[str, ...],
            repaired: list[str]) -> Any:  # fmt: skip
    """``value`` with every missing/invalid property of an object schema replaced by the offline one."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
    if not isinstance(value, dict):
        repaired.append("/".join(path) or "(root)")
        return copy.deepcopy(_offline_at(fallback(), path))
    out: dict[str, Any] = {}
    keys = list(properties) + [k for k in schema.get("required") or [] if k not in properties]
    for key in keys:
        sub = schemas.resolve(properties.get(key, schema.get("additionalProperties", {})))
        here = path + (key,)
        if key in value and schemas.valid(value[key], sub):
            out[key] = value[key]
        elif key in value and isinstance(value[key], dict) and isinstance(sub.get("properties"), Mapping):
            out[key] = _repair(value[key], sub, schemas, fallback, here, repaired)
        else:
            repaired.append("/".join(here))
            out[key] = copy.deepcopy(_offline_at(fallback(), here))
    return out


def _offline_at(offline: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        offline = offline.get(key) if isinstance(offline, dict) else None
    return offline


# ==== factory ============================================================================


def language_model(
    base_url: str | None,
    api_key: str | None,
    model: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LanguageModel:
    """OpenAICompatibleLanguageModel when ``base_url`` is set (``model`` defaults to
    ``gpt-4o-mini``), else OfflineLanguageModel. Nothing is sent until a method is awaited."""
    if base_url and base_url.strip():
        return OpenAICompatibleLanguageModel(
            base_url, api_key, model or DEFAULT_MODEL, timeout=timeout, transport=transport
        )
    return OfflineLanguageModel()
