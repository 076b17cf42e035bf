"""Field names both ways (issue 14): requests accept the original's camelCase aliases, responses carry
both spellings with the same values (the camelCase ones deprecated in the contract), over HTTP and the
WebSocket; ``POST /dialog/respond`` answers ``type: "response"``."""

from __future__ import annotations

import base64
import io
import re
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.handlers.vertebro_voice.conftest import API, AUTH, BASIC, speech_wav

DOCUMENT = Path(__file__).resolve().parents[3] / "generated" / "apis" / "vertebro-voice.openapi.yaml"

#: camelCase alias → snake_case field, per response schema: exactly the aliases the original models had.
RESPONSE_ALIASES = {
    "VoiceSessionResponse": {"sessionId": "session_id", "websocketUrl": "websocket_url", "expiresAt": "expires_at",
                             "initialGreeting": "initial_greeting"},
    "RecognitionResult": {"processingTimeMs": "processing_time_ms", "isFinal": "is_final"},
    "SynthesisResponse": {"audioUrl": "audio_url", "durationSeconds": "duration_seconds"},
    "IntentResponse": {"suggestedAction": "suggested_action"},
    "DialogResponse": {"audioUrl": "audio_url", "suggestedActions": "suggested_actions"},
    "VoiceSample": {"fileId": "file_id", "contentType": "content_type", "sizeBytes": "size_bytes",
                    "durationSeconds": "duration_seconds", "uploadedAt": "uploaded_at"},
    "VoiceTrainingJob": {"createdAt": "created_at", "startedAt": "started_at", "finishedAt": "finished_at"},
    "WsTranscriptionMessage": {"isFinal": "is_final"},
    "WsResponseMessage": {"audioUrl": "audio_url", "suggestedActions": "suggested_actions"},
}
REQUEST_ALIASES = {
    "VoiceSessionRequest": {"userId": "user_id", "voicePreference": "voice_preference"},
    "RecognitionRequest": {"audioBase64": "audio_base64", "textHint": "text_hint", "sessionId": "session_id"},
    "SynthesisRequest": {"sessionId": "session_id"},
    "IntentRequest": {"sessionId": "session_id"},
    "DialogRequest": {"sessionId": "session_id"},
    "WsAudioChunkMessage": {"isFinal": "is_final"},
}
CAMEL = re.compile(r"[a-z][a-z0-9]*[A-Z]")


def _both(body: dict[str, Any], schema: str) -> None:
    """Every alias of ``schema`` is in ``body`` with its snake_case twin's value."""
    for camel, snake in RESPONSE_ALIASES[schema].items():
        assert snake in body and camel in body, (schema, snake, camel, body)
        assert body[camel] == body[snake], (schema, camel, body)


# ---- the contract ----

@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _deprecated(schema: dict[str, Any]) -> set[str]:
    return {name for name, prop in schema.get("properties", {}).items() if prop.get("deprecated")}


def test_aliases_are_exactly_the_originals_and_deprecated(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    declared = {name: _deprecated(s) for name, s in schemas.items() if _deprecated(s)}
    expected = {**{k: set(v) for k, v in RESPONSE_ALIASES.items()}, **{k: set(v) for k, v in REQUEST_ALIASES.items()}}
    assert declared == expected
    for name, aliases in {**RESPONSE_ALIASES, **REQUEST_ALIASES}.items():
        props = schemas[name]["properties"]
        for camel, snake in aliases.items():
            assert f"`{snake}`" in props[camel]["description"], (name, camel)
            assert "Deprecated camelCase" in props[camel]["description"], (name, camel)


def test_response_aliases_are_required_exactly_like_their_twins(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name, aliases in RESPONSE_ALIASES.items():
        schema = schemas[name]
        required = set(schema["required"])
        for camel, snake in aliases.items():
            assert (camel in required) == (snake in required) == True, (name, camel)  # noqa: E712
            twin, alias = schema["properties"][snake], schema["properties"][camel]
            if "$ref" not in twin:
                assert alias.get("type") == twin.get("type") and alias.get("nullable") == twin.get("nullable"), name


def test_only_aliased_schemas_have_camel_case_fields(doc: dict[str, Any]) -> None:
    for name, schema in doc["components"]["schemas"].items():
        camel = {p for p in schema.get("properties", {}) if CAMEL.match(p)}
        assert camel == _deprecated(schema), name


def test_every_example_of_the_served_document_matches_its_schema(doc: dict[str, Any]) -> None:
    uri = "urn:vertebro-voice-served"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))

    def absolutize(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: uri + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else absolutize(v)
                    for k, v in node.items()}
        return [absolutize(v) for v in node] if isinstance(node, list) else node

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = doc
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
        return node

    checked = 0
    for item in doc["paths"].values():
        for method, op in item.items():
            if method == "parameters":
                continue
            media = [m for m in op.get("requestBody", {}).get("content", {}).values()]
            media += [m for r in op["responses"].values() for m in resolve(r).get("content", {}).values()]
            for m in media:
                values = ([m["example"]] if "example" in m else []) + [
                    resolve(e)["value"] for e in m.get("examples", {}).values()]
                for value in values:
                    errors = list(OAS30Validator(absolutize(m["schema"]), registry=registry).iter_errors(value))
                    assert not errors, (method, op["operationId"], errors[0].message)
                    checked += 1
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema:
            validator = OAS30Validator({"$ref": f"{uri}#/components/schemas/{name}"}, registry=registry)
            assert not list(validator.iter_errors(schema["example"])), name
            checked += 1
    assert checked > 30


