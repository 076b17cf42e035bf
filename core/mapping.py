"""Pure helpers on JSON-like mappings."""

from __future__ import annotations

import copy
from typing import Any


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``changes`` merged in. Objects merge recursively; any other value
    (arrays included) replaces the one in ``base``. Neither argument is modified; the result
    shares no mutable value with them. Used for tenant configuration overrides (Virtual Banker)
    and partial agent updates (Virstack PATCH /agent/{agent_id})."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
