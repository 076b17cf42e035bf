"""Vertebro Voice fixtures: a gateway with one Basic user, its own file store, a movable clock."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from handlers.vertebro_voice.security import hash_password

USER, PASSWORD = "voice-admin", "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)
AUTH = (USER, PASSWORD)
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
API = "/api/v1/voice"


class Clock:
    """A controllable clock: starts at the real time, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def vertebro_overrides(tmp_path):
    return {
        "vertebro_basic_users": {USER: PASSWORD_HASH},
        "voice_file_storage_dir": str(tmp_path / "files"),
        "voice_training_step_delay": 0.05,
        "voice_training_epochs": 4,
    }


@pytest.fixture
def settings(make_settings, vertebro_overrides):
    return make_settings(**vertebro_overrides)


@pytest.fixture
def clock(app):
    from handlers.vertebro_voice.state import vertebro

    c = Clock()
    vertebro(app.services).clock = c
    return c


@pytest.fixture
def voice_session(client):
    """A live session of project ``demo`` (English)."""
    r = client.post(f"{API}/session/start", json={"project": "demo", "user_id": "u1", "language": "en-US"}, auth=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


def speech_wav(app, text: str, language: str = "en-US", rate: int = 16000) -> bytes:
    """Real speech (espeak-ng through the shared provider registry) as a WAV file."""
    import anyio

    from adapters.providers import audio as codec
    from adapters.providers.base import VoiceSettings

    synthesis = anyio.run(app.services.providers.tts("mock").synthesize, text, VoiceSettings(language=language), rate)
    return codec.encode_wav(synthesis.pcm, rate)
