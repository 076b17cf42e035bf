"""``POST /recognize`` under load, over HTTP against a live uvicorn server (issue 13 item 2):
one user's recognitions beyond their share of the speech executor answer 429
``too_many_requests`` with ``Retry-After`` while another user is still served; a full executor
answers 503 ``stt_busy`` with ``Retry-After``. Both are declared in the operation's contract."""

from __future__ import annotations

import asyncio
import base64
import io
import wave

import httpx
import pytest

from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.providers.whisper import WhisperASR
from handlers.vertebro_voice.security import hash_password
from tests.conftest import LiveServer
from tests.handlers.vertebro_voice.conftest import API, PASSWORD, PASSWORD_HASH, USER

pytestmark = pytest.mark.skipif(not (WhisperASR().available() and EspeakTTS().available()),
                                reason="needs faster-whisper with the bundled model and espeak-ng")

OTHER, OTHER_PASSWORD = "second-user", "another long password"
THIRD, THIRD_PASSWORD = "third-user", "yet another long password"


async def _speech_b64() -> str:
    synthesis = await EspeakTTS().synthesize("What is the price of the blue shoes?", VoiceSettings(language="en-US"),
                                             16000)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(synthesis.pcm)
    return base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def server(make_settings, vertebro_overrides):
    from gateway.app import create_app

    users = {USER: PASSWORD_HASH, OTHER: hash_password(OTHER_PASSWORD), THIRD: hash_password(THIRD_PASSWORD)}
    settings = make_settings(**{**vertebro_overrides, "vertebro_basic_users": users},
                             speech_workers=1, speech_queue=3, speech_per_caller=2)
    with LiveServer(create_app(settings)) as live:
        yield live


async def test_per_caller_share_and_saturation(server):
    audio = await _speech_b64()
    body = {"audio_base64": audio, "language": "en-US"}
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
        warm = await http.post(f"{API}/recognize", json=body, auth=(USER, PASSWORD))
        assert warm.status_code == 200, warm.text

        # One greedy user: 6 at once with a share of 2 → at least 4 refused with 429.
        greedy = await asyncio.gather(*(http.post(f"{API}/recognize", json=body, auth=(USER, PASSWORD))
                                        for _ in range(6)))
        codes = sorted(r.status_code for r in greedy)
        print(f"\none user, 6 at once (share 2): {codes}")
        assert codes.count(200) == 2 and codes.count(429) == 4, codes
        for r in greedy:
            if r.status_code == 429:
                assert r.json() == {"detail": "too_many_requests"} and int(r.headers["retry-after"]) >= 1

        # The greedy user holding its share does not starve the other user.
        both = await asyncio.gather(*(http.post(f"{API}/recognize", json=body, auth=(USER, PASSWORD))
                                      for _ in range(4)),
                                    http.post(f"{API}/recognize", json=body, auth=(OTHER, OTHER_PASSWORD)))
        assert both[-1].status_code == 200, both[-1].text

        # Saturation: 1 worker + 3 waiting places, three users with a share of 2 each.
        logins = [(USER, PASSWORD), (OTHER, OTHER_PASSWORD), (THIRD, THIRD_PASSWORD)]
        many = await asyncio.gather(*(http.post(f"{API}/recognize", json=body, auth=logins[i % 3])
                                      for i in range(9)))
        print(f"three users, 9 at once (1 worker + 3 waiting): {sorted(r.status_code for r in many)}")
        assert any(r.status_code == 503 for r in many)
        for r in many:
            assert r.status_code in (200, 429, 503), r.text
            if r.status_code == 503:
                assert r.json() == {"detail": "stt_busy"} and int(r.headers["retry-after"]) >= 1
