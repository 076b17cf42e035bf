"""Checks for the SiteLLM Vertebro Voice OpenAPI document authored from seed 003."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tools.yamlload import load_yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs" / "vertebro-voice"
SPEC_PATH = SPEC_DIR / "openapi.yaml"
SEED_PATH = SPEC_DIR / "seed" / "003_voice_api_reference.md"
PREFIX = "/api/v1/voice"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

EXPECTED_OPERATIONS = {
    "startSession": ("post", "/session/start"),
    "getSession": ("get", "/session/{session_id}"),
    "deleteSession": ("delete", "/session/{session_id}"),
    "getSessionHistory": ("get", "/session/{session_id}/history"),
    "recognizeSpeech": ("post", "/recognize"),
    "synthesizeSpeech": ("post", "/synthesize"),
    "getAudio": ("get", "/audio/{audio_id}"),
    "detectIntent": ("post", "/dialog/intent"),
    "generateDialogResponse": ("post", "/dialog/respond"),
    "voiceWebSocket": ("get", "/ws/{session_id}"),
    "getProjectAnalytics": ("get", "/analytics/project/{project}"),
    "listVoiceSamples": ("get", "/samples"),
    "uploadVoiceSamples": ("post", "/samples"),
    "deleteVoiceSample": ("delete", "/samples/{sample_id}"),
    "listTrainingJobs": ("get", "/jobs"),
    "getTrainingStatus": ("get", "/status"),
    "startTraining": ("post", "/train"),
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load_yaml(SPEC_PATH).document


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _param(doc: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    item = doc["paths"][path]
    params = [_resolve(doc, p) for p in item.get("parameters", []) + item[method].get("parameters", [])]
    matches = [p for p in params if p["name"] == name]
    assert len(matches) == 1, f"{method.upper()} {path}: parameter {name!r} not found exactly once"
    return matches[0]


def _schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return doc["components"]["schemas"][name]


def test_spec_loads_without_duplicates_and_validates(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.0.3"
    validate(doc)


def test_info_servers_tags_security(doc: dict[str, Any]) -> None:
    assert doc["info"]["title"] == "SiteLLM Vertebro Voice API"
    assert doc["info"]["version"] == "1.0.0"
    assert "Decisions where the seed is silent" in doc["info"]["description"]
    assert doc["servers"] == [{"url": PREFIX}]
    assert {t["name"] for t in doc["tags"]} == {"voice assistant", "voice"}
    assert doc["components"]["securitySchemes"]["HTTPBasic"] == {"type": "http", "scheme": "basic"}
    assert doc["security"] == [{"HTTPBasic": []}]


def test_seed_copy_is_present() -> None:
    assert SEED_PATH.is_file()
    assert SEED_PATH.read_text(encoding="utf-8").startswith("# Voice API Reference")


def test_exactly_the_expected_operations(doc: dict[str, Any]) -> None:
    found = {op["operationId"]: (method, path) for path, method, op in _operations(doc)}
    assert len(list(_operations(doc))) == 17
    assert found == EXPECTED_OPERATIONS


def test_paths_are_unprefixed(doc: dict[str, Any]) -> None:
    assert not [p for p in doc["paths"] if p.startswith(PREFIX)]


def test_every_seed_endpoint_is_in_the_spec(doc: dict[str, Any]) -> None:
    seed = SEED_PATH.read_text(encoding="utf-8")
    headings = re.findall(r"^#### (GET|POST|DELETE|WS) (/api/v1/voice/\S+)\s*$", seed, flags=re.MULTILINE)
    assert len(headings) == 17
    for verb, full_path in headings:
        path = full_path[len(PREFIX):]
        method = "get" if verb == "WS" else verb.lower()
        assert path in doc["paths"], f"{verb} {full_path} missing"
        assert method in doc["paths"][path], f"{verb} {full_path}: no {method} operation"


def test_tags(doc: dict[str, Any]) -> None:
    training = {"/samples", "/samples/{sample_id}", "/jobs", "/status", "/train"}
    for path, method, op in _operations(doc):
        expected = "voice" if path in training else "voice assistant"
        assert op["tags"] == [expected], f"{method.upper()} {path}"


def test_limits_and_defaults(doc: dict[str, Any]) -> None:
    history = _param(doc, "/session/{session_id}/history", "get", "limit")["schema"]
    assert (history["type"], history["default"], history["minimum"], history["maximum"]) == ("integer", 50, 1, 200)
    jobs = _param(doc, "/jobs", "get", "limit")["schema"]
    assert (jobs["type"], jobs["default"], jobs["minimum"], jobs["maximum"]) == ("integer", 10, 1, 25)
    for name in ("VoiceSessionRequest", "RecognitionRequest", "SynthesisRequest"):
        assert _schema(doc, name)["properties"]["language"]["default"] == "ru-RU", name
    synth = _schema(doc, "SynthesisRequest")
    assert synth["properties"]["voice"]["default"] == "default"
    assert synth["properties"]["emotion"]["default"] == "neutral"
    assert synth["properties"]["text"]["minLength"] == 1
    assert _schema(doc, "VoiceSessionRequest")["required"] == ["project"]
    for path in ("/samples", "/jobs", "/status", "/samples/{sample_id}"):
        method = "delete" if "{" in path else "get"
        project = _param(doc, path, method, "project")
        assert project["required"] is False
        assert project["schema"]["default"] == "default"
    assert _schema(doc, "VoiceTrainingJob")["properties"]["status"]["$ref"].endswith("/VoiceTrainingStatus")
    assert _schema(doc, "VoiceTrainingStatus")["enum"] == [
        "queued", "preparing", "training", "validating", "completed", "failed",
    ]


@pytest.mark.parametrize(
    ("operation_id", "status"),
    [
        ("startSession", "201"),
        ("getSession", "200"),
        ("deleteSession", "204"),
        ("recognizeSpeech", "200"),
        ("synthesizeSpeech", "202"),
        ("generateDialogResponse", "202"),
        ("voiceWebSocket", "101"),
        ("uploadVoiceSamples", "200"),
        ("deleteVoiceSample", "200"),
        ("startTraining", "200"),
    ],
)
def test_success_status_codes(doc: dict[str, Any], operation_id: str, status: str) -> None:
    method, path = EXPECTED_OPERATIONS[operation_id]
    responses = doc["paths"][path][method]["responses"]
    success = sorted(code for code in responses if code.startswith(("1", "2")))
    assert success == [status]


def test_no_body_on_204_and_websocket_upgrade_headers(doc: dict[str, Any]) -> None:
    assert "content" not in doc["paths"]["/session/{session_id}"]["delete"]["responses"]["204"]
    upgrade = doc["paths"]["/ws/{session_id}"]["get"]["responses"]["101"]
    assert set(upgrade["headers"]) == {"Upgrade", "Connection"}
    audio = doc["paths"]["/audio/{audio_id}"]["get"]["responses"]["200"]
    assert {"audio/mpeg", "audio/wav"} <= set(audio["content"])
    assert "Content-Disposition" in audio["headers"]


def test_every_operation_is_secured_and_declares_401(doc: dict[str, Any]) -> None:
    for path, method, op in _operations(doc):
        security = op.get("security", doc["security"])
        assert {"HTTPBasic": []} in security, f"{method.upper()} {path}"
        unauthorized = _resolve(doc, op["responses"]["401"])
        assert "WWW-Authenticate" in unauthorized["headers"], f"{method.upper()} {path}"
        assert unauthorized["content"]["application/json"]["example"] == {"detail": "Unauthorized"}


def test_error_responses(doc: dict[str, Any]) -> None:
    for path, method, op in _operations(doc):
        has_input = "requestBody" in op or op.get("parameters") or doc["paths"][path].get("parameters")
        if has_input:
            assert "422" in op["responses"], f"{method.upper()} {path}"
            body = _resolve(doc, op["responses"]["422"])["content"]["application/json"]["schema"]
            assert body["$ref"].endswith("/HTTPValidationError")
    for operation_id in ("getSession", "deleteSession", "getSessionHistory", "getAudio",
                         "generateDialogResponse", "voiceWebSocket", "deleteVoiceSample"):
        method, path = EXPECTED_OPERATIONS[operation_id]
        assert "404" in doc["paths"][path][method]["responses"], operation_id
    expected = {
        ("startSession", "503"): "voice_concurrency_limit",
        ("recognizeSpeech", "400"): "invalid_audio_payload",
        ("recognizeSpeech", "415"): None,
        ("synthesizeSpeech", "503"): None,
        ("generateDialogResponse", "503"): None,
        ("uploadVoiceSamples", "413"): "sample_too_large",
        ("uploadVoiceSamples", "415"): "unsupported_content_type",
        ("uploadVoiceSamples", "400"): "empty_sample",
        ("startTraining", "400"): "not_enough_samples:1/3",
        ("startTraining", "409"): "job_in_progress",
    }
    for (operation_id, status), detail in expected.items():
        method, path = EXPECTED_OPERATIONS[operation_id]
        response = _resolve(doc, doc["paths"][path][method]["responses"][status])
        if detail is None:
            continue
        media = response["content"]["application/json"]
        details = [media["example"]["detail"]] if "example" in media else [
            e["value"]["detail"] for e in media["examples"].values()
        ]
        assert detail in details, (operation_id, status)


def test_upload_and_train_request_bodies(doc: dict[str, Any]) -> None:
    upload = doc["paths"]["/samples"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    schema = _resolve(doc, upload["multipart/form-data"]["schema"])
    assert sorted(schema["required"]) == ["files", "project"]
    assert schema["properties"]["files"]["items"] == {"type": "string", "format": "binary"}
    train = doc["paths"]["/train"]["post"]["requestBody"]["content"]
    assert set(train) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    for media in train.values():
        assert _resolve(doc, media["schema"])["required"] == ["project"]


def test_websocket_message_schemas(doc: dict[str, Any]) -> None:
    def variants(name: str) -> dict[str, set[str]]:
        out = {}
        for ref in _schema(doc, name)["oneOf"]:
            variant = _resolve(doc, ref)
            (kind,) = variant["properties"]["type"]["enum"]
            out[kind] = set(variant["properties"]) - {"type"}
        return out

    assert variants("WsClientMessage") == {
        "audio_chunk": {"data", "sequence", "is_final"},
        "text_input": {"text"},
        "navigation_command": {"action", "params"},
        "ping": set(),
    }
    assert variants("WsServerMessage") == {
        "transcription": {"text", "is_final", "confidence"},
        "response": {"text", "audio_url", "sources"},
        "status": {"status", "message"},
        "pong": set(),
        "error": {"message"},
    }
    description = doc["paths"]["/ws/{session_id}"]["get"]["description"]
    for kind in ("audio_chunk", "text_input", "navigation_command", "ping",
                 "transcription", "response", "status", "pong", "error"):
        assert f'"type": "{kind}"' in description, kind


def test_no_closed_objects_or_type_arrays(doc: dict[str, Any]) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            assert node.get("additionalProperties") is not False, where
            if "type" in node and where.split("/")[-1] != "properties":
                assert not isinstance(node["type"], list), where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(doc, "")


def _absolutize(node: Any, uri: str) -> Any:
    """Copy of an inline schema whose local ``#/...`` references point into the registered document."""
    if isinstance(node, dict):
        return {
            k: (uri + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _absolutize(v, uri))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolutize(v, uri) for v in node]
    return node


