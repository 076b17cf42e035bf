"""Word error rate with a small, documented text normaliser (for measuring ASR quality).

Normalisation (applied identically to reference and hypothesis by :func:`normalize`):

1. Unicode NFKC, lowercase; curly quotes → straight.
2. Numbers become words: ``1,250`` → "one thousand two hundred fifty", ``3.5`` → "three point
   five", ``2nd`` → "second"; ``%`` → "percent", ``&`` → "and", a leading ``$`` → "… dollars"
   (plurals such as ``1990s`` are left as they are). Years are read as plain cardinals
   (``1984`` → "one thousand nine hundred eighty four"), so write references the way the engine
   under test spells them, or as words.
3. Hyphens, slashes and underscores separate words; apostrophes are dropped inside words
   (``don't`` → "dont"); every other non-alphanumeric character is removed.
4. "and" inside spelled-out numbers is kept as a word on both sides (no special casing), and a
   few spelling variants are unified (``ok``/``okay`` → "okay", ``mr`` → "mister", ``mrs`` →
   "missus", ``dr`` → "doctor").

WER = (substitutions + deletions + insertions) / reference words (Levenshtein on words).
An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "number_to_words", "word_error_rate", "word_edit_distance"]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_VARIANTS = {"ok": "okay", "mr": "mister", "mrs": "missus", "dr": "doctor"}


def number_to_words(n: int) -> str:
    """Cardinal English words for a non-negative integer (< 10**15), without "and"."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return number_to_words(high) + " " + name + ("" if rest == 0 else " " + number_to_words(rest))
    raise ValueError(n)  # pragma: no cover


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return (head + " " + last).strip()


_NUMBER = re.compile(r"(?P<dollar>\$)?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?P<ord>st|nd|rd|th)?\b")


def _spell_number(match: re.Match[str]) -> str:
    integer = int(match["int"].replace(",", ""))
    if integer >= 10**15:
        words = " ".join(_ONES[int(d)] for d in match["int"] if d.isdigit())
    else:
        words = number_to_words(integer)
    if match["ord"] and not match["frac"]:
        words = _ordinal(words)
    if match["frac"]:
        words += " point " + " ".join(_ONES[int(d)] for d in match["frac"])
    if match["dollar"]:
        words += " dollars"
    return " " + words + " "


def normalize(text: str) -> list[str]:
    """Normalised words of ``text`` (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("%", " percent ").replace("&", " and ")
    text = _NUMBER.sub(_spell_number, text)
    text = re.sub(r"[-/_\u2013\u2014]", " ", text)
    text = re.sub(r"(?<=\w)'(?=\w)", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return [_VARIANTS.get(w, w) for w in text.split()]


def word_edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance between two word lists (substitutions, deletions, insertions cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after :func:`normalize` (≥ 0; may exceed 1)."""
    ref = normalize(reference)
    hyp = normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return word_edit_distance(ref, hyp) / len(ref)
