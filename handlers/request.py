"""The HTTP request an operation is serving, for the few handlers that read it directly.

``from handlers.request import request`` gives a proxy to the current request (a Starlette
``Request``): ``request.headers``, ``request.url``, ``request.scope["client"]``, ``await
request.body()`` (the exact bytes, also after the gateway has read and validated the body).
The gateway binds it around every operation call; outside one, touching it raises RuntimeError.
The Starlette ``Request`` is only built when a handler touches the proxy.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from starlette.requests import Request
from starlette.types import Message, Receive, Scope


class BufferedReceive:
    """An ASGI ``receive`` that replays a body already read by the gateway.

    Until :meth:`keep` is called it passes messages through; after ``keep(body)`` the next
    ``http.request`` message it gives is the whole ``body`` (``more_body`` false), and later
    calls go to the real ``receive`` again (e.g. to notice a disconnect).
    """

    __slots__ = ("_receive", "_body")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._body: bytes | None = None

    def keep(self, body: bytes) -> None:
        """The body the gateway read (bytes), to replay to whoever reads the request next."""
        self._body = body

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


class _Current:
    __slots__ = ("scope", "receive", "request")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.request: Request | None = None


_current: ContextVar[_Current | None] = ContextVar("current_request", default=None)


def bind_request(scope: Scope, receive: Receive) -> Token[_Current | None]:
    """Make the request of ``scope`` current (the gateway calls this); undo with :func:`unbind_request`.

    ``receive`` should be a :class:`BufferedReceive` when the gateway reads the body itself, so
    that ``await request.body()`` still gives the bytes.
    """
    return _current.set(_Current(scope, receive))


def unbind_request(token: Token[_Current | None]) -> None:
    """Undo :func:`bind_request`."""
    _current.reset(token)


def current_request() -> Request:
    """The request being served (a Starlette ``Request``, built on first use); RuntimeError outside
    an operation."""
    found = _current.get()
    if found is None:
        raise RuntimeError("no request is being served in this context")
    if found.request is None:
        found.request = Request(found.scope, found.receive)
    return found.request


class _RequestProxy:
    """Attribute access forwarded to :func:`current_request`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(current_request(), name)


request: Any = _RequestProxy()
