"""Virstack on PostgreSQL, with values as long as the contract allows (and NUL characters).

PostgreSQL enforces ``VARCHAR(n)`` and refuses NUL in text, SQLite does neither: the conformance
run on PostgreSQL found 500s ("value too long for type character varying(64)") for a 128-character
``provider_id`` and a number import with a 200-character nickname; the columns now take what the
contract accepts (migration 0008) and text columns hold NUL (adapters.storage.types)."""

from __future__ import annotations

import anyio
import pytest

from tests.conftest import fresh_database


@pytest.fixture
def settings(make_settings, postgres_admin):
    from tests.handlers.virstack_voiceai.conftest import LIVEKIT_KEY, LIVEKIT_SECRET

    return make_settings(database_url=fresh_database(postgres_admin, prefix="v"), livekit_api_key=LIVEKIT_KEY,
                         livekit_api_secret=LIVEKIT_SECRET,
                         virstack_jwt_secret="virstack-test-jwt-secret-0123456789-abcdef",
                         livekit_url="wss://livekit.test")


def test_provider_id_of_the_contracts_length(org):
    provider_id = "-".join(["abc"] * 32)  # 127 characters of the slug pattern
    provider_id += "d"
    assert len(provider_id) == 128
    created = org.post("/v1/admin/providers", json={"provider_id": provider_id, "display_name": "N" * 200})
    assert created.status_code == 201, created.text
    model = org.post(f"/v1/admin/providers/{provider_id}/models", json={"model_id": "m" * 128, "display_name": "M"})
    assert model.status_code == 201, model.text
    assert org.get(f"/v1/providers/{provider_id}").json()["data"]["provider_id"] == provider_id


def test_sip_values_of_the_contracts_lengths(app, org, make_agent):
    agent = make_agent(org)
    password = "😀" * 256  # 1024 UTF-8 bytes: its sealed form is 1464 characters
    trunk = org.post("/v1/sip/trunks", json={"name": "T" * 200, "numbers": ["+14155551234"],
                                            "auth_username": "u" * 256, "auth_password": password})
    assert trunk.status_code == 201, trunk.text
    sip = app.bundles["virstack-voiceai"].sip
    assert anyio.run(sip.trunk_password, trunk.json()["data"]["trunk_id"]) == password
    rule = org.post("/v1/sip/dispatch-rules", json={"name": "R" * 200, "trunk_ids": [trunk.json()["data"]["trunk_id"]],
                                                   "room_prefix": "p" * 200})
    assert rule.status_code == 201, rule.text
    registered = org.post("/v1/sip/phone-numbers", json={
        "number": "+14155550000", "trunk_id": trunk.json()["data"]["trunk_id"],
        "dispatch_rule_id": rule.json()["data"]["dispatch_rule_id"], "inbound_agent_id": agent["agent_id"],
        "provider": "c" * 64, "nickname": "n" * 200})
    assert registered.status_code == 201, registered.text
    assert registered.json()["data"]["provider"] == "c" * 64
    # an import names its trunks and rule "<nickname> inbound" / "<nickname> outbound"
    imported = org.post("/v1/sip/phone-numbers/import", json={
        "phone_number": "+14155550100", "termination_uri": "sip:" + "h" * 2044, "sip_username": "s" * 256,
        "sip_password": password, "inbound_agent_id": agent["agent_id"], "nickname": "N" * 200})
    assert imported.status_code == 201, imported.text
    names = {t["name"] for t in org.get("/v1/sip/trunks").json()["data"]}
    assert {"N" * 200 + " inbound", "N" * 200 + " outbound"} <= names


def test_text_with_nul_round_trips(org, make_agent):
    created = org.post("/v1/sip/trunks", json={"name": "main\x00line", "auth_username": "\x00"})
    assert created.status_code == 201, created.text
    listed = org.get("/v1/sip/trunks").json()["data"]
    assert [(t["name"], t["auth_username"]) for t in listed] == [("main\x00line", "\x00")]
    agent = make_agent(org, identity={"agent_name": "Nul\x00Agent"})
    assert org.get(f"/v1/agent/{agent['agent_id']}").status_code == 200


def test_inbound_call_into_a_room_of_the_longest_prefix(client, org, make_agent):
    # an individual dispatch rule names each inbound room "<room_prefix>_<caller>_<random>": with a
    # 200-character prefix (the contract's maxLength) LiveKit's webhooks carry a ~230-character room
    # name, stored in VARCHAR(200) columns (a 500 on PostgreSQL); SIP Call-IDs reach 64+ characters
    from tests.handlers.virstack_voiceai.test_webhooks import event, livekit_signed, send

    agent = make_agent(org)
    trunk = org.post("/v1/sip/trunks", json={"numbers": ["+14155551234"]}).json()["data"]
    rule = org.post("/v1/sip/dispatch-rules", json={"trunk_ids": [trunk["trunk_id"]],
                                                    "room_prefix": "p" * 200}).json()["data"]
    org.post("/v1/sip/phone-numbers", json={"number": "+14155551234", "trunk_id": trunk["trunk_id"],
                                            "dispatch_rule_id": rule["dispatch_rule_id"],
                                            "inbound_agent_id": agent["agent_id"]})
    room = "p" * 200 + "_+15105550000_AbCdEfGhIjKl"
    call_id = "a84b4c76e66710@" + "pc33.atlanta.example.com" * 4  # RFC 3261's form, longer
    joined = event("participant_joined", room, "EV_long1", participant={
        "identity": "sip_+15105550000", "kind": "SIP",
        "attributes": {"sip.phoneNumber": "+15105550000", "sip.trunkPhoneNumber": "+14155551234",
                       "sip.trunkID": trunk["trunk_id"], "sip.callID": call_id}})
    assert send(client, joined, livekit_signed(joined)).status_code == 200
    calls = org.post("/v1/call/list", json={"filters": {"direction": "inbound", "channel": "sip"}}).json()["data"]
    assert [c["room_name"] for c in calls] == [room]