def test_examples_match_their_schemas(doc: dict[str, Any]) -> None:
    uri = "urn:vertebro-voice"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))
    checked = 0

    def check(schema: dict[str, Any], value: Any, where: str) -> None:
        nonlocal checked
        schema = _absolutize(schema, uri)
        errors = list(OAS30Validator(schema, registry=registry).iter_errors(value))
        assert not errors, f"{where}: {errors[0].message}"
        checked += 1

    def media_examples(media: dict[str, Any], where: str) -> None:
        if "schema" not in media:
            return
        if "example" in media:
            check(media["schema"], media["example"], where)
        for name, ex in media.get("examples", {}).items():
            check(media["schema"], _resolve(doc, ex)["value"], f"{where}/{name}")

    for path, method, op in _operations(doc):
        for ctype, media in op.get("requestBody", {}).get("content", {}).items():
            media_examples(media, f"{method} {path} request {ctype}")
        for status, response in op["responses"].items():
            response = _resolve(doc, response)
            for ctype, media in response.get("content", {}).items():
                media_examples(media, f"{method} {path} {status} {ctype}")
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema:
            check({"$ref": f"#/components/schemas/{name}"}, schema["example"], f"schema {name}")
    assert checked > 30


def test_json_responses_have_examples(doc: dict[str, Any]) -> None:
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            media = _resolve(doc, response).get("content", {}).get("application/json")
            if media is not None:
                assert "example" in media or "examples" in media, f"{method.upper()} {path} {status}"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ("TrainingStatusResponse", {"job": None}),
        ("TrainingStatusResponse", {"job": {"id": "j", "project": "demo", "status": "queued"}}),
        ("VoiceSessionRequest", {"project": "demo", "user_id": None, "voice_preference": None}),
        ("IntentResponse", {"intent": "knowledge_query", "confidence": 0.8, "entities": {}, "suggested_action": None}),
        ("DialogResponse", {"text": "t", "audio_url": None, "sources": [], "suggested_actions": []}),
        ("RecognitionResult", {"text": "t", "confidence": 0.75, "language": "und", "alternatives": None}),
        ("VoiceTrainingJob", {"id": "j", "project": "demo", "status": "failed", "progress": None,
                              "message": None, "created_at": None, "started_at": None, "finished_at": None}),
    ],
)
def test_nullable_fields_accept_null(doc: dict[str, Any], schema: str, value: Any) -> None:
    uri = "urn:vertebro-voice"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": f"{uri}#/components/schemas/{schema}"}, registry=registry)
    assert not [e.message for e in validator.iter_errors(value)]


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ("TrainingStatusResponse", {"job": {"id": "j"}}),
        ("TrainingJobResponse", {"job": None}),
        ("SynthesisRequest", {"text": ""}),
        ("VoiceSessionRequest", {"project": ""}),
        ("HistoryItem", {"session_id": "s", "project": "p", "user_id": "u", "timestamp": "2025-11-16T11:00:00Z",
                         "type": "bogus", "content": {}}),
    ],
)
def test_invalid_values_are_rejected(doc: dict[str, Any], schema: str, value: Any) -> None:
    uri = "urn:vertebro-voice"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": f"{uri}#/components/schemas/{schema}"}, registry=registry)
    assert list(validator.iter_errors(value))


