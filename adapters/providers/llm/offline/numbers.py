"""Numbers in sentences: digits (``1,250``, ``-7.5``, ``3rd``) and EN/RU number words, with the unit after them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from adapters.providers.llm.offline.entities import _DATE_RE, _EMAIL_RE, _ID_RE, _PHONE_RE, _TIME_RE, _URL_RE
from adapters.providers.llm.offline.sentences import _Sentence
from adapters.providers.llm.offline.text import _token_index

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
    "четвертый": 4, "пятый": 5,
}  # fmt: skip
_SCALE_WORDS = {"hundred": 100, "thousand": 1000, "тысяча": 1000, "тысячи": 1000, "тысяч": 1000}


@dataclass
class _Number:
    value: float
    position: int  # token index in its sentence
    unit: str  # the next token, lowercase ("" if none)
    currency: bool


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
