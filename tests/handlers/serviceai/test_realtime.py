"""POST /api/realtime-token (union object, mint through an OpenAI-Realtime-compatible backend
answered by httpx.MockTransport, per-user rate limit) and GET /api/csrf-token."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
from starlette.testclient import TestClient

from core.clock import utcnow
from gateway.app import create_app
from tests.handlers.serviceai.conftest import ORG, run

REALTIME = {"serviceai_realtime_api_key": "sk-test-secret-key", "serviceai_realtime_base_url": "https://rt.test/v1",
            "serviceai_realtime_model": "gpt-4o-realtime-preview", "serviceai_realtime_voice": "verse"}


def test_fallback_when_no_backend_is_configured(client, alice):
    for body, direct in (({"directWebRTC": True}, True), ({"directWebRTC": False}, False), ({}, False)):
        r = client.post("/api/realtime-token", json=body, headers=alice)
        assert r.status_code == 200
        assert r.json() == {"fallback": True, "directWebRTC": direct, "useWebRTC": False,
                            "metadata": {"organizationId": ORG},
                            "message": "Realtime voice is not configured on this server; use the HTTP fallback."}
    assert client.post("/api/realtime-token", headers=alice).json()["fallback"] is True  # no body at all


class Upstream:
    """A fake OpenAI Realtime sessions endpoint recording what it was sent."""

    def __init__(self, status=200, body=None):
        self.requests: list[httpx.Request] = []
        self.status = status
        self.body = body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.body is not None:
            return httpx.Response(self.status, json=self.body)
        sent = json.loads(request.content)
        return httpx.Response(200, json={
            "id": "sess_C9x", "object": "realtime.session", "model": sent["model"], "voice": sent["voice"],
            "client_secret": {"value": "ek_live_abc123", "expires_at": int(time.time()) + 60}})


@pytest.fixture
def realtime_app(make_settings):
    def make(upstream: Upstream, **settings):
        app = create_app(make_settings(**{**REALTIME, **settings}))
        bundle = app.bundles["serviceai"]
        bundle.realtime._transport = httpx.MockTransport(upstream)

        async def token(user="alice", role="member", org=ORG):
            await bundle.users.upsert_user(user_id=user, organization_id=org, now=utcnow(), role=role,
                                           display_name=user.title(), entitlements=["chatty-voice"])
            return (await bundle.users.mint_token(user, utcnow()))[0]

        return app, lambda **kw: {"Authorization": f"Bearer {run(token(**kw))}"}

    return make


def test_direct_webrtc_mints_a_session(realtime_app):
    upstream = Upstream()
    app, auth = realtime_app(upstream)
    with TestClient(app) as c:
        r = c.post("/api/realtime-token", json={"directWebRTC": True}, headers=auth(role="viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert 55 <= body.pop("expiresInSeconds") <= 60
    assert body == {"sessionId": "sess_C9x", "model": "gpt-4o-realtime-preview", "voice": "verse",
                    "clientSecret": "ek_live_abc123", "fallback": False, "directWebRTC": True, "useWebRTC": True,
                    "metadata": {"organizationId": ORG}}
    (sent,) = upstream.requests
    assert str(sent.url) == "https://rt.test/v1/realtime/sessions"
    assert sent.headers["Authorization"] == "Bearer sk-test-secret-key"
    payload = json.loads(sent.content)
    assert payload["model"] == "gpt-4o-realtime-preview" and payload["voice"] == "verse"
    assert payload["instructions"].startswith("You are Chatty, the voice assistant of ServiceAi, talking with Alice")
    names = [t["name"] for t in payload["tools"]]  # flat Realtime form, only what a viewer may run
    assert names == ["lookup_entity", "search_knowledge_base", "list_tickets", "list_notes", "navigate"]
    assert all(set(t) == {"type", "name", "description", "parameters"} for t in payload["tools"])


def test_client_secrets_shape_is_understood(realtime_app):
    upstream = Upstream(body={"value": "ek_ga_1", "expires_at": int(time.time()) + 30,
                              "session": {"type": "realtime", "model": "gpt-realtime",
                                          "audio": {"output": {"voice": "marin"}}}})
    app, auth = realtime_app(upstream)
    with TestClient(app) as c:
        body = c.post("/api/realtime-token", json={"directWebRTC": True}, headers=auth()).json()
    assert body["clientSecret"] == "ek_ga_1" and body["model"] == "gpt-realtime" and body["voice"] == "marin"
    assert "sessionId" not in body and 25 <= body["expiresInSeconds"] <= 30


def test_desktop_branch_does_not_mint(realtime_app):
    upstream = Upstream()
    app, auth = realtime_app(upstream)
    with TestClient(app) as c:
        for body in ({"directWebRTC": False}, {}):
            r = c.post("/api/realtime-token", json=body, headers=auth())
            assert r.status_code == 200
            out = r.json()
            assert out["fallback"] is False and out["directWebRTC"] is False and out["useWebRTC"] is True
            assert out["model"] == "gpt-4o-realtime-preview" and out["voice"] == "verse"
            assert "clientSecret" not in out and "/api/realtime/webrtc" in out["message"]
    assert upstream.requests == []


@pytest.mark.parametrize("upstream", [
    Upstream(status=401, body={"error": {"message": "Incorrect API key provided: sk-test-secret-key"}}),
    Upstream(status=200, body={"id": "sess_1"}),  # no client secret
])
def test_mint_failure_is_500_with_fallback(realtime_app, upstream):
    app, auth = realtime_app(upstream)
    with TestClient(app) as c:
        r = c.post("/api/realtime-token", json={"directWebRTC": True}, headers=auth())
    assert r.status_code == 500
    assert r.json() == {"fallback": True, "directWebRTC": True, "useWebRTC": False, "metadata": {"organizationId": ORG},
                        "message": "Could not start a realtime voice session; use the HTTP fallback."}
    assert "sk-test" not in r.text


def test_unreachable_backend_is_500_with_fallback(realtime_app):
    def down(request):
        raise httpx.ConnectError("connection refused", request=request)

    app, auth = realtime_app(Upstream())
    app.bundles["serviceai"].realtime._transport = httpx.MockTransport(down)
    with TestClient(app) as c:
        r = c.post("/api/realtime-token", json={"directWebRTC": True}, headers=auth())
    assert r.status_code == 500 and r.json()["fallback"] is True


def test_per_user_mint_rate_limit(realtime_app):
    upstream = Upstream()
    app, auth = realtime_app(upstream, serviceai_realtime_mint_per_minute=3)
    alice, bob = auth(), auth(user="bob")
    with TestClient(app) as c:
        # contract violations are rejected before the budget is charged
        assert c.post("/api/realtime-token", json={"directWebRTC": "yes"}, headers=alice).status_code == 400
        for _ in range(3):
            assert c.post("/api/realtime-token", json={"directWebRTC": True}, headers=alice).status_code == 200
        r = c.post("/api/realtime-token", json={"directWebRTC": True}, headers=alice)
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "RATE_LIMITED" and r.json()["error"]["details"]["limit"] == 3
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert c.post("/api/realtime-token", json={"directWebRTC": True}, headers=bob).status_code == 200
    assert len(upstream.requests) == 4  # the refused call never reached the backend


def test_csrf_token_is_random_bound_and_single_use(client, alice, make_user, sai, app):
    from handlers.serviceai import consume_csrf_token

    r = client.get("/api/csrf-token", headers=alice)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    token = r.json()["token"]
    other = client.get("/api/csrf-token", headers=alice).json()["token"]
    assert token != other and len(token) >= 43
    assert run(sai.csrf.count_live("alice", utcnow())) == 2

    from sqlalchemy import text

    with app.services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM serviceai_csrf_token")).scalars().all()
    assert token not in stored

    assert run(consume_csrf_token("bob", token)) is False  # bound to alice
    assert run(consume_csrf_token("alice", token)) is True
    assert run(consume_csrf_token("alice", token)) is False  # single use
    assert run(consume_csrf_token("alice", "forged")) is False
    assert run(consume_csrf_token("alice", None)) is False


def test_csrf_token_expires_after_five_minutes(sai):
    now = utcnow()
    token, expires = run(sai.csrf.mint("alice", now, timedelta(minutes=5)))
    assert expires - now == timedelta(minutes=5)
    assert run(sai.csrf.consume("alice", token, now + timedelta(minutes=5, seconds=1))) is False
    fresh, _ = run(sai.csrf.mint("alice", now, timedelta(minutes=5)))
    assert run(sai.csrf.consume("alice", fresh, now + timedelta(minutes=4, seconds=59))) is True
