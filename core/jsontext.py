"""Strict JSON text: what every API accepts in a request body or a WebSocket text frame.

Python's ``json`` module accepts more than RFC 8259 JSON and fails badly on some inputs:

- ``NaN``, ``Infinity`` and ``-Infinity`` literals are accepted, and a number too large for a
  double (``1e309``) becomes ``inf`` — neither can be written back as JSON;
- ``"\\ud800"`` (an escaped lone surrogate) becomes a ``str`` that cannot be encoded as UTF-8;
- nesting deeper than the interpreter's recursion limit raises ``RecursionError``.

:func:`loads` rejects all three with :class:`JSONRejected` (a ``ValueError``) and bounds the
nesting depth at :data:`MAX_DEPTH`, so what passes can be validated, stored and echoed safely.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (the root value is depth 1)."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FLOAT_LIMIT = 2**1024


class JSONRejected(ValueError):
    """The text is not strict JSON; ``reason`` says why in words a client can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONRejected(f"number {text[:40]} is outside the range of a 64-bit float")
    return value


def _integer(text: str) -> int:
    value = int(text)
    if abs(value) >= _FLOAT_LIMIT:  # beyond a double, so beyond any number column or client
        raise JSONRejected(f"number {text[:40]}… is outside the range of a 64-bit float")
    return value


def _no_constant(name: str) -> Any:
    raise JSONRejected(f"{name} is not a JSON value")


def _check(value: Any, max_depth: int, surrogates: bool) -> None:
    """Walk ``value`` without recursion: depth at most ``max_depth``; no lone surrogates."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise JSONRejected(f"nesting is deeper than {max_depth} levels")
            for key, item in node.items():
                if surrogates and _SURROGATE.search(key):
                    raise JSONRejected("a string contains a lone UTF-16 surrogate (not valid Unicode)")
                if isinstance(item, (dict, list)) or (surrogates and isinstance(item, str)):
                    stack.append((item, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise JSONRejected(f"nesting is deeper than {max_depth} levels")
            for item in node:
                if isinstance(item, (dict, list)) or (surrogates and isinstance(item, str)):
                    stack.append((item, depth + 1))
        elif isinstance(node, str) and _SURROGATE.search(node):
            raise JSONRejected("a string contains a lone UTF-16 surrogate (not valid Unicode)")


_CONTAINERS = (dict, list)


def _too_deep(node: Any, budget: int) -> bool:
    """True when container ``node`` (itself ``budget`` levels from the limit) nests deeper than the
    limit. Recursive over containers only (the recursion stops at the limit): about twice as fast
    as :func:`_check`, which also looks at every string."""
    if budget <= 0:
        return True
    for item in (node.values() if type(node) is dict else node):
        if type(item) in _CONTAINERS and _too_deep(item, budget - 1):
            return True
    return False


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON ``data`` (UTF-8 bytes or text) into Python values.

    Raises :class:`JSONRejected` when the bytes are not UTF-8, the text is not JSON, a number
    is not finite or a ``NaN``/``Infinity`` literal, a string holds a lone surrogate, or arrays
    and objects nest deeper than ``max_depth``.
    """
    decoded = not isinstance(data, str)
    if not isinstance(data, str):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONRejected(f"not valid UTF-8 (byte {exc.start})") from None
    else:
        text = data
    try:
        value = json.loads(text, parse_float=_finite, parse_int=_integer, parse_constant=_no_constant)
    except JSONRejected:
        raise
    except RecursionError:
        raise JSONRejected(f"nesting is deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise JSONRejected(f"not valid JSON: {exc}") from None
    # a surrogate can only come from a \\u escape, or from text handed over as str (the UTF-8
    # decoder refuses encoded surrogates); the substring test spares the regex scans
    surrogates = ("\\u" in text and _SURROGATE_ESCAPE.search(text) is not None) or \
        (not decoded and _SURROGATE.search(text) is not None)
    if surrogates:
        _check(value, max_depth, surrogates)
    elif type(value) in _CONTAINERS and _too_deep(value, max_depth):
        raise JSONRejected(f"nesting is deeper than {max_depth} levels")
    return value
