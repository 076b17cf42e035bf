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


def encode_container(pcm: bytes, rate: int, container: str) -> bytes:
    """``pcm`` (mono s16le at ``rate`` Hz) as a whole file: ``webm`` (Opus, as Chrome's MediaRecorder
    writes ``audio/webm;codecs=opus``), ``ogg`` (Opus, as Firefox's) or ``wav``. Encoded with PyAV."""
    import io

    import av
    import numpy as np

    if container == "wav":
        from adapters.providers import audio as codec

        return codec.encode_wav(pcm, rate)
    buf = io.BytesIO()
    # webm: a live stream (no seeking back to write sizes), as MediaRecorder; ogg: 100 ms pages, as a
    # recorder flushing per timeslice does (FFmpeg's default page is 1 s)
    options = {"live": "1"} if container == "webm" else {"page_duration": "100000"}
    out = av.open(buf, "w", format=container, options=options)
    stream = out.add_stream("libopus", rate=48000, layout="mono")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    samples = np.frombuffer(pcm, dtype="<i2")
    for start in range(0, len(samples), rate // 50):
        frame = av.AudioFrame.from_ndarray(samples[None, start:start + rate // 50].copy(), format="s16", layout="mono")
        frame.sample_rate = rate
        for resampled in resampler.resample(frame):
            for packet in stream.encode(resampled):
                out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    return buf.getvalue()


def recorder_pieces(pcm: bytes, rate: int, container: str, timeslice: float = 0.25) -> list[bytes]:
    """``pcm`` encoded as one ``container`` stream and cut as a ``MediaRecorder`` with a
    ``timeslice`` (seconds) hands it out: consecutive byte ranges, one per ``timeslice`` of audio
    (cut in proportion to time, so pieces end mid-element); only the first holds the header."""
    data = encode_container(pcm, rate, container)
    seconds = len(pcm) / 2 / rate
    count = max(1, round(seconds / timeslice))
    cuts = [round(len(data) * k / count) for k in range(count + 1)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
