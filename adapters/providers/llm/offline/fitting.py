"""Fitting values to a schema's constraints: number bounds and ``multipleOf``, string lengths, ``pattern``,
JSON equality and de-duplication for ``uniqueItems``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from adapters.providers.llm.offline.sentences import _Doc


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
    min_length, max_length = schema.get("minLength"), schema.get("maxLength")
    lo: int = min_length if isinstance(min_length, int) else 0
    hi: int | None = max_length if isinstance(max_length, int) else None
    if len(value) < lo:
        whole = doc.text.strip()
        if (value and whole.startswith(value)) or (len(whole) >= lo and not value):
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
