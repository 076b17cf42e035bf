"""tools/fuzz.py and its hooks, without a server: the config schemathesis reads, credentials from
the environment, the depth figure and the hooks' request fix-ups (the live run is
tests/conformance/test_contract.py)."""

from __future__ import annotations

import base64
import json
import tomllib
from types import SimpleNamespace

from tools import fuzz, fuzz_hooks

DOC = {
    "paths": {
        "/a": {"get": {"operationId": "getA", "responses": {"200": {}}}},
        "/ws": {"get": {"operationId": "socket", "responses": {"101": {}, "426": {}}}},
        "/p": {"post": {"operationId": "later", "x-gateway-pending": True, "responses": {"501": {}}}},
    },
    "components": {"securitySchemes": {"Basic": {"type": "http", "scheme": "basic"}}},
}


def test_depth_counts_plain_http_operations_only():
    assert fuzz.testable_operations(DOC) == ["getA"]
    assert fuzz.websocket_operations(DOC) == ["socket"]
    run = fuzz.ApiRun("x", ["getA", "other"], reached={"getA", "socket"})
    assert run.missing == ["other"] and run.summary() == "x: depth 1/2 operations driven to a 2xx, 0 failures"


def test_credentials_come_from_the_environment():
    env = {"FUZZ_V_USER": "u", "FUZZ_V_PASSWORD": "p", "FUZZ_V_USER_2": "w", "FUZZ_V_PASSWORD_2": "q",
           "FUZZ_V_HEADERS": '{"X-App": "1"}'}
    users = fuzz.credentials({"namespace": "v"}, DOC, "http://x", env)
    assert users == [{"X-App": "1", "Authorization": "Basic " + base64.b64encode(b"u:p").decode()},
                     {"X-App": "1", "Authorization": "Basic " + base64.b64encode(b"w:q").decode()}]


def test_config_is_valid_toml_with_every_phase_peers_and_reasons(tmp_path):
    users = [{"Authorization": "Bearer a"}, {"Authorization": "Bearer b"}]
    path = fuzz.write_config(tmp_path, "serviceai", users, seed=1, max_examples=3, phases=list(fuzz.PHASES),
                             websocket_operations=["socket"], stateful_examples=7)
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    assert all(config["phases"][p]["enabled"] for p in fuzz.PHASES)
    assert config["phases"]["stateful"]["generation"]["max-examples"] == 7
    assert config["auth"]["wfc"]["peers"] == ["user1", "user2"] and config["auth"]["wfc"]["user"] == "user1"
    wfc = json.loads((tmp_path / "wfc.json").read_text(encoding="utf-8"))
    assert [u["fixedHeaders"][0]["value"] for u in wfc["auth"]] == ["Bearer a", "Bearer b"]
    by_op = {tuple(o["include-operation-id"]): o for o in config["operations"]}
    assert "426" in by_op[("socket",)]["checks"]["positive_data_acceptance"]["expected-statuses"]
    assert "400" in by_op[("exchangeRealtimeWebrtcSdp",)]["checks"]["positive_data_acceptance"]["expected-statuses"]


def _case(operation_id, body, headers, path="/x", method="POST", path_parameters=None):
    operation = SimpleNamespace(definition=SimpleNamespace(raw={"operationId": operation_id}))
    return SimpleNamespace(operation=operation, body=body, headers=headers, path=path, method=method,
                           path_parameters=path_parameters or {})


def test_create_session_gets_the_bearer_as_its_assertion():
    from handlers.virtual_banker.security import mint_jwt

    token = mint_jwt("t-1", "u-1", "s" * 40, 60)
    case = _case("createSession", {"tenant_id": "x", "user_id": "y", "auth_assertion": "jwt-token"},
                 {"Authorization": f"Bearer {token}"})
    fuzz_hooks.before_call(None, case, {})
    assert case.body == {"tenant_id": "t-1", "user_id": "u-1", "auth_assertion": token}
    unauthenticated = _case("createSession", {"auth_assertion": "jwt-token"}, {})
    fuzz_hooks.before_call(None, unauthenticated, {})
    assert unauthenticated.body == {"auth_assertion": "jwt-token"}


def test_livekit_webhooks_are_signed_only_with_the_users_own_credentials(monkeypatch):
    from adapters.telephony.webhooks import verify

    monkeypatch.setenv("FUZZ_VIRSTACK_LIVEKIT_KEY", "APIkey")
    monkeypatch.setenv("FUZZ_VIRSTACK_LIVEKIT_SECRET", "s" * 32)
    monkeypatch.setenv("FUZZ_USER_AUTH", json.dumps(["Bearer vk-1"]))
    case, kwargs = _case("receiveLivekitWebhook", {"event": "room_started"}, {"Authorization": "Bearer vk-1"}), {}
    fuzz_hooks.before_call(None, case, kwargs)
    verify(case.headers["Authorization"], kwargs["data"], "APIkey", "s" * 32)  # raises unless signed
    probe = _case("receiveLivekitWebhook", {"event": "room_started"}, {"Authorization": "Bearer forged"})
    fuzz_hooks.before_call(None, probe, {})
    assert probe.headers == {"Authorization": "Bearer forged"}  # ignored_auth probes stay unsigned


