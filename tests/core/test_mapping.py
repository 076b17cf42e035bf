"""core.mapping.deep_merge, as a property: the result agrees with both inputs and shares nothing."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from core.mapping import deep_merge

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
                    max_leaves=12)
OBJECTS = st.dictionaries(st.text(max_size=2), JSON, max_size=4)


def _agrees(result: dict, base: dict, changes: dict) -> None:
    assert set(result) == set(base) | set(changes)
    for key, value in result.items():
        if key not in changes:
            assert value == base[key]
        elif isinstance(changes[key], dict) and isinstance(base.get(key), dict):
            _agrees(value, base[key], changes[key])
        else:
            assert value == changes[key]


@given(OBJECTS, OBJECTS)
def test_deep_merge_keeps_unchanged_keys_and_applies_changes(base: dict, changes: dict) -> None:
    before = (copy.deepcopy(base), copy.deepcopy(changes))
    result = deep_merge(base, changes)
    assert (base, changes) == before  # inputs untouched
    _agrees(result, base, changes)
    assert deep_merge(result, changes) == result  # applying the same changes again is a no-op


def test_arrays_replace_and_results_share_nothing() -> None:
    base = {"policy": {"tools": ["a"], "limit": 1}, "theme": {"color": "red"}}
    result = deep_merge(base, {"policy": {"tools": ["b"]}})
    assert result == {"policy": {"tools": ["b"], "limit": 1}, "theme": {"color": "red"}}
    result["theme"]["color"] = "blue"
    assert base["theme"]["color"] == "red"


@given(JSON)
def test_json_copy_equals_and_shares_no_container(value) -> None:
    from core.mapping import json_copy

    copied = json_copy(value)
    assert copied == value

    def containers(v):
        if isinstance(v, dict):
            yield v
            for item in v.values():
                yield from containers(item)
        elif isinstance(v, list):
            yield v
            for item in v:
                yield from containers(item)

    assert not {id(c) for c in containers(copied)} & {id(c) for c in containers(value)}


@given(OBJECTS, OBJECTS)
def test_deep_merge_keeps_base_order_then_new_keys(base: dict, changes: dict) -> None:
    result = deep_merge(base, changes)
    assert list(result) == list(base) + [k for k in changes if k not in base]
