"""Virstack SIP over HTTP: trunks (passwords never returned), rules, numbers, inbound routing."""

from __future__ import annotations

import anyio
from sqlalchemy import text

from adapters.sip.routing import InboundCall


def test_trunk_password_is_never_returned_and_stored_sealed(app, org):
    r = org.post("/v1/sip/trunks", json={"name": "Twilio Trunk", "numbers": ["+14155551234"],
                                         "auth_username": "trunk_user", "auth_password": "s3cret-pass"})
    assert r.status_code == 201
    assert "s3cret-pass" not in r.text and not any("password" in k for k in r.json()["data"])
    listed = org.get("/v1/sip/trunks")
    assert "s3cret-pass" not in listed.text and listed.json()["data"][0]["auth_username"] == "trunk_user"
    with app.services.db.engine.connect() as conn:
        sealed = conn.execute(text("SELECT auth_password_sealed FROM vs_sip_trunk")).scalar_one()
    assert sealed and "s3cret-pass" not in sealed
    sip = app.bundles["virstack-voiceai"].sip
    assert anyio.run(sip.trunk_password, r.json()["data"]["trunk_id"]) == "s3cret-pass"


def test_trunk_and_rule_conflicts(org, other_org):
    first = org.post("/v1/sip/trunks", json={"numbers": ["+14155551234"]})
    assert first.status_code == 201
    clash = other_org.post("/v1/sip/trunks", json={"numbers": ["+14155551234"]})
    assert clash.status_code == 409 and clash.json()["code"] == 409
    trunk_id = first.json()["data"]["trunk_id"]
    assert org.post("/v1/sip/dispatch-rules", json={"trunk_ids": [trunk_id]}).status_code == 201
    assert org.post("/v1/sip/dispatch-rules", json={"trunk_ids": [trunk_id]}).status_code == 409
    assert other_org.post("/v1/sip/dispatch-rules", json={"trunk_ids": [trunk_id]}).status_code == 404
    assert org.post("/v1/sip/dispatch-rules", json={"trunk_ids": ["ST_missing"]}).status_code == 404
    assert [r["trunk_ids"] for r in org.get("/v1/sip/dispatch-rules").json()["data"]] == [[trunk_id]]
    assert other_org.get("/v1/sip/dispatch-rules").json()["data"] == []
    assert org.delete(f"/v1/sip/trunks/{trunk_id}").status_code == 200
    assert org.delete(f"/v1/sip/trunks/{trunk_id}").status_code == 404


def test_numbers_bind_agents_and_route_inbound_calls(app, org, make_agent):
    agent = make_agent(org)
    trunk = org.post("/v1/sip/trunks", json={"name": "main", "numbers": ["+14155551234"]}).json()["data"]
    rule = org.post("/v1/sip/dispatch-rules", json={"name": "in", "trunk_ids": [trunk["trunk_id"]],
                                                    "room_prefix": "inbound-"}).json()["data"]
    body = {"number": "+14155550000", "trunk_id": trunk["trunk_id"], "dispatch_rule_id": rule["dispatch_rule_id"],
            "inbound_agent_id": agent["agent_id"], "nickname": "Sales Line"}
    created = org.post("/v1/sip/phone-numbers", json=body)
    assert created.status_code == 201, created.text
    number = created.json()["data"]
    assert number["phone_number_pretty"] == "(415) 555-0000" and number["inbound_agent"]["agent_name"]
    assert org.post("/v1/sip/phone-numbers", json=body).status_code == 409
    # the trunk now serves the registered number too
    assert "+14155550000" in org.get("/v1/sip/trunks").json()["data"][0]["numbers"]
    telephony = app.bundles["virstack-voiceai"].telephony
    route, registration = anyio.run(telephony.route_inbound, InboundCall("+14155550000", "+15105551111"))
    assert route.trunk.trunk_id == trunk["trunk_id"] and route.rule.rule_id == rule["dispatch_rule_id"]
    assert route.room_name.startswith("inbound-_+15105551111_")
    assert registration.inbound_agent_id == agent["agent_id"]

    url = f"/v1/sip/phone-numbers/{number['_id']}"
    assert org.get(url).json()["data"]["inbound_agent_id"] == agent["agent_id"]
    other_agent = make_agent(org)
    updated = org.put(url, json={"outbound_agent_id": other_agent["agent_id"], "is_active": False}).json()["data"]
    assert updated["outbound_agent_id"] == other_agent["agent_id"] and updated["is_active"] is False
    assert org.put(url, json={"inbound_agent_id": "nope"}).status_code == 404
    assert [n["_id"] for n in org.get("/v1/sip/phone-numbers", params={"active": "false"}).json()["data"]] == [
        number["_id"]]
    assert org.get("/v1/sip/phone-numbers", params={"active": "true"}).json()["data"] == []
    assert len(org.get("/v1/sip/phone-numbers", params={"inbound_agent_id": agent["agent_id"]}).json()["data"]) == 1
    assert org.delete(url).status_code == 200 and org.get(url).status_code == 404


def test_import_provisions_and_delete_cleans_up(org, make_agent):
    agent = make_agent(org)
    r = org.post("/v1/sip/phone-numbers/import", json={"phone_number": "+14155550100",
                                                       "termination_uri": "pbx.example.com",
                                                       "sip_username": "pbx", "sip_password": "pbx-secret",
                                                       "inbound_agent_id": agent["agent_id"]})
    assert r.status_code == 201 and "pbx-secret" not in r.text
    kinds = sorted(t["kind"] for t in org.get("/v1/sip/trunks").json()["data"])
    assert kinds == ["inbound", "outbound"] and len(org.get("/v1/sip/dispatch-rules").json()["data"]) == 1
    again = org.post("/v1/sip/phone-numbers/import", json={"phone_number": "+14155550100", "termination_uri": "x",
                                                           "inbound_agent_id": agent["agent_id"]})
    assert again.status_code == 409
    assert org.delete(f"/v1/sip/phone-numbers/{r.json()['data']['_id']}").status_code == 200
    assert org.get("/v1/sip/trunks").json()["data"] == [] and org.get("/v1/sip/dispatch-rules").json()["data"] == []


def test_purchase_needs_carrier_credentials(org, make_agent):
    agent = make_agent(org)
    r = org.post("/v1/sip/phone-numbers", json={"area_code": "415", "provider": "twilio",
                                                "inbound_agent_id": agent["agent_id"]})
    assert r.status_code == 400 and "TWILIO_ACCOUNT_SID" in r.json()["error"]
    r = org.post("/v1/sip/phone-numbers", json={"area_code": "415", "provider": "telnyx",
                                                "inbound_agent_id": agent["agent_id"]})
    assert r.status_code == 400 and "TELNYX_API_KEY" in r.json()["error"]
    assert org.post("/v1/sip/phone-numbers", json={"area_code": "415", "provider": "twilio",
                                                   "inbound_agent_id": "missing"}).status_code == 404
