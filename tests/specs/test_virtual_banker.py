"""Virtual Banker: the re-indented seed 000 and its overlay (facts from seed 001).

The seeds are committed under specs/virtual-banker/seed/ (byte-for-byte copies), so these
tests do not depend on /work/shared being present.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from tools.generate import repair
from tools.overlay import apply_overlay
from tools.yamlload import DuplicateKeyError, load_yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs" / "virtual-banker"
SPEC = SPEC_DIR / "openapi.yaml"
OVERLAY = SPEC_DIR / "overlay.yaml"
SEED_000 = SPEC_DIR / "seed" / "000_openapi.oneline.txt"
SEED_001 = SPEC_DIR / "seed" / "001_API.md"
SHARED = Path("/work/shared/seeds")
SHARED_COPIES = {SEED_000: SHARED / "000_00e3fe3676a8a790.txt", SEED_001: SHARED / "001_a09012aec57feb6c.txt"}

EXPECTED_DUPLICATES = frozenset(
    {
        "/paths/~1voice~1sessions~1{sessionId}~1transcribe/post/requestBody/content",
        "/paths/~1voice~1sessions~1{sessionId}~1synthesize/post/responses/200/content",
    }
)
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# Change 9: where an inline body schema of seed 000 was (JSON pointer in the repaired document)
# and the component that now holds it.
NAMED_BODIES = {
    "/paths/~1health/get/responses/200/content/application~1json/schema": "HealthResponse",
    "/paths/~1sessions~1{sessionId}~1refresh-token/post/responses/200/content/application~1json/schema":
        "RefreshTokenResponse",
    "/paths/~1voice~1sessions~1{sessionId}~1synthesize/post/responses/200/content/application~1json/schema":
        "SynthesisResponse",
    "/paths/~1voice~1sessions~1{sessionId}~1status/get/responses/200/content/application~1json/schema":
        "VoiceSessionStatusResponse",
    "/paths/~1voice~1sessions~1{sessionId}~1transcribe/post/requestBody/content/multipart~1form-data/schema":
        "TranscribeUpload",
    "/paths/~1voice~1sessions~1{sessionId}~1transcribe/post/requestBody/content/application~1json/schema":
        "TranscribeRequest",
    "/paths/~1voice~1sessions~1{sessionId}~1transcribe-stream/post/requestBody/content/multipart~1form-data/schema":
        "TranscribeStreamUpload",
    "/paths/~1voice~1sessions~1{sessionId}~1visemes/post/requestBody/content/application~1json/schema":
        "VisemeRequest",
    "/paths/~1voice~1sessions~1{sessionId}~1synthesize-stream/post/requestBody/content/application~1json/schema":
        "SynthesizeRequest",
}
# Change 9's components: the named bodies above (but the existing SynthesizeRequest) and their parts.
NAMED_COMPONENTS = {
    "HealthResponse", "HealthServices", "EngineHealth", "RefreshTokenResponse", "TokenRefresh", "SynthesisResponse",
    "SynthesisResult", "VoiceSessionStatusResponse", "VoiceSessionStatus", "VoiceState", "ProviderStatus",
    "VoiceSessionProviders", "TranscribeUpload", "TranscribeRequest", "TranscribeStreamUpload", "VisemeRequest",
}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _tokens(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def spec(spec_text: str) -> dict:
    return yaml.safe_load(spec_text)


@pytest.fixture(scope="module")
def overlay() -> dict:
    return load_yaml(OVERLAY.read_text(encoding="utf-8")).document


@pytest.fixture(scope="module")
def repaired(spec_text: str) -> dict:
    """The seed as tools/generate.py reads it: both repeated ``content`` maps merged."""
    loaded = load_yaml(spec_text, expected_duplicates=EXPECTED_DUPLICATES)
    repairs = [{"pointer": pointer, "reason": "seed 000 repeats the key"} for pointer in sorted(EXPECTED_DUPLICATES)]
    return repair(loaded.document, loaded.duplicates, repairs, "virtual-banker", lambda _message: None)


@pytest.fixture(scope="module")
def applied(repaired: dict, overlay: dict) -> dict:
    return apply_overlay(repaired, overlay, name="virtual-banker")


def _pointer(doc: dict, pointer: str) -> tuple[dict, str]:
    """The parent node and last key of a JSON pointer."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    node = doc
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def _validation_form(doc: dict, schema: dict) -> dict:
    """``schema`` with every $ref resolved, ``allOf`` object parts merged and the annotations
    that do not validate (``description``, ``example``) dropped: what a validator checks."""
    schema = _resolve(doc, schema)
    if "allOf" in schema:
        merged: dict = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            part = _validation_form(doc, part)
            assert set(part) <= {"type", "properties", "required"}, part
            merged["properties"].update(part.get("properties", {}))
            if part.get("required"):
                merged.setdefault("required", []).extend(part["required"])
        return merged
    out = {k: v for k, v in schema.items() if k not in ("description", "example")}
    if "properties" in out:
        out["properties"] = {name: _validation_form(doc, prop) for name, prop in out["properties"].items()}
    if "items" in out:
        out["items"] = _validation_form(doc, out["items"])
    return out


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _resolve(doc: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _is_authenticated(doc: dict, operation: dict) -> bool:
    security = operation.get("security", doc.get("security", []))
    return any(requirement for requirement in security)


def _success_codes(operation: dict) -> list[str]:
    return [code for code in operation["responses"] if str(code).startswith("2")]


# --- seed copies -------------------------------------------------------------------


@pytest.mark.parametrize("copy_path", [SEED_000, SEED_001], ids=["000", "001"])
def test_seed_copy_matches_shared_original(copy_path: Path) -> None:
    original = SHARED_COPIES[copy_path]
    if not original.exists():
        pytest.skip("/work/shared is not available (clean clone)")
    assert copy_path.read_bytes() == original.read_bytes()


def test_seed_000_is_one_line() -> None:
    assert "\n" not in SEED_000.read_text(encoding="utf-8").strip()


# --- openapi.yaml ------------------------------------------------------------------


def test_reindented_spec_has_exactly_the_seed_tokens(spec_text: str) -> None:
    assert _tokens(spec_text) == _tokens(SEED_000.read_text(encoding="utf-8"))


def test_reindented_spec_is_multiline_two_space(spec_text: str) -> None:
    lines = spec_text.splitlines()
    assert len(lines) > 1000
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        assert "\t" not in line
        assert indent % 2 == 0, line


def test_duplicate_loader_reports_exactly_the_two_repeated_content_keys(spec_text: str) -> None:
    result = load_yaml(spec_text, expected_duplicates=EXPECTED_DUPLICATES)
    assert sorted(d.pointer for d in result.duplicates) == sorted(EXPECTED_DUPLICATES)
    by_pointer = {d.pointer: d for d in result.duplicates}
    transcribe = by_pointer["/paths/~1voice~1sessions~1{sessionId}~1transcribe/post/requestBody/content"]
    assert [list(v) for v in transcribe.values] == [["multipart/form-data"], ["application/json"]]
    synthesize = by_pointer["/paths/~1voice~1sessions~1{sessionId}~1synthesize/post/responses/200/content"]
    assert [list(v) for v in synthesize.values] == [["application/json"], ["audio/mpeg", "audio/wav"]]


def test_duplicate_loader_rejects_undeclared_duplicates(spec_text: str) -> None:
    with pytest.raises(DuplicateKeyError):
        load_yaml(spec_text)


def test_spec_validates(spec: dict) -> None:
    validate(spec)
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["version"] == "1.0.0"


def test_literal_blocks_kept(spec: dict) -> None:
    description = spec["info"]["description"]
    assert "Features:\n- Voice session management\n" in description
    assert description.rstrip().endswith("- Avatar animation and lip sync")
    stream = spec["paths"]["/voice/sessions/{sessionId}/transcribe-stream"]["post"]["responses"]["200"]
    example = stream["content"]["text/event-stream"]["schema"]["example"]
    lines = example.splitlines()
    assert [lines[0], lines[2], lines[3]] == ["event: partial", "", "event: final"]
    assert lines[1].startswith('data: {"type":"partial"') and lines[4].startswith('data: {"type":"final"')
    assert len(lines) == 5


def test_structure_spot_checks(spec: dict) -> None:
    health = spec["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert list(health["properties"]) == ["status", "services", "timestamp"]
    assert list(health["properties"]["services"]["properties"]) == ["asr", "tts", "llm", "database", "redis"]
    session = spec["components"]["schemas"]["Session"]["properties"]
    assert list(session["config"]["properties"]) == ["theme", "avatar_enabled", "greeting", "allowed_tools", "policy"]
    assert "expires_at" in session and "created_at" in session
    assert spec["paths"]["/health"]["get"]["security"] == []


# --- overlay.yaml ------------------------------------------------------------------


def test_overlay_header(overlay: dict) -> None:
    assert str(overlay["overlay"]) == "1.0.0"
    assert overlay["extends"] == "./openapi.yaml"
    assert overlay["info"]["title"] and overlay["info"]["version"]
    for action in overlay["actions"]:
        assert action["target"].startswith("$")
        assert action.get("description")
        assert ("update" in action) != bool(action.get("remove"))


def test_overlay_comment_block_lists_every_rate_limited_operation(applied: dict) -> None:
    text = OVERLAY.read_text(encoding="utf-8")
    comment = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert text.startswith("#")
    for _, _, operation in _operations(applied):
        if "429" in operation["responses"]:
            assert re.search(rf"\b{operation['operationId']}\b", comment), operation["operationId"]
    for name in ("EndSessionResponse", "TooManyRequests", "Retry-After", *RATE_LIMIT_HEADERS, *NAMED_COMPONENTS):
        assert name in comment


def test_overlay_applies_and_validates(applied: dict) -> None:
    validate(applied)


def test_overlay_adds_post_end_session(applied: dict) -> None:
    operation = applied["paths"]["/sessions/{sessionId}/end"]["post"]
    assert operation["operationId"] == "endSessionPost"
    assert operation["tags"] == ["Sessions"]
    assert operation["parameters"] == [{"$ref": "#/components/parameters/SessionId"}]
    assert set(operation["responses"]) == {"200", "401", "404", "429", "500"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/EndSessionResponse"}
    body = applied["components"]["schemas"]["EndSessionResponse"]
    assert body["allOf"][0] == {"$ref": "#/components/schemas/BaseResponse"}
    assert body["allOf"][1]["properties"]["status"]["enum"] == ["ended"]
    ids = [op["operationId"] for _, _, op in _operations(applied)]
    assert len(ids) == len(set(ids))


def test_every_authenticated_operation_is_rate_limited(applied: dict) -> None:
    limited = []
    for path, method, operation in _operations(applied):
        if not _is_authenticated(applied, operation) or not _success_codes(operation):
            continue
        limited.append(operation["operationId"])
        responses = operation["responses"]
        assert responses.get("429") == {"$ref": "#/components/responses/TooManyRequests"}, (path, method)
        for code in _success_codes(operation):
            response = responses[code]
            assert "$ref" not in response, (path, method, code)
            for name in RATE_LIMIT_HEADERS:
                header = _resolve(applied, response["headers"][name])
                assert header["required"] is True, (path, method, code, name)
                assert header["schema"]["type"] == "integer"
    assert len(limited) == 15
    assert "endSessionPost" in limited
    assert "getHealth" not in limited and "webrtcSignaling" not in limited


def test_unauthenticated_and_websocket_operations_untouched(spec: dict, applied: dict) -> None:
    health = copy.deepcopy(applied["paths"]["/health"]["get"])
    assert "429" not in health["responses"]
    # change 9 names its body schema (test_named_bodies_validate_as_before); nothing else
    body = health["responses"]["200"]["content"]["application/json"]
    assert body.pop("schema") == {"$ref": "#/components/schemas/HealthResponse"}
    original = copy.deepcopy(spec["paths"]["/health"]["get"])
    del original["responses"]["200"]["content"]["application/json"]["schema"]
    assert health == original
    realtime = copy.deepcopy(applied["paths"]["/realtime/{sessionId}"])
    # change 8 documents the protocol and adds an optional `token` query parameter; nothing else
    assert "4401" in realtime["get"].pop("description")
    assert realtime["get"].pop("parameters")[1]["name"] == "token"
    original = copy.deepcopy(spec["paths"]["/realtime/{sessionId}"])
    original["get"].pop("description")
    original["get"].pop("parameters")
    assert realtime == original


def test_too_many_requests_component(applied: dict) -> None:
    response = applied["components"]["responses"]["TooManyRequests"]
    assert response["description"] == "Too many requests - rate limit exceeded"
    assert set(response["headers"]) == {*RATE_LIMIT_HEADERS, "Retry-After"}
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert applied["components"]["headers"]["X-RateLimit-Reset"]["schema"]["type"] == "integer"
    # change 10: seconds until the window has room again
    retry_after = _resolve(applied, response["headers"]["Retry-After"])
    assert retry_after["required"] is True
    assert retry_after["schema"] == {"type": "integer", "minimum": 1, "example": 30}


def _without_limits(node):
    """``node`` without ``maxLength`` keys (change 12 adds them to every open request string)."""
    if isinstance(node, dict):
        return {k: _without_limits(v) for k, v in node.items() if k != "maxLength"}
    if isinstance(node, list):
        return [_without_limits(v) for v in node]
    return node


#: Change 13: optional engines added to getHealth's services (issue 15), beside seed 000's.
HEALTH_ENGINES_ADDED = ("webrtc", "embeddings")


def test_named_bodies_validate_as_before(repaired: dict, applied: dict) -> None:
    """Change 9 moves seed 000's inline bodies into components: same properties, types,
    formats, enums, defaults and required lists (change 12's maxLengths and change 13's added
    health engines aside)."""
    repaired, applied = _without_limits(repaired), _without_limits(applied)
    for pointer, name in NAMED_BODIES.items():
        parent, key = _pointer(applied, pointer)
        assert parent[key] == {"$ref": f"#/components/schemas/{name}"}, pointer
        original_parent, original_key = _pointer(repaired, pointer)
        form = _validation_form(applied, parent[key])
        if name == "HealthResponse":
            services = form["properties"]["services"]["properties"]
            assert all(services.pop(engine) == services["asr"] for engine in HEALTH_ENGINES_ADDED)
        assert form == _validation_form(repaired, original_parent[original_key]), name


def test_overlay_changes_no_existing_schema_and_only_adds(repaired: dict, applied: dict) -> None:
    repaired, applied = _without_limits(repaired), _without_limits(applied)
    spec = repaired
    for name, schema in spec["components"]["schemas"].items():
        assert applied["components"]["schemas"][name] == schema, name
    assert set(applied["components"]["schemas"]) - set(spec["components"]["schemas"]) == {
        "EndSessionResponse", *NAMED_COMPONENTS}
    assert set(applied["paths"]) - set(spec["paths"]) == {"/sessions/{sessionId}/end"}
    # Removing what the overlay adds gives back the original document.
    stripped = copy.deepcopy(applied)
    for pointer in NAMED_BODIES:  # change 9: the inline schemas back in place of the references
        parent, key = _pointer(stripped, pointer)
        original_parent, original_key = _pointer(spec, pointer)
        parent[key] = copy.deepcopy(original_parent[original_key])
    for name in NAMED_COMPONENTS:
        del stripped["components"]["schemas"][name]
    del stripped["paths"]["/sessions/{sessionId}/end"]
    del stripped["components"]["schemas"]["EndSessionResponse"]
    del stripped["components"]["headers"]
    del stripped["components"]["responses"]["TooManyRequests"]
    forbidden = stripped["paths"]["/sessions"]["post"]["responses"].pop("403")
    assert forbidden == {"$ref": "#/components/responses/Forbidden"}
    del stripped["components"]["responses"]["ServiceUnavailable"]
    for path in ("/voice/sessions", "/voice/sessions/{sessionId}/transcribe",
                 "/voice/sessions/{sessionId}/transcribe-stream",
                 "/voice/sessions/{sessionId}/synthesize", "/voice/sessions/{sessionId}/synthesize-stream",
                 "/voice/sessions/{sessionId}/visemes"):
        responses = stripped["paths"][path]["post"]["responses"]
        assert responses.pop("503") == {"$ref": "#/components/responses/ServiceUnavailable"}
    webhook = stripped["paths"]["/voice/webhooks"]["post"]
    assert "X-VB-Signature" in webhook["description"]
    webhook["description"] = spec["paths"]["/voice/webhooks"]["post"]["description"]
    stripped["paths"]["/realtime/{sessionId}"] = copy.deepcopy(spec["paths"]["/realtime/{sessionId}"])
    for _, _, operation in _operations(stripped):
        operation["responses"].pop("429", None)
        for code in _success_codes(operation):
            headers = operation["responses"][code].get("headers")
            if headers is not None:
                for name in RATE_LIMIT_HEADERS:
                    headers.pop(name, None)
                if not headers:
                    del operation["responses"][code]["headers"]
    assert stripped == spec
