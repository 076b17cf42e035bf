"""Issue 14 items 1-2: the widget's microphone. Real synthesized speech, encoded as the browser's
MediaRecorder does (WebM/Opus, Ogg/Opus; WAV too) and sent in 250 ms pieces as ``audio_chunk`` frames
over a live socket → ``transcription`` then ``response`` with an ``audio_url`` that is fetched; and
every utterance, heard or not, ends with a terminal frame and ``status: idle``."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import wave

import httpx
import pytest
import websockets

from adapters.providers.wer import word_error_rate
from tests.conftest import LiveServer
from tests.handlers.vertebro_voice.conftest import API, AUTH, BASIC, recorder_pieces, speech_wav

MIME = {"webm": "audio/webm;codecs=opus", "ogg": "audio/ogg;codecs=opus", "wav": "audio/wav"}


def _pcm(app, text: str, language: str = "en-US") -> bytes:
    with wave.open(io.BytesIO(speech_wav(app, text, language))) as w:
        return w.readframes(w.getnframes())


async def _send_recording(url: str, pieces: list[bytes], mime: str | None) -> list[dict]:
    """What the widget does: the pieces as ``audio_chunk`` frames (``sequence`` a millisecond
    timestamp, ``is_final`` on the last), then read until ``status: idle``."""
    async with websockets.connect(url, additional_headers={**BASIC}) as ws:
        assert json.loads(await ws.recv())["status"] == "ready"
        start = int(time.time() * 1000)
        for i, piece in enumerate(pieces):
            frame = {"type": "audio_chunk", "data": base64.b64encode(piece).decode(), "sequence": start + 250 * i,
                     "is_final": i == len(pieces) - 1}
            if mime:
                frame["mime_type"] = mime
            await ws.send(json.dumps(frame))
        messages: list[dict] = []
        while not messages or messages[-1] != {**messages[-1], "type": "status", "status": "idle"}:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 120)))
        return messages


@pytest.mark.parametrize(("container", "mime"), [("webm", MIME["webm"]), ("ogg", None), ("wav", MIME["wav"])])
def test_a_recorded_question_in_250_ms_pieces_gets_transcription_then_response(app, knowledge, container, mime):
    spoken = "How long does delivery take?"
    pieces = recorder_pieces(_pcm(app, spoken), 16000, container)
    assert len(pieces) >= 6
    with LiveServer(app) as server:
        body = httpx.post(f"{server.url}{API}/session/start", json={"project": "demo", "language": "en-US"},
                          auth=AUTH).json()
        messages = asyncio.run(_send_recording(body["websocket_url"], pieces, mime))
        kinds = [m.get("status", m["type"]) for m in messages]
        assert kinds == ["thinking", "transcription", "response", "idle"], messages
        transcription, response = messages[1], messages[2]
        assert transcription["is_final"] is True and word_error_rate(spoken, transcription["text"]) <= 0.25
        assert "two to three" in response["text"] or "2" in response["text"], response
        audio = httpx.get(f"{server.url}{response['audio_url']}", auth=AUTH)
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg" and audio.content


def test_silence_noise_and_undecodable_audio_still_get_a_terminal_frame_then_idle(app):
    silence = bytes(16000 * 2 * 2)
    with LiveServer(app) as server:
        def session(language: str) -> str:
            return httpx.post(f"{server.url}{API}/session/start", json={"project": "demo", "language": language},
                              auth=AUTH).json()["websocket_url"]

        quiet = asyncio.run(_send_recording(session("ru-RU"), recorder_pieces(silence, 16000, "webm"),
                                            MIME["webm"]))
        assert [m["type"] for m in quiet] == ["transcription", "response", "status"]
        assert quiet[0]["text"] == "" and quiet[0]["confidence"] == 0.0
        assert quiet[1]["text"] == "Извините, я не расслышал. Повторите, пожалуйста."
        assert httpx.get(f"{server.url}{quiet[1]['audio_url']}", auth=AUTH).status_code == 200
        assert quiet[2]["status"] == "idle"

        pcm_blip = asyncio.run(_send_recording(session("en-US"), [b"\x00\x00\x01\x00"], None))  # raw PCM
        assert [m["type"] for m in pcm_blip] == ["transcription", "response", "status"]
        assert pcm_blip[1]["text"] == "Sorry, I did not catch that. Could you say it again?"

        garbage = [b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8, bytes(range(255, -1, -1)) * 8, b"\x00" * 100]
        broken = asyncio.run(_send_recording(session("en-US"), garbage, MIME["webm"]))
        assert [m["type"] for m in broken] == ["error", "status"] and "not decodable audio" in broken[0]["message"]

        headless = asyncio.run(_send_recording(session("en-US"), [b"\x43\xb6\x75\x01" * 50], "audio/webm"))
        assert [m["type"] for m in headless] == ["error", "status"]

        other = asyncio.run(_send_recording(session("en-US"), [b"\x00\x00" * 50], "video/mp4"))
        assert [m["type"] for m in other] == ["error", "status"] and "video/mp4" in other[0]["message"]