# ---- HTTP, both directions ----

def test_session_request_in_camel_case_and_both_spellings_in_the_answer(client):
    r = client.post(f"{API}/session/start", auth=AUTH, json={
        "project": "demo", "userId": "camel-user", "language": "en-US",
        "voicePreference": {"provider": "demo", "voice_id": "en"}})
    assert r.status_code == 201, r.text
    started = r.json()
    _both(started, "VoiceSessionResponse")
    fetched = client.get(f"{API}/session/{started['sessionId']}", auth=AUTH).json()
    assert fetched == started
    client.post(f"{API}/recognize", json={"textHint": "hello", "sessionId": started["session_id"]}, auth=AUTH)
    items = client.get(f"{API}/session/{started['session_id']}/history", auth=AUTH).json()["items"]
    assert [(i["user_id"], i["content"]["text"]) for i in items] == [("camel-user", "hello")]
    assert not [k for i in items for k in i if CAMEL.match(k)]  # history items stay snake_case
    both = client.post(f"{API}/session/start", json={"project": "demo", "user_id": "snake", "userId": "camel"},
                       auth=AUTH).json()
    client.post(f"{API}/recognize", json={"text_hint": "x", "session_id": both["session_id"]}, auth=AUTH)
    items = client.get(f"{API}/session/{both['session_id']}/history", auth=AUTH).json()["items"]
    assert items[0]["user_id"] == "snake"  # snake_case wins when both are sent


def test_recognition_accepts_camel_case_and_answers_both(client, app, voice_session):
    sid = voice_session["session_id"]
    r = client.post(f"{API}/recognize", json={"textHint": "Покажи цены", "sessionId": sid}, auth=AUTH)
    assert r.status_code == 200
    result = r.json()
    assert (result["text"], result["confidence"], result["alternatives"]) == ("Покажи цены", 1.0, None)
    _both(result, "RecognitionResult")
    assert result["isFinal"] is True
    wav = speech_wav(app, "Please open the pricing page")
    heard = client.post(f"{API}/recognize", json={"audioBase64": base64.b64encode(wav).decode(), "language": "en-US"},
                        auth=AUTH).json()
    assert "pricing page" in heard["text"].lower() and heard["processingTimeMs"] == heard["processing_time_ms"] > 0
    r = client.post(f"{API}/recognize", json={"audioBase64": "not base64!!"}, auth=AUTH)
    assert r.status_code == 400 and r.json() == {"detail": "invalid_audio_payload"}
    hint_wins = client.post(f"{API}/recognize", json={"text_hint": "snake", "textHint": "camel"}, auth=AUTH).json()
    assert hint_wins["text"] == "snake"
    r = client.post(f"{API}/recognize", json={"textHint": "x", "sessionId": "0" * 32}, auth=AUTH)
    assert r.status_code == 404 and r.json() == {"detail": "voice_session_not_found"}


def test_synthesis_and_intent_answer_both_spellings(client, app, voice_session, knowledge):
    import anyio

    from core.clock import utcnow

    for text in ("What are your opening hours", "When are you open"):  # an own intent without an action
        anyio.run(app.bundles["vertebro-voice"].intents.add_example, "demo", "opening_hours", text, None, utcnow())
    sid = voice_session["session_id"]
    r = client.post(f"{API}/synthesize", json={"text": "Both spellings", "language": "en-US", "sessionId": sid},
                    auth=AUTH)
    assert r.status_code == 202
    _both(r.json(), "SynthesisResponse")
    assert client.get(r.json()["audioUrl"], auth=AUTH).status_code == 200
    nav = client.post(f"{API}/dialog/intent", json={"text": "Open the pricing page", "sessionId": sid}, auth=AUTH)
    assert nav.status_code == 200
    _both(nav.json(), "IntentResponse")
    assert nav.json()["suggestedAction"] == {"type": "navigate", "url": "/pricing"}
    search = client.post(f"{API}/dialog/intent", json={"text": "Find wireless headphones"}, auth=AUTH).json()
    assert search["intent"] == "search"
    assert search["suggested_action"]["query"] == "wireless headphones"  # an action's own keys survive the model
    _both(search, "IntentResponse")
    hours = client.post(f"{API}/dialog/intent", json={"text": "What are your opening hours on Sunday?",
                                                      "project": "demo"}, auth=AUTH).json()
    assert hours["intent"] == "opening_hours"
    assert hours["suggested_action"] is None and hours["suggestedAction"] is None  # null is written, not left out
    types = [i["type"] for i in client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]]
    assert types == ["intent", "synthesis"]  # sessionId recorded both


