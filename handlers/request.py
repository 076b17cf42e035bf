"""The HTTP request an operation is serving, for the few handlers that read it directly.

``from handlers.request import request`` gives a proxy to the current request (a Starlette
``Request``): ``request.headers``, ``request.url``, ``request.scope["client"]``. The gateway binds
it around every operation call; outside one, touching it raises RuntimeError.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope

_current: ContextVar[Request | None] = ContextVar("current_request", default=None)


def bind_request(scope: Scope, receive: Receive) -> Token[Request | None]:
    """Make the request of ``scope`` current (the gateway calls this); undo with :func:`unbind_request`."""
    return _current.set(Request(scope, receive))


def unbind_request(token: Token[Request | None]) -> None:
    """Undo :func:`bind_request`."""
    _current.reset(token)


def current_request() -> Request:
    """The request being served; RuntimeError outside an operation."""
    found = _current.get()
    if found is None:
        raise RuntimeError("no request is being served in this context")
    return found


class _RequestProxy:
    """Attribute access forwarded to :func:`current_request`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(current_request(), name)


request: Any = _RequestProxy()
