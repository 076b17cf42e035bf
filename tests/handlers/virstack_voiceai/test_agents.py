"""Virstack agents: CRUD, deep-merging PATCH validated against the contract, versions, tools."""

from __future__ import annotations

import copy

from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS


def test_create_get_list_with_defaults(org, make_agent):
    agent = make_agent(org)
    assert len(agent["agent_id"]) == 16 and agent["agent_id"].isalnum()
    assert agent["version"] == 0 and agent["is_published"] is False and agent["is_active"] is True
    settings = agent["agent_settings"]
    assert settings["engine"]["include_thoughts"] is False  # contract default filled in
    assert settings["behavior"]["agent_speaks_first"] is True
    assert settings["capabilities"]["tools"][1]["webhook_url"] == "https://example.com/orders"  # kept as sent
    assert org.get(f"/v1/agent/{agent['agent_id']}").json()["data"] == agent
    for _ in range(3):
        make_agent(org)
    page = org.get("/v1/agent/list", params={"limit": 2, "offset": 1}).json()["data"]
    assert len(page) == 2
    everything = org.get("/v1/agent/list", params={"limit": 100}).json()["data"]
    assert len(everything) == 4 and everything[-1]["agent_id"] == agent["agent_id"]  # newest first
    assert org.get("/v1/agent/list").json()["data"][:2] == everything[:2]


def test_patch_merges_deeply_and_bumps_version(org, make_agent):
    agent = make_agent(org)
    r = org.patch(f"/v1/agent/{agent['agent_id']}",
                  json={"agent_settings": {"engine": {"voice_settings": {"speed": 1.2}},
                                           "behavior": {"greeting_message": "Hi!"}}})
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["version"] == 1 and data["is_published"] is False
    assert data["agent_settings"]["engine"]["voice_settings"] == {"voice_id": "Aoede", "speed": 1.2, "language": "en",
                                                                  "temperature": 1}
    assert data["agent_settings"]["behavior"]["system_prompt"] == AGENT_SETTINGS["behavior"]["system_prompt"]
    tools = org.patch(f"/v1/agent/{agent['agent_id']}",
                      json={"agent_settings": {"capabilities": {"tools": []}}}).json()["data"]
    assert tools["agent_settings"]["capabilities"]["tools"] == [] and tools["version"] == 2


def test_patch_result_must_satisfy_the_contract_and_stores_nothing_otherwise(org, make_agent):
    agent = make_agent(org)
    bad_tool = {"agent_settings": {"capabilities": {"tools": [{"type": "custom", "tool_name": "x"}]}}}
    r = org.patch(f"/v1/agent/{agent['agent_id']}", json=bad_tool)
    assert r.status_code == 400 and r.json()["success"] is False
    bad_url = {"agent_settings": {"capabilities": {"tools": [
        {**AGENT_SETTINGS["capabilities"]["tools"][1], "webhook_url": "not a url"}]}}}
    assert org.patch(f"/v1/agent/{agent['agent_id']}", json=bad_url).status_code == 400
    assert org.get(f"/v1/agent/{agent['agent_id']}").json()["data"] == agent


def test_tool_rules(org):
    settings = copy.deepcopy(AGENT_SETTINGS)
    settings["capabilities"]["tools"][0]["type"] = "custom"  # a custom tool needs webhook_url and schema
    assert org.post("/v1/agent", json={"agent_settings": settings}).status_code == 400
    settings = copy.deepcopy(AGENT_SETTINGS)
    settings["capabilities"]["tools"].append(copy.deepcopy(settings["capabilities"]["tools"][1]))
    duplicate = org.post("/v1/agent", json={"agent_settings": settings})
    assert duplicate.status_code == 400 and "used twice" in duplicate.json()["error"]
    settings = copy.deepcopy(AGENT_SETTINGS)
    settings["capabilities"]["tools"][0]["talk_while_waiting"] = {
        "enabled": True, "mode": "prompt",
        "texts_or_prompts": {"entries": [{"id": "p1", "content": "a", "variants_count": 3},
                                         {"id": "p2", "content": "b", "variants_count": 3}]}}
    too_many = org.post("/v1/agent", json={"agent_settings": settings})
    assert too_many.status_code == 400 and "at most 5" in too_many.json()["error"]
    settings["capabilities"]["tools"][0]["talk_while_waiting"]["texts_or_prompts"]["entries"][1]["variants_count"] = 2
    assert org.post("/v1/agent", json={"agent_settings": settings}).status_code == 201
    settings["capabilities"]["tools"][0]["type"] = "something_else"
    assert org.post("/v1/agent", json={"agent_settings": settings}).status_code == 400


