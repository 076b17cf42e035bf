"""Numbers in sentences (adapters/providers/llm/offline/numbers.py): digits and EN/RU number words."""

from __future__ import annotations

import pytest

from adapters.providers.llm.offline.numbers import _numbers
from adapters.providers.llm.offline.sentences import _Doc


def values(text: str) -> list[tuple[float, str]]:
    return [(n.value, n.unit) for s in _Doc.parse(text).sentences for n in _numbers(s)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is the third time I'm calling.", [(3.0, "time")]),
        ("Я звоню второй раз.", [(2.0, "раз")]),
        ("Это уже третий раз!", [(3.0, "раз")]),
        ("Четвертый раз за неделю, а пятый будет завтра.", [(4.0, "раз"), (5.0, "будет")]),
        ("Я звонил дважды.", [(2.0, "")]),
    ],
)
def test_ordinal_and_multiplicative_words_are_numbers(text, expected):
    assert values(text) == expected


def test_digits_and_number_words_with_their_units():
    assert values("We were 3 adults and two kids, about 20% of the group.") == [
        (3.0, "adults"), (2.0, "kids"), (20.0, "%")
    ]  # fmt: skip
    [price] = [n for s in _Doc.parse("It costs $1,250.50 in total.").sentences for n in _numbers(s)]
    assert price.value == 1250.5 and price.currency
    assert values("Новую карту выпустим за пять дней, стоимость 500 рублей.") == [(5.0, "дней"), (500.0, "рублей")]


def test_numbers_inside_phones_dates_and_ids_are_not_counted():
    assert values("Call 555-123-4567 on 2024-06-14 at 10:30 about AB-12345.") == []
