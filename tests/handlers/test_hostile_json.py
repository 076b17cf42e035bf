"""Issue 13 items 1 and 5 on every operation the issue names, over HTTP against a live uvicorn
server: deep nesting, a lone surrogate and a non-finite number are a 400 in the API's envelope
(never a 5xx) and change nothing. (tests/gateway/test_body_guard.py covers the mechanism, the
Vertebro WebSocket frames and chunked bodies, item 8.)"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.clock import utcnow

DEEP = b"[" * 1000 + b"]" * 1000
SURROGATE = b'"x\\ud800y"'


@pytest.fixture
def callers(live_server, app, vb_jwt):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        token = vb_jwt()
        vb = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        sid = http.post("/v1/sessions", headers=vb, json={"tenant_id": "tenant-123", "user_id": "user-456",
                                                          "auth_assertion": token}).json()["data"]["session_id"]
        assert http.post("/v1/voice/sessions", headers=vb, json={"session_id": sid}).status_code == 201
        account = {"email": "hostile@example.com", "password": "long-enough-password"}
        http.post("/v1/users/register", json={**account, "organization_name": "H", "first_name": "A", "last_name": "B"})
        virstack = {"Authorization": f"Bearer {http.post('/v1/users/login', json=account).json()['data']['token']}",
                    "Content-Type": "application/json"}
        sai = app.bundles["serviceai"]

        async def mint() -> str:
            await sai.users.upsert_user(user_id="h", organization_id="org-h", now=utcnow(), display_name="H",
                                        role="member", entitlements=["chatty-voice"], permissions=[])
            return (await sai.users.mint_token("h", utcnow()))[0]

        serviceai = {"Authorization": f"Bearer {asyncio.run(mint())}", "Content-Type": "application/json"}
        yield http, sid, vb, virstack, serviceai


def _cases(sid: str, vb, virstack, serviceai):
    """(label, path, headers, body with the hostile value at {v}) for every operation item 5 names."""
    return [
        ("vb voice/sessions", "/v1/voice/sessions", vb, b'{"session_id": {v}}'),
        ("vb synthesize", f"/v1/voice/sessions/{sid}/synthesize", vb, b'{"text": {v}}'),
        ("vb visemes", f"/v1/voice/sessions/{sid}/visemes", vb, b'{"text": {v}}'),
        ("serviceai tools/execute", "/api/chatty-voice/tools/execute", serviceai,
         b'{"function": "create_note", "arguments": {"content": {v}}}'),
        ("virstack call/web", "/v1/call/web", virstack, b'{"agent_id": {v}}'),
        ("virstack tts/generate-audio", "/v1/tts/generate-audio", virstack, b'{"transcript": {v}}'),
    ]


def _is_envelope_400(label: str, r: httpx.Response) -> bool:
    if r.status_code != 400:
        return False
    body = r.json()
    if label.startswith("vb"):
        return body["success"] is False and body["error"]["code"] == "VALIDATION_ERROR"
    if label.startswith("virstack"):
        return body["success"] is False and body["code"] == 400
    return bool(body["error"]["code"])


@pytest.mark.parametrize("value", [SURROGATE, b"1e309", b"-1e400", b"NaN", b"Infinity"])
def test_surrogates_and_non_finite_numbers(callers, value):
    http, sid, vb, virstack, serviceai = callers
    for label, path, headers, body in _cases(sid, vb, virstack, serviceai):
        r = http.post(path, content=body.replace(b"{v}", value), headers=headers)
        assert _is_envelope_400(label, r), (label, r.status_code, r.text)
    notes = http.post("/api/chatty-voice/tools/execute", headers=serviceai,
                      json={"function": "list_notes", "arguments": {}}).json()
    assert notes["data"]["count"] == 0  # nothing was stored


def test_deep_nesting_on_every_named_operation(callers):
    http, sid, vb, virstack, serviceai = callers
    for label, path, headers, _ in _cases(sid, vb, virstack, serviceai):
        r = http.post(path, content=DEEP, headers=headers)
        assert _is_envelope_400(label, r), (label, r.status_code, r.text)
