"""Another organization's id answers 404, exactly like a missing id, on EVERY id-bearing operation.

The operations are read from the Virstack contract (every operation with a path parameter), so
a new id-bearing operation is covered automatically. The provider catalog (``provider_id``,
``model_id``) is global, not owned by an organization, and is the only exclusion.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from core.settings import Settings
from gateway.app import create_app
from tests.handlers.virstack_voiceai.conftest import AGENT_SETTINGS, LIVEKIT_KEY, LIVEKIT_SECRET, register

DOC = yaml.safe_load((Path(__file__).resolve().parents[3] / "generated" / "apis" /
                      "virstack-voiceai.openapi.yaml").read_text(encoding="utf-8"))
GLOBAL = {"provider_id", "model_id"}
BODIES = {("patch", "/agent/{agent_id}"): {"agent_settings": {"identity": {"agent_name": "Hijacked"}}},
          ("patch", "/call/{call_id}"): {"metadata": {"hijacked": True}},
          ("put", "/sip/phone-numbers/{id}"): {"nickname": "Hijacked"},
          ("post", "/call/{roomName}/transcript"): {"chat_history": {"items": []}},
          ("post", "/agent/{agent_id}/publish"): {}}


def id_operations() -> list[tuple[str, str]]:
    ops = []
    for path, item in DOC["paths"].items():
        params = set(re.findall(r"{(\w+)}", path))
        if not params or params & GLOBAL:
            continue
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method, path))
    return ops


OPERATIONS = id_operations()


def test_every_id_bearing_operation_is_covered():
    assert len(OPERATIONS) == 17
    global_ops = [(m, p) for p, item in DOC["paths"].items() for m in item if set(re.findall(r"{(\w+)}", p)) & GLOBAL]
    assert all(p.startswith(("/providers/", "/admin/providers/")) for _, p in global_ops)


@pytest.fixture(scope="module")
def module_client(tmp_path_factory):
    """One server for the module: every test below leaves organization A's data unchanged."""
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('xorg') / 'gateway.db'}",
                        validate_responses=True, livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def owned(module_client):
    """Resources of organization A, and organization B's credentials."""
    a = register(module_client, "owner")
    b = register(module_client, "intruder")
    agent = a.post("/v1/agent", json={"agent_settings": AGENT_SETTINGS}).json()["data"]
    call = a.post("/v1/call/web", json={"agent_id": agent["agent_id"]}).json()["data"]
    key = a.post("/v1/auth/api-keys", json={"name": "second"}).json()["data"]
    trunk = a.post("/v1/sip/trunks", json={"numbers": ["+14155551234"]}).json()["data"]
    rule = a.post("/v1/sip/dispatch-rules", json={"trunk_ids": [trunk["trunk_id"]]}).json()["data"]
    number = a.post("/v1/sip/phone-numbers", json={"number": "+14155551234", "trunk_id": trunk["trunk_id"],
                                                   "dispatch_rule_id": rule["dispatch_rule_id"],
                                                   "inbound_agent_id": agent["agent_id"]}).json()["data"]
    ids = {"agent_id": agent["agent_id"], "call_id": call["call_id"], "roomName": call["room_name"],
           "key_id": key["key_id"], "/sip/trunks/{id}": trunk["trunk_id"],
           "/sip/dispatch-rules/{id}": rule["dispatch_rule_id"], "/sip/phone-numbers/{id}": number["_id"]}
    return a, b, ids, key


def fill(path: str, ids: dict[str, str]) -> str:
    if "{id}" in path:
        return "/v1" + path.replace("{id}", ids[path])
    return "/v1" + re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_other_organizations_ids_are_not_found(module_client, owned, method, path):
    client = module_client
    a, b, ids, key = owned
    body = BODIES.get((method, path))
    kwargs = {"json": body} if body is not None else {}
    theirs = client.request(method.upper(), fill(path, ids), headers=b.key, **kwargs)
    assert theirs.status_code == 404, theirs.text
    assert theirs.json() == {"success": False, "code": 404, "error": theirs.json()["error"], "data": None}
    missing_ids = {k: ("ST_missing" if "sip" in k else "missing-0000") for k in ids}
    missing = client.request(method.upper(), fill(path, missing_ids), headers=b.key, **kwargs)
    assert missing.status_code == 404
    # nothing of A's changed
    assert a.get(f"/v1/agent/{ids['agent_id']}").json()["data"]["agent_settings"]["identity"]["agent_name"] == \
        "Customer Support Agent"
    call = a.get(f"/v1/call/{ids['call_id']}").json()["data"]
    assert call["status"] == "initiated" and "hijacked" not in call["metadata"] and "transcripts" not in call
    assert a.get(f"/v1/sip/phone-numbers/{ids['/sip/phone-numbers/{id}']}").json()["data"].get("nickname") is None
    assert len(a.get("/v1/sip/trunks").json()["data"]) == 1 and len(a.get("/v1/sip/dispatch-rules").json()["data"]) == 1
    assert client.get("/v1/users/members", headers={"Authorization": f"Bearer {key['api_key']}"}).status_code == 200
    assert a.get(f"/v1/agent/{ids['agent_id']}/versions").json()["data"] == []


def test_ids_in_request_bodies_are_scoped_too(owned):
    a, b, ids, _ = owned
    mine = b.post("/v1/agent", json={"agent_settings": AGENT_SETTINGS}).json()["data"]
    assert b.post("/v1/call/web", json={"agent_id": ids["agent_id"]}).status_code == 404
    call = {"from_number": "+14155551234", "to_number": "+14155550000"}
    assert b.post("/v1/call/phone", json=call).status_code == 404
    assert b.post("/v1/sip/dispatch-rules", json={"trunk_ids": [ids["/sip/trunks/{id}"]]}).status_code == 404
    assert b.post("/v1/sip/phone-numbers", json={"number": "+14155559999", "trunk_id": ids["/sip/trunks/{id}"],
                                                 "dispatch_rule_id": ids["/sip/dispatch-rules/{id}"],
                                                 "inbound_agent_id": mine["agent_id"]}).status_code == 404
    assert b.post("/v1/sip/phone-numbers/import", json={"phone_number": "+14155559998", "termination_uri": "x",
                                                        "inbound_agent_id": ids["agent_id"]}).status_code == 404
    assert b.post("/v1/call/list", json={"filters": {"agent_id": ids["agent_id"]}}).json()["data"] == []