def test_publish_snapshots_and_is_idempotent(org, make_agent):
    agent = make_agent(org)
    url = f"/v1/agent/{agent['agent_id']}"
    first = org.post(f"{url}/publish", json={"version_description": "Initial production release"})
    assert first.status_code == 201
    snap = first.json()["data"]
    assert snap["version"] == 1 and snap["version_description"] == "Initial production release"
    again = org.post(f"{url}/publish")  # no body at all
    assert again.status_code == 201 and again.json()["data"] == snap
    assert org.get(url).json()["data"]["is_published"] is True
    org.patch(url, json={"agent_settings": {"identity": {"agent_name": "Renamed"}}})
    assert org.get(url).json()["data"]["is_published"] is False
    second = org.post(f"{url}/publish", json={}).json()["data"]
    assert second["version"] == 2 and second["agent_settings"]["identity"]["agent_name"] == "Renamed"
    versions = org.get(f"{url}/versions").json()["data"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["agent_settings"]["identity"]["agent_name"] == "Customer Support Agent"  # immutable
    assert org.get(f"{url}/versions", params={"limit": 1, "offset": 1}).json()["data"][0]["version"] == 1


def test_delete_cascades(org, make_agent):
    agent = make_agent(org)
    url = f"/v1/agent/{agent['agent_id']}"
    org.post(f"{url}/publish")
    call = org.post("/v1/call/web", json={"agent_id": agent["agent_id"]}).json()["data"]
    deleted = org.delete(url)
    assert deleted.status_code == 200 and deleted.json()["data"] == {"agent_id": agent["agent_id"]}
    assert org.get(url).status_code == 404
    assert org.get(f"{url}/versions").status_code == 404
    ended = org.get(f"/v1/call/{call['call_id']}").json()["data"]
    assert ended["status"] == "ended" and ended["disconnection_reason"] == "agent_deleted"
    assert org.delete(url).status_code == 404


def test_talk_while_waiting_texts_are_generated(org):
    settings = copy.deepcopy(AGENT_SETTINGS)
    tools = settings["capabilities"]["tools"]
    tools[0]["tool_name"] = "transfer_call"
    tools[0]["talk_while_waiting"] = {"enabled": True, "mode": "prompt", "texts_or_prompts": {"entries": [
        {"id": "p1", "content": "A short line while transferring", "variants_count": 2},
        {"id": "p2", "content": "Another one", "variants_count": 1}]}}
    tools[1]["talk_while_waiting"] = {"enabled": True, "mode": "static", "texts_or_prompts": {"entries": [
        {"id": "s1", "content": "Looking up your order now."}]}}
    agent = org.post("/v1/agent", json={"agent_settings": settings}).json()["data"]
    created = agent["agent_settings"]["capabilities"]["tools"]
    prompted = created[0]["talk_while_waiting"]["generated_speech_texts"]
    assert len(prompted) == 3 and len(set(prompted)) == 3 and prompted[0].startswith("One moment please")
    assert created[1]["talk_while_waiting"]["generated_speech_texts"] == ["Looking up your order now."]
    url = f"/v1/agent/{agent['agent_id']}"
    renamed = org.patch(url, json={"agent_settings": {"identity": {"agent_name": "X"}}}).json()["data"]
    assert renamed["agent_settings"]["capabilities"]["tools"] == created  # unchanged config keeps its texts


def test_paging_parameters_are_clamped(org, make_agent):
    agent = make_agent(org)
    huge = org.get("/v1/agent/list", params={"limit": 2**60, "offset": 2**90})
    assert huge.status_code == 200 and huge.json()["data"] == []
    assert len(org.get("/v1/agent/list", params={"limit": -5}).json()["data"]) == 0
    assert len(org.get("/v1/agent/list", params={"offset": -5}).json()["data"]) == 1
    # any integer is schema-valid (no bounds): schemathesis sent listAgentVersions a 31-digit limit
    versions = org.get(f"/v1/agent/{agent['agent_id']}/versions", params={"limit": -7 * 10**30, "offset": 10**40})
    assert versions.status_code == 200 and versions.json()["data"] == []
    assert org.post("/v1/call/list", json={"limit": 2**70, "offset": 2**70}).json()["data"] == []
