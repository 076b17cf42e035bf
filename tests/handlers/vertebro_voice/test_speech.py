"""Vertebro recognition, synthesis and the audio cache over HTTP (real espeak-ng and Whisper)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import anyio
import pytest

from adapters.providers import audio as codec
from tests.handlers.vertebro_voice.conftest import API, AUTH, speech_wav


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_synthesize_then_download_mp3_and_recognize_it(client, voice_session):
    sid = voice_session["session_id"]
    text = "Please open the pricing page"
    r = client.post(f"{API}/synthesize", json={"text": text, "language": "en-US", "session_id": sid}, auth=AUTH)
    assert r.status_code == 202
    body = r.json()
    assert body["cached"] is False and body["audio_url"].startswith(f"{API}/audio/")
    audio = client.get(body["audio_url"], auth=AUTH)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    audio_id = body["audio_url"].rsplit("/", 1)[1]
    assert audio.headers["content-disposition"] == f'inline; filename="{audio_id}.mp3"'
    info = codec.probe(audio.content)
    assert info.codec.startswith("mp3") and info.sample_rate == 22050
    # duration_seconds is the synthesized PCM length; the MP3 adds at most ~2 frames of padding
    assert body["duration_seconds"] > 1.0 and 0 <= info.duration - body["duration_seconds"] < 0.2
    r = client.post(f"{API}/recognize", json={"audio_base64": _b64(audio.content), "language": "en-US",
                                              "session_id": sid}, auth=AUTH)
    assert r.status_code == 200
    result = r.json()
    assert "pricing page" in result["text"].lower()
    assert 0.3 < result["confidence"] <= 1.0 and result["processing_time_ms"] > 0
    assert result["language"] == "en-US" and result["is_final"] is True
    items = client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]
    assert [i["type"] for i in items] == ["recognition", "synthesis"]
    assert items[0]["content"]["text"] == result["text"] and items[1]["content"]["audio_url"] == body["audio_url"]


def test_synthesis_cache_key_covers_text_voice_language_emotion_options(client):
    base = {"text": "Кэш проверяется", "voice": "default", "language": "ru-RU", "emotion": "neutral", "options": {}}
    first = client.post(f"{API}/synthesize", json=base, auth=AUTH).json()
    again = client.post(f"{API}/synthesize", json={"text": "Кэш проверяется"}, auth=AUTH).json()  # same by defaults
    assert again == {**first, "cached": True}
    seen = {first["audio_url"]}
    for change in ({"text": "Другой текст"}, {"language": "en-US"}, {"emotion": "happy"}, {"voice": "ru"},
                   {"options": {"rate": 1.5}}):
        r = client.post(f"{API}/synthesize", json={**base, **change}, auth=AUTH).json()
        assert r["cached"] is False and r["audio_url"] not in seen, change
        seen.add(r["audio_url"])
    slow = client.post(f"{API}/synthesize", json={**base, "options": {"rate": 0.5}}, auth=AUTH).json()
    assert slow["duration_seconds"] > 1.5 * first["duration_seconds"]  # options really change the audio


def test_synthesis_errors(client):
    assert client.post(f"{API}/synthesize", json={"text": ""}, auth=AUTH).status_code == 422
    assert client.post(f"{API}/synthesize", json={"text": "x" * 5001}, auth=AUTH).status_code == 422
    for options in ({"rate": 0}, {"rate": "fast"}, {"sample_rate": 12345}):
        r = client.post(f"{API}/synthesize", json={"text": "hi", "options": options}, auth=AUTH)
        assert r.status_code == 422 and isinstance(r.json()["detail"], list), options
    r = client.get(f"{API}/audio/{'f' * 32}", auth=AUTH)
    assert r.status_code == 404 and r.json() == {"detail": "audio_not_found"}


def test_recognize_text_hint_and_errors(client):
    r = client.post(f"{API}/recognize", json={"text_hint": "Покажи цены"}, auth=AUTH)
    assert r.status_code == 200
    assert r.json()["text"] == "Покажи цены" and r.json()["confidence"] == 1.0 and r.json()["language"] == "ru-RU"
    r = client.post(f"{API}/recognize", json={"audio_base64": "not base64!!"}, auth=AUTH)
    assert r.status_code == 400 and r.json() == {"detail": "invalid_audio_payload"}
    for silent in ({"audio_base64": ""}, {"audio_base64": None}, {}):
        r = client.post(f"{API}/recognize", json=silent, auth=AUTH)
        assert r.status_code == 200 and (r.json()["text"], r.json()["confidence"]) == ("", 0.0)
    r = client.post(f"{API}/recognize", json={"audio_base64": _b64(b"plain text, not audio " * 20)}, auth=AUTH)
    assert r.status_code == 415 and r.json() == {"detail": "unsupported_audio_format"}


def test_russian_audio_with_the_english_only_recogniser_is_reported_as_english(client, app):
    wav = speech_wav(app, "Добрый день, покажите мне цены", "ru-RU")
    r = client.post(f"{API}/recognize", json={"audio_base64": _b64(wav), "language": "ru-RU"}, auth=AUTH)
    assert r.status_code == 200
    result = r.json()
    assert result["language"] == "en"  # the bundled Whisper tiny.en decodes everything as English
    assert 0.0 <= result["confidence"] <= 1.0 and result["processing_time_ms"] > 0


def _stored_file(bundle, url: str, clock) -> Path:
    entry = anyio.run(bundle.audio.get, url.rsplit("/", 1)[1], clock(), bundle.audio_fresh_after())
    name = entry.file_id.split("/")[1]
    return Path(bundle.settings.voice_file_storage_dir) / "audio" / name[:2] / name


def test_audio_cache_expires_by_last_access(client, app, clock):
    """7-day TTL counted from the last access (synthesis hit or download), enforced on read and
    by the cleaner, which also removes the file."""

    bundle = app.bundles["vertebro-voice"]
    body = client.post(f"{API}/synthesize", json={"text": "Expiring audio", "language": "en-US"}, auth=AUTH).json()
    url = body["audio_url"]
    stored = _stored_file(bundle, url, clock)
    assert stored.is_file()
    clock.advance(days=6)
    assert client.get(url, auth=AUTH).status_code == 200  # access: 7 more days
    clock.advance(days=6)
    again = client.post(f"{API}/synthesize", json={"text": "Expiring audio", "language": "en-US"}, auth=AUTH).json()
    assert again["cached"] is True and again["audio_url"] == url  # a cache hit is an access too
    clock.advance(days=6, hours=23)
    assert client.get(url, auth=AUTH).status_code == 200
    assert anyio.run(bundle.cleaner.run_once) == 0
    clock.advance(days=7, seconds=1)
    r = client.get(url, auth=AUTH)  # expired: refused even before the cleaner runs
    assert r.status_code == 404 and r.json() == {"detail": "audio_not_found"}
    assert anyio.run(bundle.cleaner.run_once) == 1
    assert not stored.exists()
    fresh = client.post(f"{API}/synthesize", json={"text": "Expiring audio", "language": "en-US"}, auth=AUTH).json()
    assert fresh["cached"] is False and fresh["audio_url"] != url
    assert client.get(fresh["audio_url"], auth=AUTH).status_code == 200


@pytest.fixture
def fast_cleaner_client(make_settings, vertebro_overrides):
    from starlette.testclient import TestClient

    from gateway.app import create_app

    app = create_app(make_settings(**vertebro_overrides, voice_audio_cache_cleanup_interval=0.05))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield app, c


def test_background_cleaner_removes_expired_audio(fast_cleaner_client):
    from tests.handlers.vertebro_voice.conftest import Clock

    app, client = fast_cleaner_client
    clock = Clock()
    app.bundles["vertebro-voice"].clock = clock
    files = Path(app.bundles["vertebro-voice"].settings.voice_file_storage_dir) / "audio"
    url = client.post(f"{API}/synthesize", json={"text": "Cleaned in the background"}, auth=AUTH).json()["audio_url"]
    assert sum(p.is_file() for p in files.rglob("*")) == 1
    time.sleep(0.3)
    assert sum(p.is_file() for p in files.rglob("*")) == 1  # the cleaner runs but the entry is fresh
    clock.advance(days=8)
    deadline = time.monotonic() + 10
    while any(p.is_file() for p in files.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_file() for p in files.rglob("*"))
    assert client.get(url, auth=AUTH).status_code == 404