def test_issue6_contract_changes(doc: dict[str, Any]) -> None:
    """session_id on speech and intent requests (+404), history newest first, options in the
    synthesis schema, blank project/text rejected by the schema."""
    for name, (method, path) in (("RecognitionRequest", EXPECTED_OPERATIONS["recognizeSpeech"]),
                                 ("SynthesisRequest", EXPECTED_OPERATIONS["synthesizeSpeech"]),
                                 ("IntentRequest", EXPECTED_OPERATIONS["detectIntent"])):
        assert _schema(doc, name)["properties"]["session_id"] == {
            "type": "string", "minLength": 1,
            "description": _schema(doc, name)["properties"]["session_id"]["description"]}
        assert "404" in doc["paths"][path][method]["responses"], name
    history = doc["paths"]["/session/{session_id}/history"]["get"]["responses"]["200"]
    assert "newest first" in history["description"]
    options = _schema(doc, "SynthesisRequest")["properties"]["options"]["properties"]
    assert options["rate"]["minimum"] == 0.25 and 22050 in options["sample_rate"]["enum"]
    assert _schema(doc, "SynthesisRequest")["properties"]["text"]["maxLength"] == 5000
    for name, field in (("VoiceSessionRequest", "project"), ("DialogRequest", "text"), ("TrainingRequest", "project"),
                        ("VoiceSampleUpload", "project")):
        assert _schema(doc, name)["properties"][field]["pattern"] == "\\S", name
    assert doc["components"]["parameters"]["ProjectQuery"]["schema"]["pattern"] == "\\S"
