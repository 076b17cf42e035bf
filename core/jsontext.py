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


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON ``data`` (UTF-8 bytes or text) into Python values.

    Raises :class:`JSONRejected` when the bytes are not UTF-8, the text is not JSON, a number
    is not finite or a ``NaN``/``Infinity`` literal, a string holds a lone surrogate, or arrays
    and objects nest deeper than ``max_depth``.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
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
    surrogates = _SURROGATE_ESCAPE.search(text) is not None or _SURROGATE.search(text) is not None
    _check(value, max_depth, surrogates)
    return value
