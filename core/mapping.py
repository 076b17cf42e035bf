"""Pure helpers on JSON-like mappings."""

from __future__ import annotations

import copy
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A copy of JSON-like ``value`` sharing no mutable part with it: dicts and lists are rebuilt,
    strings, numbers, booleans and None (immutable) are shared, anything else is deep-copied.
    Several times faster than :func:`copy.deepcopy` on JSON data (no memo, no dispatch)."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    if isinstance(value, _SCALARS):
        return value
    return copy.deepcopy(value)


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``changes`` merged in. Objects merge recursively; any other value
    (arrays included) replaces the one in ``base``. Neither argument is modified; the result
    shares no mutable value with them. Keys keep ``base``'s order, new keys follow in
    ``changes``' order. Used for tenant configuration overrides (Virtual Banker) and partial
    agent updates (Virstack PATCH /agent/{agent_id})."""
    out: dict[str, Any] = {}
    for key, value in base.items():
        if key not in changes:
            out[key] = json_copy(value)
            continue
        change = changes[key]
        if isinstance(change, dict) and isinstance(value, dict):
            out[key] = deep_merge(value, change)
        else:
            out[key] = json_copy(change)
    for key, change in changes.items():
        if key not in base:
            out[key] = json_copy(change)
    return out
