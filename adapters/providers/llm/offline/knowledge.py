"""Knowledge in a system prompt: FAQ pairs, ``question? answer`` lines and facts as snippets, and
TF-IDF retrieval of the snippet that best answers a query."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.providers.llm.offline.sentences import _split_sentences
from adapters.providers.llm.offline.text import _SOCIAL_STEMS, _content_stems, _tokens, detect_language
from adapters.providers.llm.offline.tfidf import _cosine, _Tfidf

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
    for snippet, doc in zip(pool, docs, strict=True):
        if not set(doc) & set(query_stems):
            continue
        score = _cosine(qvec, tfidf.vector(doc))
        if score > best_score + 1e-12:
            best, best_score = snippet, score
    return best.answer if best is not None and best_score >= 0.1 else None
