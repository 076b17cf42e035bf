"""OpenAPI Overlay 1.0 applier.

An overlay is ``{overlay: 1.0.0, info: {...}, extends?: ..., actions: [...]}``; each
action has a JSONPath ``target`` (RFC 9535, evaluated with python-jsonpath) and either
``update`` or ``remove: true``. Semantics implemented here (Overlay 1.0.0 §4.5):

- ``update`` on an object node: the update object is merged into it recursively —
  nested objects merge, every other value (scalars, arrays) replaces the old one;
- ``update`` on an array node: the update value is appended to the array;
- ``remove: true``: the node is removed from its parent.

Actions are applied in order. An action whose target selects nothing is an error:
an overlay that silently does nothing hides a broken fix.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpath


class OverlayError(ValueError):
    """Raised for a malformed overlay or an action whose target selects nothing."""


def deep_merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    """Merge ``update`` into ``target`` in place (objects recursively, other values replaced)."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _parent(document: Any, parts: tuple[Any, ...]) -> Any:
    node = document
    for part in parts[:-1]:
        node = node[part]
    return node


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any], *, name: str = "overlay") -> dict[str, Any]:
    """Return a copy of ``document`` with every action of ``overlay`` applied.

    Raises :class:`OverlayError` naming the overlay and the action index on a bad
    action or an empty target.
    """
    if not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError(f"{name}: not an Overlay 1.x document (missing 'overlay: 1.0.0')")
    result = copy.deepcopy(document)
    for index, action in enumerate(overlay.get("actions") or []):
        target = action.get("target")
        if not target:
            raise OverlayError(f"{name}: action {index} has no target")
        matches = list(jsonpath.finditer(target, result))
        if not matches:
            raise OverlayError(f"{name}: action {index} target {target!r} selects nothing")
        if action.get("remove"):
            # Remove from the deepest paths first so list indices stay valid.
            for match in sorted(matches, key=lambda m: m.parts, reverse=True):
                parent = _parent(result, match.parts)
                del parent[match.parts[-1]]
        elif "update" in action:
            update = action["update"]
            for match in matches:
                node = match.obj
                if isinstance(node, dict):
                    if not isinstance(update, dict):
                        raise OverlayError(f"{name}: action {index} updates an object with a non-object")
                    deep_merge(node, update)
                elif isinstance(node, list):
                    node.append(copy.deepcopy(update))
                else:
                    raise OverlayError(f"{name}: action {index} target {target!r} is a scalar; update its parent")
        else:
            raise OverlayError(f"{name}: action {index} has neither update nor remove")
    return result