def test_dialog_respond_takes_session_id_in_either_spelling_and_answers_type_response(client, knowledge):
    sid = client.post(f"{API}/session/start", json={"project": "demo", "language": "en-US"}, auth=AUTH).json()[
        "session_id"]
    r = client.post(f"{API}/dialog/respond", auth=AUTH,
                    json={"sessionId": sid, "project": "demo", "text": "Open the pricing page"})
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["type"] == "response"
    _both(answer, "DialogResponse")
    assert answer["suggestedActions"] == [{"type": "navigate", "url": "/pricing"}]
    snake = client.post(f"{API}/dialog/respond", json={"session_id": sid, "project": "demo", "text": "Hello"},
                        auth=AUTH).json()
    assert snake["type"] == "response"
    r = client.post(f"{API}/dialog/respond", json={"session_id": sid, "sessionId": "0" * 32, "project": "demo",
                                                   "text": "Hello"}, auth=AUTH)
    assert r.status_code == 202  # snake_case wins
    r = client.post(f"{API}/dialog/respond", json={"session_id": "0" * 32, "sessionId": sid, "project": "demo",
                                                   "text": "Hello"}, auth=AUTH)
    assert r.status_code == 404 and r.json() == {"detail": "voice_session_not_found"}
    r = client.post(f"{API}/dialog/respond", json={"project": "demo", "text": "Hello"}, auth=AUTH)
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


def test_training_answers_both_spellings(client, app):
    wavs = [speech_wav(app, text) for text in ("One sample here", "Another sample here", "A third sample")]
    files = [("files", (f"{i}.wav", w, "audio/wav")) for i, w in enumerate(wavs)]
    r = client.post(f"{API}/samples", data={"project": "alias"}, files=files, auth=AUTH)
    assert r.status_code == 200
    samples = r.json()["samples"]
    for sample, data in zip(samples, wavs, strict=True):
        _both(sample, "VoiceSample")
        assert sample["sizeBytes"] == len(data) and isinstance(sample["uploadedAt"], float)
    listed = client.get(f"{API}/samples", params={"project": "alias"}, auth=AUTH).json()
    assert listed == r.json()
    anyio_stop(app)
    started = client.post(f"{API}/train", data={"project": "alias"}, auth=AUTH)
    assert started.status_code == 200
    job = started.json()["job"]
    _both(job, "VoiceTrainingJob")
    assert job["startedAt"] is None and job["finishedAt"] is None and job["progress"] == 0.0
    status = client.get(f"{API}/status", params={"project": "alias"}, auth=AUTH).json()["job"]
    jobs = client.get(f"{API}/jobs", params={"project": "alias"}, auth=AUTH).json()["jobs"]
    assert status == jobs[0] == job
    assert set(client.get(f"{API}/analytics/project/alias", auth=AUTH).json()) == {
        "project", "sessions_total", "interactions_total", "active_sessions", "ws_max_connections",
        "ws_ping_interval"}  # analytics stays snake_case


def anyio_stop(app) -> None:
    """Stop the training worker so a queued job stays as it was answered."""
    import anyio

    anyio.run(app.bundles["vertebro-voice"].worker.stop)


# ---- the WebSocket ----

def test_websocket_frames_carry_the_aliases_and_audio_chunk_accepts_is_final_in_camel_case(client, app,
                                                                                          voice_session, knowledge):
    sid = voice_session["session_id"]
    with wave.open(io.BytesIO(speech_wav(app, "Please show me the pricing page."))) as w:
        pcm = w.readframes(w.getnframes())
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        ws.receive_json()
        ws.send_json({"type": "text_input", "text": "Open the pricing page"})
        assert ws.receive_json()["type"] == "status"
        reply = ws.receive_json()
        assert reply["type"] == "response"
        _both(reply, "WsResponseMessage")
        assert reply["suggestedActions"] == [{"type": "navigate", "url": "/pricing"}]
        chunks = [pcm[offset:offset + 640] for offset in range(0, len(pcm), 640)]
        for sequence, chunk in enumerate(chunks):  # no trailing silence: only isFinal ends the utterance
            ws.send_json({"type": "audio_chunk", "data": base64.b64encode(chunk).decode(), "sequence": sequence,
                          "isFinal": sequence == len(chunks) - 1})
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["type"] != "response":
            messages.append(ws.receive_json())
    transcription = next(m for m in messages if m["type"] == "transcription")
    _both(transcription, "WsTranscriptionMessage")
    assert transcription["isFinal"] is True and "pricing" in transcription["text"].lower()
    _both(messages[-1], "WsResponseMessage")
