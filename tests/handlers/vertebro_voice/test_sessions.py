"""Vertebro sessions over HTTP, as a client of the original API uses them."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.handlers.vertebro_voice.conftest import API, AUTH


def test_start_get_delete(client):
    r = client.post(f"{API}/session/start", json={"project": "demo", "user_id": "u1"}, auth=AUTH)
    assert r.status_code == 201
    body = r.json()
    sid = body["session_id"]
    assert len(sid) == 32 and int(sid, 16) >= 0
    assert body["websocket_url"] == f"ws://testserver{API}/ws/{sid}"
    assert body["initial_greeting"] == "Голосовой ассистент готов. Чем могу помочь?"  # ru-RU by default
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 3500 < (expires - datetime.now(expires.tzinfo)).total_seconds() <= 3601
    assert client.get(f"{API}/session/{sid}", auth=AUTH).json() == body
    assert client.delete(f"{API}/session/{sid}", auth=AUTH).status_code == 204
    for method in (client.get, client.delete):
        r = method(f"{API}/session/{sid}", auth=AUTH)
        assert r.status_code == 404 and r.json() == {"detail": "voice_session_not_found"}
    r = client.get(f"{API}/session/{sid}/history", auth=AUTH)
    assert r.status_code == 404 and r.json() == {"detail": "voice_session_not_found"}


def test_english_greeting_and_websocket_url_behind_a_proxy(client):
    r = client.post(f"{API}/session/start", json={"project": "demo", "language": "en-GB"}, auth=AUTH,
                    headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.com"})
    body = r.json()
    assert body["initial_greeting"] == "Voice assistant ready. How can I help you today?"
    assert body["websocket_url"] == f"wss://voice.example.com{API}/ws/{body['session_id']}"


def test_authentication(client):
    r = client.post(f"{API}/session/start", json={"project": "demo"})
    assert r.status_code == 401 and r.json() == {"detail": "Unauthorized"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="vertebro"'
    assert client.post(f"{API}/session/start", json={"project": "demo"}, auth=(AUTH[0], "nope")).status_code == 401
    assert client.post(f"{API}/session/start", json={"project": "demo"}, auth=("nobody", AUTH[1])).status_code == 401


def test_validation_is_422_in_fastapi_shape(client):
    for body in ({}, {"project": ""}, {"project": "   "}, {"project": 5}):
        r = client.post(f"{API}/session/start", json=body, auth=AUTH)
        assert r.status_code == 422, body
        assert all({"loc", "msg", "type"} <= set(item) for item in r.json()["detail"])


def test_sessions_expire_and_activity_extends_them(client, clock, voice_session):
    sid = voice_session["session_id"]
    clock.advance(minutes=50)
    r = client.post(f"{API}/synthesize", json={"text": "Still here", "session_id": sid}, auth=AUTH)
    assert r.status_code == 202  # activity: expires_at moves to now + 3600 s
    clock.advance(minutes=50)
    assert client.get(f"{API}/session/{sid}", auth=AUTH).status_code == 200
    clock.advance(minutes=61)
    assert client.get(f"{API}/session/{sid}", auth=AUTH).status_code == 404


@pytest.fixture
def vertebro_overrides(vertebro_overrides):
    return {**vertebro_overrides, "voice_max_concurrent_sessions": 3}


def test_concurrent_sessions_are_capped(client, clock):
    ids = []
    for _ in range(3):
        r = client.post(f"{API}/session/start", json={"project": "cap"}, auth=AUTH)
        assert r.status_code == 201
        ids.append(r.json()["session_id"])
    r = client.post(f"{API}/session/start", json={"project": "cap"}, auth=AUTH)
    assert r.status_code == 503 and r.json() == {"detail": "voice_concurrency_limit"}
    assert client.delete(f"{API}/session/{ids[0]}", auth=AUTH).status_code == 204
    assert client.post(f"{API}/session/start", json={"project": "cap"}, auth=AUTH).status_code == 201
    assert client.post(f"{API}/session/start", json={"project": "cap"}, auth=AUTH).status_code == 503
    clock.advance(hours=2)  # every session expired: slots are free again
    assert client.post(f"{API}/session/start", json={"project": "cap"}, auth=AUTH).status_code == 201


def test_history_newest_first_with_limit(client, voice_session):
    sid = voice_session["session_id"]
    for text in ("one", "two", "three"):
        r = client.post(f"{API}/recognize", json={"text_hint": text, "language": "en-US", "session_id": sid},
                        auth=AUTH)
        assert r.status_code == 200
    r = client.post(f"{API}/dialog/intent", json={"text": "hello there", "session_id": sid}, auth=AUTH)
    assert r.json()["intent"] == "greeting"
    items = client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]
    assert [i["type"] for i in items] == ["intent", "recognition", "recognition", "recognition"]
    assert [i["content"]["text"] for i in items] == ["hello there", "three", "two", "one"]
    assert {(i["session_id"], i["project"], i["user_id"]) for i in items} == {(sid, "demo", "u1")}
    limited = client.get(f"{API}/session/{sid}/history", params={"limit": 2}, auth=AUTH).json()["items"]
    assert limited == items[:2]
    for bad in (0, 201, "x"):
        assert client.get(f"{API}/session/{sid}/history", params={"limit": bad}, auth=AUTH).status_code == 422


def test_analytics_counts_from_storage(client, voice_session):
    sid = voice_session["session_id"]
    client.post(f"{API}/session/start", json={"project": "demo"}, auth=AUTH)
    other = client.post(f"{API}/session/start", json={"project": "demo"}, auth=AUTH).json()["session_id"]
    client.delete(f"{API}/session/{other}", auth=AUTH)
    client.post(f"{API}/recognize", json={"text_hint": "hi", "session_id": sid}, auth=AUTH)
    client.post(f"{API}/recognize", json={"text_hint": "no session"}, auth=AUTH)
    r = client.get(f"{API}/analytics/project/demo", auth=AUTH)
    assert r.json() == {"project": "demo", "sessions_total": 3, "interactions_total": 1, "active_sessions": 2,
                        "ws_max_connections": 1000, "ws_ping_interval": 30}
    empty = client.get(f"{API}/analytics/project/nothing-here", auth=AUTH)
    assert empty.status_code == 200 and empty.json()["sessions_total"] == 0


def test_unknown_session_on_speech_and_intent_is_404(client):
    for path, body in (("recognize", {"text_hint": "x"}), ("synthesize", {"text": "x"}),
                       ("dialog/intent", {"text": "x"}),
                       ("dialog/respond", {"text": "x", "project": "demo"})):
        r = client.post(f"{API}/{path}", json={**body, "session_id": "0" * 32}, auth=AUTH)
        assert r.status_code == 404 and r.json() == {"detail": "voice_session_not_found"}, path


def test_storage_down_is_503_mongo_unavailable(client, app, monkeypatch):
    from adapters.storage.database import StorageUnavailable

    async def down(*_args, **_kwargs):  # what Database.run raises when the driver cannot reach the database
        raise StorageUnavailable("unable to open database file")

    monkeypatch.setattr(app.services.db, "run", down)
    for method, path, kwargs in (("post", "session/start", {"json": {"project": "demo"}}),
                                 ("get", "samples", {}), ("get", "analytics/project/demo", {}),
                                 ("post", "synthesize", {"json": {"text": "hi"}})):
        r = getattr(client, method)(f"{API}/{path}", auth=AUTH, **kwargs)
        assert r.status_code == 503 and r.json() == {"detail": "mongo_unavailable"}, path
