"""Virstack VoiceAI (seed 004): the spec is the seed unchanged, the overlay fixes its defects.

The seed is copied byte-for-byte to ``specs/virstack-voiceai/seed/004_openapi.yaml`` so this
test does not need /work/shared (absent in CI).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tools.overlay import apply_overlay
from tools.yamlload import load_file

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs" / "virstack-voiceai"
SPEC = SPEC_DIR / "openapi.yaml"
OVERLAY = SPEC_DIR / "overlay.yaml"
SEED_COPY = SPEC_DIR / "seed" / "004_openapi.yaml"
SHARED_SEED = Path("/work/shared/seeds/004_00c4b9ecc859a2f7.txt")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_REF = "#/components/schemas/ErrorResponse"
BASE_REF = "#/components/schemas/SuccessResponseBase"

# (method, path, operationId) in the seed's path order.
EXPECTED_OPERATIONS: list[tuple[str, str, str]] = [
    ("get", "/agent/list", "listAgents"),
    ("post", "/agent", "createAgent"),
    ("get", "/agent/{agent_id}", "getAgent"),
    ("patch", "/agent/{agent_id}", "updateAgent"),
    ("delete", "/agent/{agent_id}", "deleteAgent"),
    ("post", "/agent/{agent_id}/publish", "publishAgentVersion"),
    ("get", "/agent/{agent_id}/versions", "listAgentVersions"),
    ("post", "/auth/api-keys", "createApiKey"),
    ("delete", "/auth/api-keys/{key_id}", "revokeApiKey"),
    ("post", "/call/phone", "initiatePhoneCall"),
    ("post", "/call/web", "initiateWebCall"),
    ("get", "/call/list", "listCalls"),
    ("post", "/call/list", "listCallsViaPost"),
    ("get", "/call/{call_id}", "getCall"),
    ("patch", "/call/{call_id}", "updateCallMetadata"),
    ("delete", "/call/{call_id}", "deleteCall"),
    ("post", "/call/{call_id}/end", "endCall"),
    ("post", "/call/{roomName}/transcript", "storeCallTranscript"),
    ("post", "/call/{call_id}/analyze", "testPostCallAnalysis"),
    ("get", "/organizations/worker-name", "getOrganizationWorkerName"),
    ("get", "/providers", "listProviders"),
    ("get", "/providers/{provider_id}", "getProvider"),
    ("get", "/providers/{provider_id}/models", "listProviderModels"),
    ("get", "/providers/{provider_id}/models/{model_id}", "getProviderModel"),
    ("get", "/admin/providers", "adminListProviders"),
    ("post", "/admin/providers", "adminCreateProvider"),
    ("patch", "/admin/providers/{provider_id}", "adminUpdateProvider"),
    ("delete", "/admin/providers/{provider_id}", "adminDeleteProvider"),
    ("get", "/admin/providers/{provider_id}/models", "adminListProviderModels"),
    ("post", "/admin/providers/{provider_id}/models", "adminCreateProviderModel"),
    ("patch", "/admin/providers/{provider_id}/models/{model_id}", "adminUpdateProviderModel"),
    ("delete", "/admin/providers/{provider_id}/models/{model_id}", "adminDeleteProviderModel"),
    ("post", "/sip/trunks", "createSipTrunk"),
    ("get", "/sip/trunks", "listSipTrunks"),
    ("delete", "/sip/trunks/{id}", "deleteSipTrunk"),
    ("post", "/sip/dispatch-rules", "createDispatchRule"),
    ("get", "/sip/dispatch-rules", "listDispatchRules"),
    ("delete", "/sip/dispatch-rules/{id}", "deleteDispatchRule"),
    ("post", "/sip/phone-numbers", "purchasePhoneNumber"),
    ("get", "/sip/phone-numbers", "listPhoneNumbers"),
    ("post", "/sip/phone-numbers/import", "importPhoneNumber"),
    ("get", "/sip/phone-numbers/{id}", "getPhoneNumber"),
    ("put", "/sip/phone-numbers/{id}", "updatePhoneNumber"),
    ("delete", "/sip/phone-numbers/{id}", "deletePhoneNumber"),
    ("post", "/tts/generate-transcript", "generateFillerTranscript"),
    ("post", "/tts/generate-audio", "generateTtsAudio"),
    ("post", "/tts/generate-audio-full-prompt", "generateTtsAudioFullPrompt"),
    ("post", "/users/register", "registerUser"),
    ("post", "/users/login", "login"),
    ("post", "/users/logout", "logout"),
    ("post", "/users/member", "addTeamMember"),
    ("get", "/users/members", "listTeamMembers"),
    ("post", "/webhooks/livekit", "receiveLivekitWebhook"),
]

# Responses whose allOf puts an array-typed `data` next to SuccessResponse (data: object).
ARRAY_DATA_RESPONSES = [
    ("get", "/agent/list", "200"),
    ("get", "/agent/{agent_id}/versions", "200"),
    ("get", "/call/list", "200"),
    ("post", "/call/list", "200"),
    ("get", "/providers", "200"),
    ("get", "/providers/{provider_id}/models", "200"),
    ("get", "/sip/phone-numbers", "200"),
]
# Found by audit: data is `nullable` (null) but SuccessResponse.data is a non-nullable object.
AUDIT_DATA_RESPONSES = [("delete", "/auth/api-keys/{key_id}", "200")]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return load_file(SEED_COPY).document


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_file(SPEC).document


@pytest.fixture(scope="module")
def overlay() -> dict[str, Any]:
    return load_file(OVERLAY).document


@pytest.fixture(scope="module")
def result(spec: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    return apply_overlay(spec, overlay, name="virstack-voiceai")


# --------------------------------------------------------------------------- helpers


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(method, path, operation, path item) in document order."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op, item


def walk(node: Any, ptr: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield ptr, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*ptr, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*ptr, index))


def resolve(doc: dict[str, Any], schema: Any) -> Any:
    seen = set()
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        assert ref not in seen, f"$ref cycle at {ref}"
        seen.add(ref)
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


ANY = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})


def type_set(doc: dict[str, Any], schema: Any) -> frozenset[str]:
    """JSON types a (3.0) schema admits, following $ref / allOf / anyOf / oneOf."""
    schema = resolve(doc, schema)
    if not isinstance(schema, dict):
        return ANY
    allowed = ANY
    if "type" in schema:
        allowed = frozenset({schema["type"]} | ({"null"} if schema.get("nullable") else set()))
    for sub in schema.get("allOf", []):
        allowed &= type_set(doc, sub)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            union: frozenset[str] = frozenset()
            for sub in schema[key]:
                union |= type_set(doc, sub)
            allowed &= union
    return allowed


def data_types(doc: dict[str, Any], branch: Any) -> frozenset[str] | None:
    """Types one allOf branch allows for property `data` (None: the branch does not constrain it)."""
    branch = resolve(doc, branch)
    if not isinstance(branch, dict):
        return None
    found: frozenset[str] | None = None
    data = branch.get("properties", {}).get("data")
    if data is not None:
        found = type_set(doc, data)
    for sub in branch.get("allOf", []):
        sub_types = data_types(doc, sub)
        if sub_types is not None:
            found = sub_types if found is None else found & sub_types
    return found


def data_conflicts(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Responses whose top-level allOf has two branches giving `data` different types."""
    bad = []
    for method, path, op, _ in operations(doc):
        for status, response in op.get("responses", {}).items():
            for media in (resolve(doc, response).get("content") or {}).values():
                schema = resolve(doc, media.get("schema"))
                if not isinstance(schema, dict) or "allOf" not in schema:
                    continue
                typed = [t for t in (data_types(doc, b) for b in schema["allOf"]) if t is not None and t != ANY]
                if any(a != b for a in typed for b in typed):
                    bad.append((method, path, status))
    return bad