def test_filtered_failures(monkeypatch):
    monkeypatch.setenv("FUZZ_IGNORED", json.dumps({"getProvider": ["ST402"]}))
    ola, ok = SimpleNamespace(code="ST402"), SimpleNamespace(status_code=200)
    assert fuzz_hooks.filter_failure(None, ola, _case("getProvider", None, {}), ok) is False
    assert fuzz_hooks.filter_failure(None, ola, _case("getAgent", None, {}), ok) is True
    ended = _case("endSession", None, {}, path="/sessions/{id}/end", path_parameters={"id": "s-1"})
    fuzz_hooks.after_call(None, ended, SimpleNamespace(status_code=200))
    gone = SimpleNamespace(code="ST302")
    voice = _case("synthesize", None, {}, path_parameters={"sessionId": "s-1"})
    assert fuzz_hooks.filter_failure(None, gone, voice, SimpleNamespace(status_code=404)) is False
    other = _case("synthesize", None, {}, path_parameters={"sessionId": "s-2"})
    assert fuzz_hooks.filter_failure(None, gone, other, SimpleNamespace(status_code=404)) is True


def _isolated_pools(monkeypatch, provisioners):
    for name, value in (("POOLS", {}), ("CALLS", {}), ("FILLED", {}), ("ENDED", set()), ("INACTIVE", set()),
                        ("PROVISIONERS", provisioners)):
        monkeypatch.setattr(fuzz_hooks, name, value)
    monkeypatch.setenv("FUZZ_USER_AUTH", json.dumps(["Bearer vk-1"]))


def _consumer(operation_id, body=None, path_parameters=None, path="/x", method="POST"):
    case = _case(operation_id, body, {"Authorization": "Bearer vk-1"}, path=path, method=method,
                 path_parameters=path_parameters)
    case.operation.method = method
    case.meta = SimpleNamespace(phase=SimpleNamespace(name="examples"))  # every examples case is filled
    return case


def _answer(status, body=None):
    return SimpleNamespace(status_code=status, json=lambda: body)


def test_a_call_is_made_from_a_live_active_number_of_the_callers_with_an_outbound_trunk(monkeypatch):
    fresh = {"id": "+15550000009", "number_id": "n-9", "trunk": "ST_9", "agent": "a-9"}
    _isolated_pools(monkeypatch, {"own_number": lambda caller: fresh if caller == "Bearer vk-1" else None})
    imported = {"_id": "n-1", "number": "+15550000001", "outbound_trunk_id": "ST_1", "inbound_agent_id": "a-1",
                "is_active": True}
    fuzz_hooks.after_call(None, _consumer("importPhoneNumber"), _answer(201, {"data": imported}))
    inbound_only = {**imported, "_id": "n-2", "number": "+15550000002", "outbound_trunk_id": None}
    fuzz_hooks.after_call(None, _consumer("purchasePhoneNumber"), _answer(201, {"data": inbound_only}))
    call = _consumer("initiatePhoneCall", {"from_number": "+1", "to_number": "+2"})
    fuzz_hooks.before_call(None, call, {})
    assert call.body["from_number"] == "+15550000001"  # the registered-only number cannot call out
    # deactivated (updatePhoneNumber is_active false): a call from it would be refused, so a fresh one is set up
    update = _consumer("updatePhoneNumber", {"is_active": False}, {"id": "n-1"}, path="/sip/phone-numbers/{id}",
                       method="PUT")
    fuzz_hooks.after_call(None, update, _answer(200, {"data": {**imported, "is_active": False}}))
    call = _consumer("initiatePhoneCall", {"from_number": "+1", "to_number": "+2"})
    fuzz_hooks.before_call(None, call, {})
    assert call.body["from_number"] == "+15550000009"
    # the fresh one's agent deleted: set up another
    fuzz_hooks.after_call(None, _consumer("deleteAgent", path_parameters={"agent_id": "a-9"}, method="DELETE"),
                          _answer(200, {}))
    fresh = {**fresh, "id": "+15550000010", "agent": "a-10"}
    call = _consumer("initiatePhoneCall", {"from_number": "+1", "to_number": "+2"})
    fuzz_hooks.before_call(None, call, {})
    assert call.body["from_number"] == "+15550000010"


def test_an_entry_answered_404_is_replaced_by_a_fresh_one(monkeypatch):
    made = iter([{"provider_id": "p-1", "model_id": "m-1"}, {"provider_id": "p-2", "model_id": "m-2"}])
    _isolated_pools(monkeypatch, {"model": lambda caller: next(made)})
    fuzz_hooks.after_call(None, _consumer("adminCreateProviderModel"),
                          _answer(201, {"data": {"provider_id": "p-0", "model_id": "m-0", "is_active": False}}))
    assert fuzz_hooks.POOLS == {}  # an inactive model is never answered by getProviderModel
    get = _consumer("getProviderModel", path_parameters={"provider_id": "x", "model_id": "y"}, method="GET")
    fuzz_hooks.before_call(None, get, {})
    assert get.path_parameters == {"provider_id": "p-1", "model_id": "m-1"}
    fuzz_hooks.after_call(None, get, _answer(404))  # e.g. its provider was deactivated
    get = _consumer("getProviderModel", path_parameters={"provider_id": "x", "model_id": "y"}, method="GET")
    fuzz_hooks.before_call(None, get, {})
    assert get.path_parameters == {"provider_id": "p-2", "model_id": "m-2"}
    fuzz_hooks.after_call(None, get, _answer(200, {}))
    assert fuzz_hooks.POOLS["Bearer vk-1"]["model"] == [{"provider_id": "p-2", "model_id": "m-2"}]


def test_an_optional_field_the_request_lacks_stays_absent(monkeypatch):
    _isolated_pools(monkeypatch, {"agent": lambda caller: {"id": "a-1"}, "own_number": lambda caller: None})
    call = _consumer("initiatePhoneCall", {"from_number": "+1", "to_number": "+2"})
    fuzz_hooks.before_call(None, call, {})
    assert call.body == {"from_number": "+1", "to_number": "+2"} and fuzz_hooks.POOLS == {}
