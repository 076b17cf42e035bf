"""Entity patterns: emails (also spoken), phones, URLs, dates and times, reference ids, person names,
organizations; ``_iso_date`` turns a date with a year into ``YYYY-MM-DD``."""

from __future__ import annotations

import re

from adapters.providers.llm.offline.sentences import _Sentence
from adapters.providers.llm.offline.text import _norm

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