def effective_security(doc: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    return op["security"] if "security" in op else doc.get("security", [])


def required_statuses(doc: dict[str, Any], method: str, path: str, op: dict[str, Any],
                      item: dict[str, Any]) -> set[str]:
    """The audit rules of defect (f)."""
    need = set()
    if any("BearerAuth" in req for req in effective_security(doc, op)):
        need.add("401")
    locations = {resolve(doc, p)["in"] for p in [*item.get("parameters", []), *op.get("parameters", [])]}
    if "requestBody" in op or locations & {"path", "query"}:
        need.add("400")
    if "path" in locations:
        need.add("404")
    if path.startswith("/admin/") or (method, path) == ("post", "/users/member"):
        need.add("403")
    return need


def audit_violations(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (method, path, status)
        for method, path, op, item in operations(doc)
        for status in sorted(required_statuses(doc, method, path, op, item) - set(op.get("responses", {})))
    ]


def ref_siblings(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [ptr for ptr, node in walk(doc) if isinstance(node, dict) and "$ref" in node and len(node) > 1]


def response_schema(doc: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    return doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def diff(a: Any, b: Any, ptr: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Pointers of the highest nodes that differ between a and b."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in a or key not in b:
                yield (*ptr, key)
            else:
                yield from diff(a[key], b[key], (*ptr, key))
    elif isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            if index >= len(a) or index >= len(b):
                yield (*ptr, index)
            else:
                yield from diff(a[index], b[index], (*ptr, index))
    elif a != b or type(a) is not type(b):
        yield ptr


# --------------------------------------------------------------------------- the spec file


def test_spec_is_byte_identical_to_seed_copy() -> None:
    assert SPEC.read_bytes() == SEED_COPY.read_bytes()


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="original seed not available (CI)")
def test_seed_copy_is_byte_identical_to_original() -> None:
    assert SEED_COPY.read_bytes() == SHARED_SEED.read_bytes()


def test_spec_parses_to_the_seed_document(spec: dict[str, Any], seed: dict[str, Any]) -> None:
    assert spec == seed
    assert spec["openapi"] == "3.0.0"
    assert spec["info"] == {**spec["info"], "title": "Virstack VoiceAI API", "version": "1.0.0"}


def test_seed_has_the_defects_the_overlay_fixes(seed: dict[str, Any]) -> None:
    """Guards the checks below against passing vacuously."""
    ops = list(operations(seed))
    assert len(ops) == 53
    assert not any("operationId" in op for _, _, op, _ in ops)
    assert seed["paths"]["/organizations/worker-name"]["get"]["security"] == [{"bearerAuth": []}]
    assert "Organizations" not in {t["name"] for t in seed["tags"]}
    assert sorted(ref_siblings(seed)) == sorted(
        [
            ("paths", "/sip/phone-numbers", "post", "requestBody", "content", "application/json", "schema"),
            ("paths", "/sip/phone-numbers", "post", "responses", "201", "content", "application/json", "schema",
             "allOf", 1, "properties", "data"),
        ]
    )
    assert sorted(data_conflicts(seed)) == sorted(ARRAY_DATA_RESPONSES + AUDIT_DATA_RESPONSES)
    assert audit_violations(seed)


# --------------------------------------------------------------------------- the overlay


def test_overlay_document_shape(overlay: dict[str, Any]) -> None:
    assert str(overlay["overlay"]) == "1.0.0"
    assert overlay["info"]["title"] and overlay["info"]["version"]
    assert overlay["extends"] == "./openapi.yaml"
    assert overlay["actions"]
    for action in overlay["actions"]:
        assert action["target"].startswith("$")
        assert action.get("description"), action["target"]
        assert ("update" in action) != bool(action.get("remove")), action["target"]


def test_overlay_header_comment_lists_every_defect() -> None:
    text = OVERLAY.read_text(encoding="utf-8")
    header = text[: text.index("\noverlay:")]
    assert all(line.startswith("#") or not line.strip() for line in header.splitlines())
    for needle in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "bearerAuth", "Organizations", "SuccessResponseBase",
                   "anyOf", "found by audit", "401", "403", "404", "400"):
        assert needle.lower() in header.lower(), needle
    for _, _path, operation_id in EXPECTED_OPERATIONS:
        assert re.search(rf"\b{re.escape(operation_id)}\b", header), operation_id
    for _, path, _ in ARRAY_DATA_RESPONSES + AUDIT_DATA_RESPONSES:
        assert path in header, path


def test_overlay_applies_and_validates(result: dict[str, Any]) -> None:
    validate(copy.deepcopy(result))


def test_overlay_does_not_touch_its_input(spec: dict[str, Any], seed: dict[str, Any], result: dict[str, Any]) -> None:
    assert spec == seed
    assert result != spec


# --------------------------------------------------------------------------- (a) operationIds


def test_operation_ids(result: dict[str, Any]) -> None:
    actual = [(method, path, op.get("operationId")) for method, path, op, _ in operations(result)]
    assert actual == EXPECTED_OPERATIONS
    ids = [operation_id for _, _, operation_id in actual]
    assert len(ids) == 53 and len(set(ids)) == 53


# --------------------------------------------------------------------------- (b) bearerAuth


def test_no_reference_to_undeclared_bearerAuth(result: dict[str, Any]) -> None:
    for ptr, node in walk(result):
        if isinstance(node, (dict, str)):
            assert "bearerAuth" not in node, ptr
    assert result["paths"]["/organizations/worker-name"]["get"]["security"] == [{"BearerAuth": []}]


def test_every_security_requirement_names_a_declared_scheme(result: dict[str, Any]) -> None:
    declared = set(result["components"]["securitySchemes"])
    requirements = list(result.get("security", []))
    for _, _, op, _ in operations(result):
        requirements += op.get("security", [])
    for requirement in requirements:
        assert set(requirement) <= declared, requirement


# --------------------------------------------------------------------------- (c) tags


def test_every_used_tag_is_declared(result: dict[str, Any]) -> None:
    declared = [t["name"] for t in result["tags"]]
    assert len(declared) == len(set(declared))
    used = {tag for _, _, op, _ in operations(result) for tag in op.get("tags", [])}
    assert used <= set(declared), used - set(declared)
    organizations = next(t for t in result["tags"] if t["name"] == "Organizations")
    assert organizations.get("description")


# --------------------------------------------------------------------------- (d) $ref siblings


def test_no_ref_with_siblings_anywhere(result: dict[str, Any]) -> None:
    assert ref_siblings(result) == []


def test_phone_number_purchase_keeps_both_parts(seed: dict[str, Any], result: dict[str, Any]) -> None:
    """(d), then (p): the seed's `$ref` + inline siblings become an anyOf of two named bodies."""
    seed_body = seed["paths"]["/sip/phone-numbers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = result["paths"]["/sip/phone-numbers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    inline = {k: v for k, v in seed_body.items() if k != "$ref"}
    branches = resolve(result, body)["anyOf"]
    assert branches[0] == {"$ref": seed_body["$ref"]}
    bought = resolve(result, branches[1])
    unbounded = {k: {key: v for key, v in bought["properties"][k].items() if key != "maxLength"}  # (x) adds them
                 for k in inline["properties"]}
    assert unbounded == inline["properties"]
    assert set(bought["required"]) == set(inline["required"])  # optional fields may be added, nothing required

    seed_data = response_schema(seed, "post", "/sip/phone-numbers", "201")["allOf"][1]["properties"]["data"]
    envelope = resolve(result, response_schema(result, "post", "/sip/phone-numbers", "201"))
    data = envelope["allOf"][1]["properties"]["data"]
    assert resolve(result, data) == resolve(seed, {"$ref": seed_data["$ref"]}) or \
        resolve(result, data)["properties"].keys() >= resolve(seed, {"$ref": seed_data["$ref"]})["properties"].keys()
    assert type_set(result, data) == {"object"}


# --------------------------------------------------------------------------- (e) data types in allOf


def test_success_response_base(result: dict[str, Any]) -> None:
    schemas = result["components"]["schemas"]
    full = schemas["SuccessResponse"]
    base = schemas["SuccessResponseBase"]
    assert base["properties"] == {k: v for k, v in full["properties"].items() if k != "data"}
    assert list(base["properties"]) == ["success", "code", "message"]
    assert base["required"] == ["success", "code", "message"]  # (t): always sent


@pytest.mark.parametrize(("method", "path", "status"), ARRAY_DATA_RESPONSES + AUDIT_DATA_RESPONSES)
def test_list_responses_use_base_envelope(
    seed: dict[str, Any], result: dict[str, Any], method: str, path: str, status: str
) -> None:
    """(e), then (u): a named envelope, SuccessResponseBase plus the operation's own `data`."""
    before = response_schema(seed, method, path, status)
    after = response_schema(result, method, path, status)
    assert set(after) == {"$ref"} and after["$ref"].endswith("Envelope")
    envelope = resolve(result, after)
    assert envelope["allOf"][0] == {"$ref": BASE_REF}
    data = envelope["allOf"][1]["properties"]["data"]
    assert envelope["allOf"][1]["required"] == ["data"]
    seed_data = before["allOf"][1]["properties"]["data"]
    if (method, path, status) in AUDIT_DATA_RESPONSES:  # data: null broke the envelope; now an object
        assert type_set(result, data) == {"object"}
    else:
        assert data == seed_data


@pytest.mark.parametrize(("method", "path", "status"), ARRAY_DATA_RESPONSES)
def test_list_responses_data_is_an_array(result: dict[str, Any], method: str, path: str, status: str) -> None:
    schema = response_schema(result, method, path, status)
    assert data_types(result, schema) == {"array"}


def test_no_allof_response_gives_data_conflicting_types(result: dict[str, Any]) -> None:
    assert data_conflicts(result) == []


# --------------------------------------------------------------------------- (f) declared statuses


def test_audit_rules_hold(result: dict[str, Any]) -> None:
    assert audit_violations(result) == []


def test_added_statuses_use_the_error_envelope(seed: dict[str, Any], result: dict[str, Any]) -> None:
    for method, path, op, _ in operations(result):
        before = seed["paths"][path][method]["responses"]
        for status, response in op["responses"].items():
            if status in before:
                if status.startswith("4"):  # existing error responses are left exactly as they were
                    assert response == before[status], (method, path, status)
                continue
            assert status in {"400", "401", "403", "404", "409", "429", "503"}, (method, path, status)
            assert response["description"]
            assert response["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}


def test_login_declares_its_throttle(result: dict[str, Any]) -> None:
    """(y) Failed logins are throttled: 429 with a required Retry-After (issue 13 item 9)."""
    throttled = result["paths"]["/users/login"]["post"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["required"] is True


def test_public_operations_need_no_401(result: dict[str, Any]) -> None:
    for path in ("/users/register", "/users/login", "/users/logout"):
        op = result["paths"][path]["post"]
        assert op["security"] == []
    assert "401" not in result["paths"]["/users/register"]["post"]["responses"]
    assert set(result["paths"]["/users/logout"]["post"]["responses"]) == {"200"}


# --------------------------------------------------------------------------- nothing else


# Changes of the issue-5 section (g)-(n) of the overlay, checked in detail by the tests below.
ISSUE5_CHANGES = {
    ("components", "securitySchemes", "LiveKitWebhook"),
    ("components", "schemas", "CreateAgentBody", "properties", "agent_settings", "properties", "capabilities",
     "properties", "tools", "items", "discriminator", "mapping"),
    ("components", "schemas", "CreateProviderBody", "properties", "provider_id", "pattern"),
    ("components", "schemas", "InitiateOutboundCallBody", "properties", "from_number", "pattern"),
    ("components", "schemas", "InitiateOutboundCallBody", "properties", "to_number", "pattern"),
    ("components", "schemas", "CreateTrunkBody", "properties", "numbers", "items", "pattern"),
    ("components", "schemas", "CreatePhoneNumberBody", "properties", "number", "pattern"),
    ("components", "schemas", "SipTrunkResponse"),
    ("components", "schemas", "DispatchRuleResponse"),
    ("paths", "/sip/phone-numbers/import", "post", "requestBody", "content", "application/json", "schema",
     "properties", "phone_number", "pattern"),
    ("paths", "/tts/generate-audio", "post", "responses", "200", "headers"),
    ("paths", "/tts/generate-audio-full-prompt", "post", "responses", "200", "headers"),
    ("paths", "/webhooks/livekit", "post", "security", 0, "BearerAuth"),
    ("paths", "/webhooks/livekit", "post", "security", 0, "LiveKitWebhook"),
    ("paths", "/webhooks/livekit", "post", "requestBody", "content", "application/webhook+json"),
    ("paths", "/agent/{agent_id}/publish", "post", "requestBody", "content", "application/json", "schema", "$ref"),
    ("paths", "/agent/{agent_id}/publish", "post", "requestBody", "content", "application/json", "schema", "allOf"),
    ("paths", "/agent/{agent_id}/publish", "post", "requestBody", "content", "application/json", "schema",
     "nullable"),
    ("paths", "/call/list", "post", "requestBody", "content", "application/json", "schema", "nullable"),
    *((("paths", path, method, "responses", status, "content", "application/json", "schema", key))
      for path, method, status in (("/sip/trunks", "post", "201"), ("/sip/trunks", "get", "200"),
                                   ("/sip/dispatch-rules", "post", "201"), ("/sip/dispatch-rules", "get", "200"))
      for key in ("$ref", "allOf")),
}


# (p)-(w): the typed contract names inline schemas, declares what the server sends, and marks
# free-form objects. These changes are checked for compatibility with the seed, not pointer by pointer.
TYPED_SECTIONS = ("requestBody", "responses")


def merged(doc: dict[str, Any], schema: Any) -> tuple[dict[str, list[Any]], set[str], frozenset[str]]:
    """(properties → their schemas, required names, admitted types) of a schema with its allOf merged."""
    schema = resolve(doc, schema)
    props: dict[str, list[Any]] = {}
    required: set[str] = set()
    if not isinstance(schema, dict):
        return props, required, ANY
    for name, sub in schema.get("properties", {}).items():
        props.setdefault(name, []).append(sub)
    required |= set(schema.get("required", []))
    for branch in schema.get("allOf", []):
        more, req, _ = merged(doc, branch)
        for name, subs in more.items():
            props.setdefault(name, []).extend(subs)
        required |= req
    return props, required, type_set(doc, schema)


def incompatibilities(seed: dict[str, Any], result: dict[str, Any], before: Any, after: Any, request: bool,
                      where: tuple[Any, ...] = (), depth: int = 0) -> list[str]:
    """What a client of the seed would notice: a property dropped, a type changed, and for
    requests a newly required field. Contradictory seed schemas (no admitted type) are skipped."""
    found: list[str] = []
    if depth > 12:
        return found
    seed_props, seed_required, seed_types = merged(seed, before)
    props, required, types = merged(result, after)
    widened_request = request and seed_types <= types
    narrowed_response = not request and types <= seed_types
    if seed_types and seed_types != ANY and not (widened_request or narrowed_response):
        found.append(f"{where}: types {sorted(seed_types)} -> {sorted(types)}")
    if request and required - seed_required:
        found.append(f"{where}: newly required {sorted(required - seed_required)}")
    for name, subs in seed_props.items():
        if name not in props:
            found.append(f"{where}: property {name} dropped")
            continue
        for old in subs:
            for new in props[name]:
                found += incompatibilities(seed, result, old, new, request, (*where, name), depth + 1)
    seed_items, items = resolve(seed, before), resolve(result, after)
    if isinstance(seed_items, dict) and isinstance(items, dict) and "items" in seed_items and "items" in items:
        found += incompatibilities(seed, result, seed_items["items"], items["items"], request, (*where, "[]"),
                                   depth + 1)
    return found


# (n): SuccessResponse's object `data` where the server answers a list.
SIP_LIST_RESPONSES = [("get", "/sip/trunks", "200"), ("get", "/sip/dispatch-rules", "200")]


def _allowed_change(ptr: tuple[Any, ...], seed: dict[str, Any]) -> bool:
    if ptr == ("components", "schemas", "SuccessResponseBase") or ptr in ISSUE5_CHANGES:
        return True
    if ptr[:2] == ("components", "schemas") and len(ptr) >= 3:
        # new named schemas; seed schemas are compared for compatibility by the test below
        return True
    if ptr == ("tags", len(seed["tags"])):
        return True
    if len(ptr) < 3 or ptr[0] != "paths":
        return False
    path, method, rest = ptr[1], ptr[2], ptr[3:]
    if rest == ("operationId",):
        return True
    if (method, path) == ("get", "/organizations/worker-name") and rest[:1] == ("security",):
        return True
    if rest[:1] == ("requestBody",) and rest[1:4] == ("content", "application/json", "schema"):
        return True  # (p)/(q)/(r): compared for compatibility below
    if rest[:1] == ("responses",) and len(rest) >= 2:
        status = rest[1]
        if len(rest) == 2 and status not in seed["paths"][path][method]["responses"]:
            return True
        if str(status).startswith("2") and rest[2:5] == ("content", "application/json", "schema"):
            return True  # (u): compared for compatibility below
        if str(status).startswith("2") and rest[2:] == ("content",) and \
                "content" not in seed["paths"][path][method]["responses"][status]:
            return True  # (t): a body the seed left undeclared
    return False


def test_nothing_else_changes(seed: dict[str, Any], result: dict[str, Any]) -> None:
    changes = list(diff(seed, result))
    assert changes
    unexpected = [ptr for ptr in changes if not _allowed_change(ptr, seed)]
    assert unexpected == []


def test_typed_contract_is_compatible_with_the_seed(seed: dict[str, Any], result: dict[str, Any]) -> None:
    """(p)-(w): every request the seed accepts is still accepted (no new required field, no type
    changed), every response field the seed declares is still declared with a type it admits."""
    found: list[str] = []
    for method, path, op, _ in operations(seed):
        after_op = result["paths"][path][method]
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body is not None:
            after = after_op["requestBody"]["content"]["application/json"]["schema"]
            if (method, path) != ("post", "/sip/phone-numbers"):  # (d): checked by its own test
                found += incompatibilities(seed, result, body, after, True, (method, path, "body"))
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema is None or not str(status).startswith("2"):
                continue
            if (method, path, status) in ARRAY_DATA_RESPONSES + AUDIT_DATA_RESPONSES + SIP_LIST_RESPONSES:
                continue  # contradictory in the seed, or (n): checked by their own tests
            after = after_op["responses"][status]["content"]["application/json"]["schema"]
            found += incompatibilities(seed, result, schema, after, False, (method, path, status))
    for name, schema in seed["components"]["schemas"].items():
        request = name.endswith("Body")
        found += incompatibilities(seed, result, schema, result["components"]["schemas"][name], request, (name,))
    assert found == []


# --------------------------------------------------------------------------- issue 5: (g)-(n)


def test_tool_discriminator_maps_the_type_enums(result: dict[str, Any]) -> None:
    settings = resolve(result, result["components"]["schemas"]["CreateAgentBody"]["properties"]["agent_settings"])
    tools = resolve(result, settings["properties"]["capabilities"])["properties"]["tools"]["items"]
    mapping = tools["discriminator"]["mapping"]
    assert mapping == {"built_in": "#/components/schemas/BuiltInTool", "custom": "#/components/schemas/CustomTool"}
    for value, ref in mapping.items():
        assert resolve(result, {"$ref": ref})["properties"]["type"]["enum"] == [value]


def test_livekit_webhook_accepts_livekits_own_request(result: dict[str, Any]) -> None:
    scheme = result["components"]["securitySchemes"]["LiveKitWebhook"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    op = result["paths"]["/webhooks/livekit"]["post"]
    assert op["security"] == [{"LiveKitWebhook": []}]
    content = op["requestBody"]["content"]
    assert content["application/webhook+json"]["schema"] == content["application/json"]["schema"]


def test_list_operations_of_sip_answer_arrays(result: dict[str, Any]) -> None:
    for path in ("/sip/trunks", "/sip/dispatch-rules"):
        assert data_types(result, response_schema(result, "get", path, "200")) == {"array"}
    trunk = result["components"]["schemas"]["SipTrunkResponse"]["properties"]
    assert not any("password" in name for name in trunk)


def test_e164_patterns(result: dict[str, Any]) -> None:
    import re as _re

    schemas = result["components"]["schemas"]
    patterns = [schemas["InitiateOutboundCallBody"]["properties"]["from_number"]["pattern"],
                schemas["CreateTrunkBody"]["properties"]["numbers"]["items"]["pattern"]]
    for pattern in patterns:
        assert _re.match(pattern, "+14155551234") and not _re.match(pattern, "4155551234")
