"""POST /api/realtime/webrtc: an aiortc client through HTTP to the server's own peer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.providers.wer import word_error_rate
from adapters.providers.whisper import WhisperASR
from tests.handlers.serviceai.conftest import ORG
from tools.caller import Caller, speech_48k

PARKING = {"title": "Parking", "body": "Customers can park for free behind the main office building."}


@pytest.fixture
def sai_http(live_server, make_user, dataset, sai):
    import asyncio as _asyncio

    from handlers.serviceai.manage import import_data

    _asyncio.run(import_data(sai, ORG, {"knowledgeBase": [*dataset["knowledgeBase"], PARKING]}))
    headers = make_user("alice", ORG)
    return live_server, headers


@pytest.fixture
def bob(make_user):
    return make_user("bob", ORG)


async def _csrf(http: httpx.AsyncClient, headers) -> str:
    r = await http.get("/api/csrf-token", headers=headers)
    assert r.status_code == 200
    return r.json()["token"]


async def test_voice_conversation_through_sdp_exchange(sai_http):
    server, headers = sai_http
    caller = Caller()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            token = await _csrf(http, headers)
            r = await http.post("/api/realtime/webrtc", json={"sdp": await caller.offer()},
                                headers={**headers, "X-CSRF-Token": token})
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/sdp")
            assert r.text.startswith("v=0")
            await caller.accept(r.text)
            await asyncio.sleep(0.5)
            spoken = "Where can I park my car when I visit the office?"
            caller.mic.play(await speech_48k(spoken))
            transcript = await caller.wait_for(lambda e: e["type"] == "transcript", 60)
            assert word_error_rate(spoken, transcript["text"]) <= 0.2, transcript
            reply = await caller.wait_for(lambda e: e["type"] == "reply", 60)
            assert reply["text"] == PARKING["body"]  # answered from the organisation's knowledge base
            await caller.wait_for(lambda e: e["type"] == "visemes", 30)
            await caller.wait_for(lambda e: e["type"] == "state" and e["state"] == "idle"
                                  and caller.events.index(e) > caller.events.index(reply), 60)
            await asyncio.sleep(0.3)
            heard = await WhisperASR().transcribe(bytes(caller.received), "en", False)
            # the reply crossed Opus and is heard by the tiny.en model
            assert word_error_rate(reply["text"], heard.text) <= 0.25, (reply["text"], heard.text)
    finally:
        await caller.close()
    await asyncio.sleep(0.5)
    assert server.app.services.peers.active == 0


async def test_csrf_malformed_sdp_and_rate_limit(sai_http, make_user):
    server, headers = sai_http
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        url = "/api/realtime/webrtc"
        r = await http.post(url, json={"sdp": "v=0\r\n"}, headers={**headers, "X-CSRF-Token": "forged"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "CSRF_INVALID"
        token = await _csrf(http, headers)
        r = await http.post(url, json={"sdp": "not sdp"}, headers={**headers, "X-CSRF-Token": token})
        assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_SDP"
        r = await http.post(url, json={"sdp": "v=0\r\n"}, headers={**headers, "X-CSRF-Token": token})  # reused
        assert r.status_code == 429 or r.json()["error"]["code"] == "CSRF_INVALID"
        assert server.app.services.peers.active == 0
        fresh = await _csrf(http, headers)
        r = await http.post(url, json={"sdp": "v=0\r\n"}, headers={**headers, "X-CSRF-Token": fresh})
        assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_LIMITED"
    assert server.app.services.peers.active == 0


async def test_csrf_token_of_another_user_is_refused(sai_http, bob):
    server, headers = sai_http
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = await _csrf(http, bob)
        r = await http.post("/api/realtime/webrtc", json={"sdp": "v=0\r\nm=audio 9 x 0\r\n"},
                            headers={**headers, "X-CSRF-Token": token})
        assert r.status_code == 403


async def test_upstream_errors_pass_through_and_mint_failure_is_502(make_settings, make_user):
    from gateway.app import create_app
    from tests.conftest import LiveServer

    answers = {"mint": httpx.Response(200, json={"id": "sess_1", "model": "m", "voice": "alloy",
                                                 "client_secret": {"value": "ek_1", "expires_at": 2000000000}}),
               "sdp": httpx.Response(400, json={"error": {"message": "bad offer", "type": "invalid_request_error"}})}
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers["mint" if request.url.path.endswith("/sessions") else "sdp"]

    app = create_app(make_settings(serviceai_realtime_api_key="sk-test", serviceai_realtime_base_url="http://upstream/v1"))

    bundle = app.bundles["serviceai"]
    bundle.realtime._transport = httpx.MockTransport(handler)
    from handlers.serviceai.manage import import_data  # noqa: F401
    with LiveServer(app) as server:
        import tests.handlers.serviceai.conftest as c

        async def user():
            from core.clock import utcnow

            await bundle.users.upsert_user(user_id="u1", organization_id=ORG, now=utcnow(), display_name="U",
                                           role="member", entitlements=["chatty-voice"])
            return (await bundle.users.mint_token("u1", utcnow()))[0]

        headers = {"Authorization": f"Bearer {await user()}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
            r = await http.post("/api/realtime/webrtc", json={"sdp": offer},
                                headers={**headers, "X-CSRF-Token": await _csrf(http, headers)})
            assert r.status_code == 400 and r.json() == {"error": {"message": "bad offer",
                                                                   "type": "invalid_request_error"}}
            assert seen[-1].headers["authorization"] == "Bearer ek_1" and seen[-1].content.decode() == offer
            answers["sdp"] = httpx.Response(201, text="v=0\r\nanswer\r\n", headers={"content-type": "application/sdp"})
            r = await http.post("/api/realtime/webrtc", json={"sdp": offer},
                                headers={**headers, "X-CSRF-Token": await _csrf(http, headers)})
            assert r.status_code == 200 and r.text == "v=0\r\nanswer\r\n"
            answers["mint"] = httpx.Response(503, json={"error": {"message": "overloaded"}})
            r = await http.post("/api/realtime/webrtc", json={"sdp": offer},
                                headers={**headers, "X-CSRF-Token": await _csrf(http, headers)})
            assert r.status_code == 502 and "error" in r.json()
    del c


async def test_outdated_client_gets_the_declared_426_over_http(sai_http):
    # Issue 12 (b): an old X-Client-Version with a valid CSRF token answered 500 ("Multiple response
    # content types are defined…") instead of the contract's 426 UpgradeRequiredEnvelope.
    server, headers = sai_http
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = await _csrf(http, headers)
        r = await http.post("/api/realtime/webrtc", json={"sdp": "not sdp"},
                            headers={**headers, "X-CSRF-Token": token, "X-Client-Version": "0.1"})
        assert r.status_code == 426, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {
            "error": {"code": "UPGRADE_REQUIRED", "message": "Client version 0.1 is no longer supported: major "
                      "version 1 or later is required (minClientVersion 1.0.0)."},
            "apiVersion": "1.1.24", "minClientVersion": "1.0.0", "clientVersion": "0.1",
        }
        # refused before anything was charged or consumed: the same token still reaches the SDP check
        r = await http.post("/api/realtime/webrtc", json={"sdp": "not sdp"},
                            headers={**headers, "X-CSRF-Token": token, "X-Client-Version": "1.0.0"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_SDP"
    assert server.app.services.peers.active == 0


def test_ip_limit_ignores_forwarding_headers(client, alice):
    # The 3/min/IP budget is the connection's peer address (scope["client"]): headers a caller sets
    # itself do not buy it a fresh budget.
    statuses = []
    for i in range(4):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}",
                   "Forwarded": f"for=192.0.2.{i}"}
        r = client.post("/api/realtime/webrtc", json={"sdp": "v=0\r\n"},
                        headers={**alice, **spoofed, "X-CSRF-Token": "forged"})
        statuses.append((r.status_code, r.json()["error"]["code"]))
    assert statuses == [(403, "CSRF_INVALID")] * 3 + [(429, "RATE_LIMITED")]


class TestIpLimitSetting:
    """SERVICEAI_WEBRTC_PER_IP_PER_MINUTE (default 3, the seed's figure) sets the per-IP budget."""

    @pytest.fixture
    def settings(self, make_settings):
        return make_settings(serviceai_webrtc_per_ip_per_minute=5)

    def test_budget_follows_the_setting(self, client, alice):
        statuses = [client.post("/api/realtime/webrtc", json={"sdp": "v=0\r\n"},
                                headers={**alice, "X-CSRF-Token": "forged"}).status_code for _ in range(6)]
        assert statuses == [403] * 5 + [429]
