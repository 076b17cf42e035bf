"""Offline harness for the cloud adapters: a recording ``httpx.MockTransport`` and fixture loaders.

No test here may reach the network: every adapter gets a client on a ``Recorder`` transport,
which fails the test on any request it was not scripted to answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


Reply = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


class Recorder:
    """Scripted replies, one per expected request, in order; records what was sent."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self.transport = httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(request)
        self.bodies.append(body)
        if not self.replies:
            pytest.fail(f"unexpected request {request.method} {request.url}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport)

    @property
    def only(self) -> httpx.Request:
        assert len(self.requests) == 1, [str(r.url) for r in self.requests]
        assert not self.replies, "scripted replies left unused"
        return self.requests[0]


def raises_on(exc_type: type[httpx.TransportError], message: str) -> Callable[[httpx.Request], httpx.Response]:
    """A reply that raises an httpx transport exception bound to the request (as httpcore would)."""

    def reply(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return reply
