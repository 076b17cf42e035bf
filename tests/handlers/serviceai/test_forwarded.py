"""The 3/min/IP budget of POST /api/realtime/webrtc over a live uvicorn server wired like
``python -m gateway`` (issue 13 item 9): uvicorn's default trusts X-Forwarded-For from loopback,
so any local caller could buy fresh budgets; now forwarding headers count only from
``FORWARDED_ALLOW_IPS``, and the 429 says when to retry."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.clock import utcnow
from gateway.__main__ import uvicorn_options
from gateway.app import create_app
from tests.conftest import LiveServer


def _token(app) -> dict[str, str]:
    sai = app.bundles["serviceai"]

    async def go() -> str:
        await sai.users.upsert_user(user_id="alice", organization_id="org", now=utcnow(), display_name="Alice",
                                    role="member", entitlements=["chatty-voice"], permissions=[])
        return (await sai.users.mint_token("alice", utcnow()))[0]

    return {"Authorization": f"Bearer {asyncio.run(go())}"}


def _exchanges(server, headers, count: int) -> list[httpx.Response]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        return [http.post("/api/realtime/webrtc", json={"sdp": "v=0\r\n"},
                          headers={**headers, "X-CSRF-Token": "forged", "X-Forwarded-For": f"203.0.113.{i}"})
                for i in range(count)]


@pytest.mark.parametrize(("trusted", "expected"), [
    ("", [403, 403, 403, 429]),  # default: the peer address counts, X-Forwarded-For is ignored
    ("127.0.0.1", [403, 403, 403, 403]),  # a configured proxy: each forwarded client has its own budget
])
def test_forwarded_for_counts_only_from_configured_proxies(make_settings, trusted, expected):
    settings = make_settings(forwarded_allow_ips=trusted)
    app = create_app(settings)
    headers = _token(app)
    with LiveServer(app, **uvicorn_options(settings)) as server:
        responses = _exchanges(server, headers, 4)
    assert [r.status_code for r in responses] == expected
    if expected[-1] == 429:
        assert int(responses[-1].headers["retry-after"]) >= 1
