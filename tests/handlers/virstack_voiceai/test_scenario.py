"""The whole Virstack journey as a real client runs it: HTTP to a live uvicorn server.

register → login → API key → agent → publish twice (idempotent) → phone number with trunk and
rule → web call (token verified with livekit-api) → LiveKit-signed webhooks end the call →
transcript → post-call analysis.
"""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
from livekit import api

from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS, LIVEKIT_KEY, LIVEKIT_SECRET
from tests.handlers.virstack_voiceai.test_webhooks import SESSION_REPORT


def signed_webhook(http: httpx.Client, payload: dict) -> httpx.Response:
    body = json.dumps(payload).encode()
    token = (api.AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET)
             .with_sha256(base64.b64encode(hashlib.sha256(body).digest()).decode()).to_jwt())
    return http.post("/v1/webhooks/livekit", content=body,
                     headers={"Authorization": token, "Content-Type": "application/webhook+json"})


def test_full_journey_over_http(live_server):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        r = http.post("/v1/users/register", json={"organization_name": "Acme Corp", "first_name": "John",
                                                  "last_name": "Doe", "email": "john@acme.com",
                                                  "password": "password123"})
        assert r.status_code == 201, r.text
        r = http.post("/v1/users/login", json={"email": "john@acme.com", "password": "password123"})
        assert r.status_code == 200
        jwt_auth = {"Authorization": f"Bearer {r.json()['data']['token']}"}
        r = http.post("/v1/auth/api-keys", json={"name": "Production Key"}, headers=jwt_auth)
        assert r.status_code == 201
        auth = {"Authorization": f"Bearer {r.json()['data']['api_key']}"}

        agent = http.post("/v1/agent", json={"agent_settings": AGENT_SETTINGS}, headers=auth).json()["data"]
        agent_id = agent["agent_id"]
        first = http.post(f"/v1/agent/{agent_id}/publish", json={"version_description": "v1"}, headers=auth)
        second = http.post(f"/v1/agent/{agent_id}/publish", json={"version_description": "again"}, headers=auth)
        assert first.status_code == second.status_code == 201
        assert first.json()["data"] == second.json()["data"] and first.json()["data"]["version"] == 1
        assert len(http.get(f"/v1/agent/{agent_id}/versions", headers=auth).json()["data"]) == 1

        trunk = http.post("/v1/sip/trunks", json={"name": "Twilio Trunk", "numbers": ["+14155551234"],
                                                  "auth_username": "trunk_user", "auth_password": "s3cret"},
                          headers=auth).json()["data"]
        rule = http.post("/v1/sip/dispatch-rules", json={"name": "Default Inbound Rule",
                                                         "trunk_ids": [trunk["trunk_id"]], "room_prefix": "inbound-"},
                         headers=auth).json()["data"]
        number = http.post("/v1/sip/phone-numbers", json={"number": "+14155551234", "trunk_id": trunk["trunk_id"],
                                                          "dispatch_rule_id": rule["dispatch_rule_id"],
                                                          "inbound_agent_id": agent_id, "nickname": "Sales Line"},
                           headers=auth)
        assert number.status_code == 201, number.text
        assert number.json()["data"]["inbound_agent"]["agent_id"] == agent_id

        call = http.post("/v1/call/web", json={"agent_id": agent_id, "participant_identity": "user-john-doe",
                                               "metadata": {"source": "web_widget"}}, headers=auth).json()["data"]
        claims = api.TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(call["room_token"])
        assert claims.identity == "user-john-doe" and claims.video.room_join and claims.video.room == call["room_name"]
        assert call["livekit_url"] == "wss://livekit.test"

        room = {"sid": "RM_live", "name": call["room_name"]}
        for n, (name, extra) in enumerate([
            ("room_started", {}),
            ("participant_joined", {"participant": {"identity": "user-john-doe", "kind": "STANDARD"}}),
        ]):
            assert signed_webhook(http, {"event": name, "id": f"EV_{n}", "room": room, **extra}).status_code == 200
        assert http.get(f"/v1/call/{call['call_id']}", headers=auth).json()["data"]["status"] == "in_progress"
        tampered = {"event": "room_finished", "id": "EV_x", "room": room}
        body = json.dumps(tampered).encode()
        forged = api.AccessToken(LIVEKIT_KEY, "not-the-secret-0123456789-0123456789").with_sha256(
            base64.b64encode(hashlib.sha256(body).digest()).decode()).to_jwt()
        assert http.post("/v1/webhooks/livekit", content=body, headers={"Authorization": forged}).status_code == 401
        assert signed_webhook(http, {"event": "room_finished", "id": "EV_9", "room": room}).status_code == 200
        ended = http.get(f"/v1/call/{call['call_id']}", headers=auth).json()["data"]
        assert ended["status"] == "ended" and ended["end_timestamp"]

        r = http.post(f"/v1/call/{call['room_name']}/transcript", json={**SESSION_REPORT, "room": call["room_name"]},
                      headers=auth)
        assert r.status_code == 200 and r.json()["data"]["utterances"] == 3
        analysis = http.post(f"/v1/call/{call['call_id']}/analyze", headers=auth)
        assert analysis.status_code == 200, analysis.text
        custom = analysis.json()["data"]["call_analysis"]["custom_analysis_data"]
        assert custom == {"order_id": "48213", "refund_requested": True}
        final = http.get(f"/v1/call/{call['call_id']}", headers=auth).json()["data"]
        assert final["transcripts"]["transcript"].startswith("Agent: Hello!")
        assert final["call_analysis"]["custom_analysis_data"] == custom
