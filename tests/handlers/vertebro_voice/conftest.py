"""Vertebro Voice fixtures: a gateway with one Basic user (an admin, so it may use any project), its
own file store, a movable clock."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

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
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def vertebro_overrides(tmp_path):
    return {
        "vertebro_basic_users": {USER: PASSWORD_HASH},
        "vertebro_admin_users": [USER],
        "voice_file_storage_dir": str(tmp_path / "files"),
        "voice_training_step_delay": 0.05,
        "voice_training_epochs": 4,
    }


@pytest.fixture
def settings(make_settings, vertebro_overrides):
    return make_settings(**vertebro_overrides)


@pytest.fixture
def clock(app):

    c = Clock()
    app.bundles["vertebro-voice"].clock = c
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


@pytest.fixture
def knowledge(app):
    """Project ``demo``'s knowledge snippets, one own intent and one site section."""
    import anyio

    from core.clock import utcnow

    intents = app.bundles["vertebro-voice"].intents
    for title, url, text in [
        ("Delivery terms", "/delivery",
         "Delivery takes two to three business days and is free for orders over 50 euros."),
        ("Returns", "/returns", "Q: Can I return a product? A: Yes, any product can be returned within 30 days."),
        ("Доставка", "/delivery", "Доставка занимает два-три рабочих дня и бесплатна для заказов от 50 евро."),
    ]:
        anyio.run(intents.add_knowledge, "demo", title, url, text, utcnow())
    anyio.run(intents.add_example, "demo", "book_demo", "I want to book a demo", {"type": "navigate", "url": "/demo"},
              utcnow())
    anyio.run(intents.put_section, "demo", "careers", "/jobs", "Careers", ["career", "job", "ваканс"],
              "Open positions", utcnow())
