"""SpeechLoop with the real engines (espeak-ng, Whisper, the offline language model) and the real
output track, pulled frame by frame in real time as aiortc's sender does: turn-taking events in
order, and barge-in cutting the reply short."""

from __future__ import annotations

import asyncio

from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.providers.llm import ChatMessage, OfflineLanguageModel
from adapters.providers.wer import word_error_rate
from adapters.providers.whisper import WhisperASR
from adapters.realtime.loop import SpeechLoop
from adapters.realtime.tracks import SpeechOutputTrack

SYSTEM = "Knowledge:\nParking is free for visitors in the car park behind the main building."
QUESTION = "Where can visitors park their car?"
FRAME_16K = 640  # 20 ms of 16 kHz s16le


async def _speech_16k(text: str) -> bytes:
    synthesis = await EspeakTTS().synthesize(text, VoiceSettings(voice_id="en-us", rate=0.85), 16000)
    return synthesis.pcm


class _Sender:
    """Pulls the output track at its own 20 ms pace (like aiortc's RTCRtpSender) and counts the
    frames that carried reply audio."""

    def __init__(self, track: SpeechOutputTrack) -> None:
        self.track = track
        self.voiced_frames = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            frame = await self.track.recv()
            if any(frame.to_ndarray().reshape(-1)):
                self.voiced_frames += 1


async def _feed_realtime(loop: SpeechLoop, pcm: bytes) -> None:
    for offset in range(0, len(pcm), FRAME_16K):
        await loop.feed(pcm[offset:offset + FRAME_16K])
        await asyncio.sleep(0.02)


async def _wait_for(events: list[dict], predicate, timeout: float) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in events:
            if predicate(event):
                return event
        await asyncio.sleep(0.02)
    raise AssertionError(f"no matching event in {timeout} s; got {[e['type'] for e in events]}")


async def test_a_turn_then_barge_in_stops_the_reply() -> None:
    events: list[dict] = []

    async def emit(event: dict) -> None:
        events.append(event)

    track = SpeechOutputTrack()
    sender = _Sender(track)
    loop = SpeechLoop(asr=WhisperASR(), tts=EspeakTTS(), llm=OfflineLanguageModel(), emit=emit, output=track,
                      system_prompt=SYSTEM, chat_message=ChatMessage)
    question = await _speech_16k(QUESTION)
    silence = bytes(16000 * 2)  # one second: the end of the utterance
    try:
        await _feed_realtime(loop, question + silence)
        transcript = await _wait_for(events, lambda e: e["type"] == "transcript", 30)
        assert word_error_rate(QUESTION, transcript["text"]) <= 0.2, transcript
        reply = await _wait_for(events, lambda e: e["type"] == "reply", 30)
        assert "car park behind the main building" in reply["text"], reply
        await _wait_for(events, lambda e: e.get("state") == "speaking", 30)
        visemes = await _wait_for(events, lambda e: e["type"] == "visemes", 10)
        assert visemes["visemes"] and visemes["visemes"][0]["start_time"] == 0
        metrics = await _wait_for(events, lambda e: e["type"] == "metrics", 10)
        full_reply_frames = metrics["reply_duration"] / 0.02
        assert track.speaking

        await asyncio.sleep(0.5)  # half a second of the reply is heard, then the caller talks over it
        await _feed_realtime(loop, await _speech_16k("Wait, stop."))
        await _wait_for(events, lambda e: e["type"] == "barge_in", 5)
        assert not track.speaking  # playback dropped at once
        kinds = [e.get("state") or e["type"] for e in events]
        assert kinds[:6] == ["listening", "thinking", "transcript", "reply", "speaking", "visemes"], kinds
        assert kinds[kinds.index("barge_in") + 1] == "listening", kinds
        heard = sender.voiced_frames
        assert 10 < heard < full_reply_frames * 0.8, (heard, full_reply_frames)
    finally:
        await loop.close()
        sender.task.cancel()
        track.stop()
    assert not track.speaking and loop.state == "listening"
