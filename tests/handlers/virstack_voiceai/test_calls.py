"""Virstack calls: web-call tokens verified with livekit-api, phone calls, the state machine, lists."""

from __future__ import annotations

import json

from livekit import api

from tests.handlers.virstack_voiceai.conftest import LIVEKIT_KEY, LIVEKIT_SECRET


def phone_setup(org, agent_id: str, number: str = "+14155550100") -> dict:
    r = org.post("/v1/sip/phone-numbers/import", json={"phone_number": number, "termination_uri": "pbx.example.com",
                                                       "sip_username": "pbx", "sip_password": "pbx-secret",
                                                       "inbound_agent_id": agent_id, "nickname": "Sales"})
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_web_call_returns_a_verifiable_livekit_token(org, make_agent):
    agent = make_agent(org)
    r = org.post("/v1/call/web", json={"agent_id": agent["agent_id"], "participant_identity": "user-john-doe",
                                       "metadata": {"source": "web_widget"},
                                       "dynamic_variables": {"customer_name": "John Doe"}})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["livekit_url"] == "wss://livekit.test" and data["status"] == "initiated"
    assert data["room_name"].startswith("call-") and data["room_name"].endswith("-" + agent["agent_id"])
    claims = api.TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(data["room_token"])
    assert claims.identity == "user-john-doe"
    assert claims.video.room_join is True and claims.video.room == data["room_name"]
    assert json.loads(claims.metadata) == {"source": "web_widget"}
    dispatch = claims.room_config.agents[0]
    worker = org.get("/v1/organizations/worker-name").json()["data"]["worker_name"]
    assert dispatch.agent_name == worker
    assert json.loads(dispatch.metadata)["dynamic_variables"] == {"customer_name": "John Doe"}
    try:
        api.TokenVerifier(LIVEKIT_KEY, "another-secret-0123456789-0123456789").verify(data["room_token"])
        raise AssertionError("a token must not verify with another secret")
    except Exception as exc:  # noqa: BLE001
        assert "Signature" in str(exc) or "signature" in str(exc)
    generated = org.post("/v1/call/web", json={"agent_id": agent["agent_id"]}).json()["data"]
    assert generated["participant_identity"].startswith("user-")
    assert generated["room_name"] != data["room_name"]


def test_web_call_needs_an_agent_of_the_organization(org, other_org, make_agent):
    theirs = make_agent(other_org)
    assert org.post("/v1/call/web", json={"agent_id": theirs["agent_id"]}).status_code == 404
    assert org.post("/v1/call/web", json={}).status_code == 400


def test_phone_call_rules(org, make_agent):
    agent = make_agent(org)
    phone_setup(org, agent["agent_id"])
    bad = org.post("/v1/call/phone", json={"from_number": "4155550100", "to_number": "+14155559876"})
    assert bad.status_code == 400
    unknown = org.post("/v1/call/phone", json={"from_number": "+14155550199", "to_number": "+14155559876"})
    assert unknown.status_code == 404
    r = org.post("/v1/call/phone", json={"from_number": "+14155550100", "to_number": "+14155559876",
                                         "metadata": {"campaign_id": "camp_123"}})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["status"] == "ringing" and data["channel"] == "sip" and data["direction"] == "outbound"
    assert data["telephony"] == {"from_number": "+14155550100", "to_number": "+14155559876"}
    call = org.get(f"/v1/call/{data['call_id']}").json()["data"]
    assert call["room_name"] == f"call-{data['call_id']}" and call["metadata"] == {"campaign_id": "camp_123"}
    registered = org.post("/v1/sip/trunks", json={"name": "in", "numbers": ["+14155550111"]}).json()["data"]
    rule = org.post("/v1/sip/dispatch-rules", json={"trunk_ids": [registered["trunk_id"]]}).json()["data"]
    org.post("/v1/sip/phone-numbers", json={"number": "+14155550111", "trunk_id": registered["trunk_id"],
                                            "dispatch_rule_id": rule["dispatch_rule_id"],
                                            "inbound_agent_id": agent["agent_id"]})
    no_trunk = org.post("/v1/call/phone", json={"from_number": "+14155550111", "to_number": "+14155559876"})
    assert no_trunk.status_code == 400 and "outbound SIP trunk" in no_trunk.json()["error"]


def test_end_is_idempotent_and_metadata_merges(org, make_agent):
    agent = make_agent(org)
    call = org.post("/v1/call/web", json={"agent_id": agent["agent_id"], "metadata": {"a": 1}}).json()["data"]
    url = f"/v1/call/{call['call_id']}"
    patched = org.patch(url, json={"metadata": {"resolved": True}}).json()["data"]
    assert patched["metadata"] == {"a": 1, "resolved": True}
    first = org.post(f"{url}/end")
    assert first.status_code == 200 and first.json()["data"]["status"] == "ended"
    second = org.post(f"{url}/end")
    assert second.status_code == 200 and second.json()["data"]["end_timestamp"] == first.json()["data"]["end_timestamp"]
    assert org.delete(url).status_code == 200
    assert org.get(url).status_code == 404 and org.post(f"{url}/end").status_code == 404


def test_lists_paginate_and_filter(org, make_agent):
    one, two = make_agent(org), make_agent(org)
    ids = [org.post("/v1/call/web", json={"agent_id": a["agent_id"], "metadata": {"n": i}}).json()["data"]["call_id"]
           for i, a in enumerate([one, two, one])]
    listed = org.get("/v1/call/list").json()["data"]
    assert [c["call_id"] for c in listed] == ids[::-1]
    assert [c["call_id"] for c in org.get("/v1/call/list", params={"limit": 1, "offset": 1}).json()["data"]] == [ids[1]]
    by_agent = org.post("/v1/call/list", json={"filters": {"agent_id": one["agent_id"]}}).json()["data"]
    assert {c["call_id"] for c in by_agent} == {ids[0], ids[2]}
    org.post(f"/v1/call/{ids[0]}/end")
    ended = org.post("/v1/call/list", json={"filters": {"status": ["ended"]}}).json()["data"]
    assert [c["call_id"] for c in ended] == [ids[0]]
    by_meta = org.post("/v1/call/list", json={"filters": {"metadata": {"n": 1}}, "limit": 5}).json()["data"]
    assert [c["call_id"] for c in by_meta] == [ids[1]]
    assert [c["call_id"] for c in org.post("/v1/call/list").json()["data"]] == ids[::-1]
    assert org.post("/v1/call/list", json={"filters": {"status": "sleeping"}}).status_code == 400
    assert org.post("/v1/call/list", json={"filters": {"created_after": "2000-01-01T00:00:00Z"}}).json()["data"]
    assert org.post("/v1/call/list", json={"filters": {"created_before": 946684800000}}).json()["data"] == []
