"""431 for oversized request headers, decided while the bytes arrive (issue 13 item 7).

uvicorn's httptools protocol reads a header section of any size: an 8 MB ``Authorization``
header was parsed in full (0.3-0.7 s, +16 MB of memory) and only then answered 401. The
protocol class here counts the bytes of each request's head (request line and header fields,
from the first byte of the request until the blank line that ends its headers) as they are fed
to the parser; once they exceed ``MAX_HEADER_BYTES`` it answers ``431 Request Header Fields Too
Large``, having parsed at most one more network read than the limit. It then discards what the
client is still sending (so the client, still writing its head, can read the answer instead of
meeting a connection reset) and closes the connection after ``LINGER_SECONDS`` or
``LINGER_BYTES``, whichever comes first.

The 431 body is the error envelope of the API owning the request path (the same choice as
:mod:`gateway.errors` makes for a request it cannot route), or an RFC 9457 problem when no API
owns it. Every operation declares the 431 (``tools/generate.py`` adds it with 413/415).

Wiring: ``python -m gateway`` passes :func:`protocol_for` ``(settings)`` as uvicorn's ``http``
option; tests do the same for their live servers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.settings import Settings
from gateway.contract import Contract
from gateway.errors import STATUS_CODES, problem
from gateway.plugins import load_plugins

logger = logging.getLogger("gateway.header_limit")

#: After a 431: seconds, and bytes, of the client's remaining data read and dropped before closing.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024 * 1024

#: ``render(path) -> (media type, body)`` of the 431 for a request to ``path``.
Render = Callable[[str], tuple[str, bytes]]


def envelope_renderer(contract: Contract) -> Render:
    """A :data:`Render` giving the 431 in the envelope of the API owning the path (by the
    contract's longest documented prefix), else an RFC 9457 problem."""
    plugins = load_plugins(contract)
    message = "Request header fields too large"

    def render(path: str) -> tuple[str, bytes]:
        api = contract.api_owning(path)
        if api is None:
            return "application/problem+json", json.dumps(problem(431, message)).encode()
        envelope = plugins[api.namespace].envelope
        body: Any = envelope.body(431, STATUS_CODES[431], message, None, violation=False)
        return "application/json", json.dumps(body).encode()

    return render


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a limit on the bytes of each request head.

    Subclasses made by :func:`header_limited` set ``max_header_bytes`` (bytes) and ``render``."""

    max_header_bytes: int = 32 * 1024
    render: Render = staticmethod(lambda path: ("application/problem+json",  # noqa: E731
                                                json.dumps(problem(431, "Request header fields too large")).encode()))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False
        self._head_bytes = 0
        self._discarded: int | None = None  # bytes dropped after a 431 (None: not answered)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._discarded is not None:  # answered 431: drop the rest of the head
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self.transport.close()
            return
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_header_bytes:
            self._send_431()

    def _send_431(self) -> None:
        path = self.url.split(b"?", 1)[0].decode("latin-1") or "/"
        try:
            media_type, body = type(self).render(path)
        except Exception:  # noqa: BLE001 - the answer must go out whatever the renderer does
            logger.exception("rendering the 431 failed")
            media_type, body = "application/problem+json", json.dumps(problem(431, "Request header fields too "
                                                                                     "large")).encode()
        logger.warning("request head over %d bytes: 431", self.max_header_bytes)
        head = [b"HTTP/1.1 431 " + HTTPStatus(431).phrase.encode() + b"\r\n"]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: " + media_type.encode() + b"\r\n",
                 b"content-length: " + str(len(body)).encode() + b"\r\n",
                 b"connection: close\r\n\r\n", body]
        self._in_head = False
        self._discarded = 0
        self.transport.write(b"".join(head))
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def header_limited(max_header_bytes: int, render: Render) -> type[HeaderLimitedProtocol]:
    """A :class:`HeaderLimitedProtocol` subclass answering 431 past ``max_header_bytes`` with
    bodies from ``render``; pass it to uvicorn as ``http=``."""
    return type("HeaderLimitedProtocol", (HeaderLimitedProtocol,),
                {"max_header_bytes": max_header_bytes, "render": staticmethod(render)})


def protocol_for(settings: Settings, contract: Contract | None = None) -> type[HeaderLimitedProtocol]:
    """The uvicorn ``http`` protocol class for ``settings`` (``MAX_HEADER_BYTES``), rendering
    431s in the API envelopes of ``contract`` (default: the generated contract)."""
    return header_limited(settings.max_header_bytes, envelope_renderer(contract or Contract()))


class EnvironmentProtocol(HeaderLimitedProtocol):
    """:class:`HeaderLimitedProtocol` configured, on its first connection in a process, from the
    environment's settings and the generated contract (``python -m gateway`` names it by import
    string, so every spawned worker process builds its own)."""

    _configured = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if not cls._configured:
            from core.settings import get_settings

            configured = protocol_for(get_settings())
            cls.max_header_bytes = configured.max_header_bytes
            cls.render = configured.render
            cls._configured = True
        super().__init__(*args, **kwargs)
