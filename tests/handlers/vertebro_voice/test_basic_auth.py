"""Issue 13 item 4: HTTP Basic does the same work for an unknown user as for a wrong password, so
neither the answer nor the time it takes tells which usernames exist. Measured by counting argon2
verifications on a live server (not by timing)."""

from __future__ import annotations

import asyncio
import base64

import anyio
import httpx
import pytest
import websockets
from argon2 import PasswordHasher
from websockets.exceptions import InvalidStatus

from core.clock import utcnow
from handlers.vertebro_voice import security
from handlers.vertebro_voice.security import hash_password
from tests.conftest import LiveServer
from tests.handlers.vertebro_voice.conftest import API, AUTH, USER


class CountingHasher(PasswordHasher):
    """argon2's hasher, counting :meth:`verify` calls (each is a full argon2id computation)."""

    calls = 0

    def verify(self, hash, password) -> bool:  # noqa: A002 - argon2's own parameter name
        CountingHasher.calls += 1
        return super().verify(hash, password)


@pytest.fixture
def counting(monkeypatch):
    CountingHasher.calls = 0
    monkeypatch.setattr(security, "_hasher", CountingHasher())
    monkeypatch.setattr(security, "_verified", {})
    return CountingHasher


def _header(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_unknown_users_cost_one_argon2_verification_like_wrong_passwords(app, counting):
    anyio.run(app.bundles["vertebro-voice"].users.put, "stored-user", hash_password("stored-pw"), utcnow())
    anyio.run(app.bundles["vertebro-voice"].access.grant, "default", "stored-user", utcnow())
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        def attempt(user: str, password: str) -> tuple[int, int, dict, str | None]:
            before = counting.calls
            r = http.get(f"{API}/status", auth=(user, password))
            return r.status_code, counting.calls - before, r.json(), r.headers.get("www-authenticate")

        refused = (401, 1, {"detail": "Unauthorized"}, 'Basic realm="vertebro"')
        cases = {
            "unknown user": attempt("no-such-user", "whatever"),
            "unknown user again": attempt("no-such-user", "whatever"),  # never remembered
            "settings user, wrong password": attempt(USER, "wrong"),
            "stored user, wrong password": attempt("stored-user", "wrong"),
            "unknown user, a real user's password": attempt("no-such-user", AUTH[1]),
            "empty password": attempt("no-such-user-2", ""),
        }
        assert cases == dict.fromkeys(cases, refused)
        assert attempt(*AUTH)[:2] == (200, 1)  # a right password: verified once ...
        assert attempt(*AUTH)[:2] == (200, 0)  # ... then remembered
        assert attempt("stored-user", "stored-pw")[:2] == (200, 1)

        async def handshake(user: str, password: str) -> int:
            url = server.url.replace("http", "ws") + f"{API}/ws/{'0' * 32}"
            with pytest.raises(InvalidStatus) as denied:
                async with websockets.connect(url, additional_headers=_header(user, password)):
                    pass
            return denied.value.response.status_code

        before = counting.calls
        assert asyncio.run(handshake("no-such-user", "x")) == 401
        assert asyncio.run(handshake(USER, "wrong")) == 401
        assert counting.calls - before == 2  # the socket's handshake does the same work too
