"""core.jsontext: strict JSON in, exactly what json.dumps(allow_nan=False) writes round-trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.jsontext import MAX_DEPTH, JSONRejected, loads

SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text()
VALUES = st.recursive(SCALARS,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                      max_leaves=30)


@given(VALUES)
def test_valid_json_round_trips(value):
    text = json.dumps(value, allow_nan=False)
    assert loads(text) == value
    assert loads(text.encode("utf-8")) == value


@pytest.mark.parametrize("text, reason", [
    ("[" * 1000 + "]" * 1000, "nesting"),
    ("[" * 100_000, "nesting"),
    ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "nesting"),
    ('"x\\ud800y"', "surrogate"),
    ('{"\\udc00": 1}', "surrogate"),
    ("1e309", "range"),
    ("-1e309", "range"),
    ("1" + "0" * 320, "range"),
    ("NaN", "not a JSON value"),
    ("-Infinity", "not a JSON value"),
    ("{", "not valid JSON"),
])
def test_rejected(text, reason):
    with pytest.raises(JSONRejected) as info:
        loads(text)
    assert reason in info.value.reason
    assert isinstance(info.value, ValueError)


def test_depth_limit_is_inclusive():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JSONRejected):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize("as_bytes", [False, True])
def test_depth_limit_holds_for_objects_and_mixed_nesting(as_bytes):
    def nest(depth: int) -> str:
        text = '"\\u0041"'  # an escape, but no surrogate
        for level in range(depth):  # each level one container: a list or an object
            text = f'[1, {text}, {{}}]' if level % 2 else f'{{"a": "b", "k{level}": {text}}}'
        return text

    for depth, accepted in ((MAX_DEPTH, True), (MAX_DEPTH + 1, False)):
        data = nest(depth).encode() if as_bytes else nest(depth)
        if accepted:
            assert loads(data) is not None
        else:
            with pytest.raises(JSONRejected, match="nesting"):
                loads(data)


def test_invalid_utf8_bytes():
    with pytest.raises(JSONRejected, match="UTF-8"):
        loads(b'"\xc3\x28"')
