"""SpeechLoop's latency mechanisms (issue 15) with stand-in engines, so that what is checked is
the loop's logic: recognition started at a pause and reused by the turn, the shorter end silence
after a complete sentence, and the reply's first sentence synthesized (and queued) first.

The caller's audio is real speech (espeak-ng) through the real detector; the ASR stand-in runs on
a real EngineExecutor and answers a script. Nothing here is timed: end silences are stream time
(frames fed), not wall-clock time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from adapters.providers.base import PhonemeEvent, Synthesis, Transcript, VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.providers.executor import EngineExecutor
from adapters.realtime.loop import SpeechLoop, sentence_complete
from adapters.realtime.vad import FRAME_BYTES

CHUNK = 640  # 20 ms of 16 kHz s16le, as the peer's resampler hands it on


async def _speech_16k(text: str) -> bytes:
    return (await EspeakTTS().synthesize(text, VoiceSettings(voice_id="en-us", rate=0.85), 16000)).pcm


class ScriptedASR:
    """Answers ``script(pcm)`` after ``seconds`` of work on its executor's thread; records calls."""

    name = "scripted"

    def __init__(self, script: Callable[[bytes], str], seconds: float = 0.05, workers: int = 2) -> None:
        self.script = script
        self.seconds = seconds
        self.executor = EngineExecutor("test-asr", workers=workers, queue_size=4, per_caller=4)
        self.calls: list[int] = []  # byte length of each recognised pcm

    def _work(self, pcm: bytes) -> Transcript:
        time.sleep(self.seconds)
        return Transcript(self.script(pcm), 0.9, "en")

    async def transcribe(self, pcm: bytes, language: str | None, include_words: bool) -> Transcript:
        self.calls.append(len(pcm))
        return await self.executor.run(self._work, pcm)


class RecordingTTS:
    """0.1 s of audio per word, one phoneme per word; records the order of synthesize and play."""

    name = "recording"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def synthesize(self, text: str, voice: VoiceSettings, sample_rate: int) -> Synthesis:
        self.log.append(f"synthesize {text}")
        words = text.split()
        phonemes = [PhonemeEvent("a", i * 0.1, (i + 1) * 0.1) for i in range(len(words))]
        return Synthesis(b"\x01\x00" * (sample_rate // 10) * len(words), sample_rate, phonemes)


class ImmediateOutput:
    """Plays instantly: ``on_start`` runs at ``play``; records plays in the shared log."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.speaking = False

    def play(self, pcm: bytes, on_start=None) -> None:
        self.log.append(f"play {len(pcm) / 2 / 48000:.1f} s")
        if on_start is not None:
            on_start()

    def clear(self) -> None:
        self.log.append("clear")


class FixedLLM:
    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def chat(self, messages) -> str:
        return self.reply


async def _converse(loop: SpeechLoop, events: list[dict], pcm: bytes, silence: float = 1.2) -> dict:
    """Feed ``pcm`` then up to ``silence`` s of digital silence in 20 ms chunks, yielding to the
    event loop after each; returns the metrics event (waits for the turn to finish)."""
    audio = pcm + bytes(int(16000 * silence) * 2)
    for offset in range(0, len(audio), CHUNK):
        await loop.feed(audio[offset:offset + CHUNK])
        await asyncio.sleep(0.005)  # the stand-in ASR (50 ms) answers within a few chunks
        if any(e["type"] == "transcript" for e in events):
            break
    assert loop._turn is not None
    await asyncio.wait_for(loop._turn, 30)
    return next(e for e in events if e["type"] == "metrics")


def _loop(asr, events: list[dict], log: list[str], reply: str = "Your balance is fine.", **kw) -> SpeechLoop:
    async def emit(event: dict) -> None:
        events.append(event)

    return SpeechLoop(asr=asr, tts=RecordingTTS(log), llm=FixedLLM(reply), emit=emit, output=ImmediateOutput(log), **kw)


async def test_a_complete_sentence_is_recognised_at_the_pause_and_ends_after_the_short_silence():
    speech = await _speech_16k("Check my balance.")
    asr = ScriptedASR(lambda pcm: "Check my balance.")
    events: list[dict] = []
    loop = _loop(asr, events, [])
    try:
        metrics = await _converse(loop, events, bytes(8000) + speech)
    finally:
        await loop.close()
    assert len(asr.calls) == 1  # recognised once, at the pause; the turn reused it
    assert metrics["recognized_ahead"] is True
    assert metrics["end_silence"] == pytest.approx(0.3)  # the detector's min_end_silence, not its 0.6 s
    transcript = next(e for e in events if e["type"] == "transcript")
    assert transcript["text"] == "Check my balance."
    # the recognised audio is the utterance without the extra quiet waited for after the pause
    assert asr.calls[0] < transcript["duration"] * 32000
    kinds = [e.get("state") or e["type"] for e in events]
    assert kinds[:5] == ["listening", "thinking", "transcript", "reply", "speaking"], kinds


async def test_an_unfinished_sentence_waits_for_the_whole_end_silence_and_still_reuses_the_recognition():
    speech = await _speech_16k("I would like to")
    asr = ScriptedASR(lambda pcm: "I would like to")
    events: list[dict] = []
    loop = _loop(asr, events, [])
    try:
        metrics = await _converse(loop, events, speech)
    finally:
        await loop.close()
    assert len(asr.calls) == 1 and metrics["recognized_ahead"] is True
    assert metrics["end_silence"] >= 0.6


async def test_speech_after_a_pause_gets_a_new_recognition():
    first, second = await _speech_16k("Well,"), await _speech_16k("check my balance.")
    answers = iter(["Well,", "Well, check my balance."])
    asr = ScriptedASR(lambda pcm: next(answers))
    events: list[dict] = []
    loop = _loop(asr, events, [])
    try:
        # the first pause's recognition has answered ("Well," is not a sentence) before speech resumes
        audio = first + bytes(FRAME_BYTES * 12)
        for offset in range(0, len(audio), CHUNK):
            await loop.feed(audio[offset:offset + CHUNK])
            await asyncio.sleep(0.005)
        assert loop._ahead is not None
        await asyncio.wait_for(loop._ahead.task, 10)
        assert not any(e["type"] == "transcript" for e in events)
        metrics = await _converse(loop, events, second)
    finally:
        await loop.close()
    assert len(asr.calls) == 2 and asr.calls[0] < asr.calls[1]
    assert next(e for e in events if e["type"] == "transcript")["text"] == "Well, check my balance."
    assert metrics["recognized_ahead"] is True and metrics["end_silence"] == pytest.approx(0.3)


async def test_without_an_idle_worker_the_turn_recognises_the_utterance_itself():
    speech = await _speech_16k("Check my balance.")
    asr = ScriptedASR(lambda pcm: "Check my balance.", workers=1)
    gate = threading.Event()
    busy = asr.executor.submit(gate.wait)  # the only worker is taken by other speech work
    events: list[dict] = []
    loop = _loop(asr, events, [])
    try:
        audio = speech + bytes(FRAME_BYTES * 8)  # past the pause: nothing may start now
        for offset in range(0, len(audio), CHUNK):
            await loop.feed(audio[offset:offset + CHUNK])
        assert loop._ahead is None and asr.calls == []
        gate.set()
        await busy
        metrics = await _converse(loop, events, b"")
    finally:
        await loop.close()
    assert len(asr.calls) == 1 and metrics["recognized_ahead"] is False
    assert metrics["end_silence"] >= 0.6


async def test_engines_without_a_local_executor_never_recognise_ahead():
    class CloudASR:
        name = "cloud"

        def __init__(self) -> None:
            self.calls = 0

        async def transcribe(self, pcm, language, include_words) -> Transcript:
            self.calls += 1
            return Transcript("Check my balance.", 0.9, "en")

    asr = CloudASR()
    events: list[dict] = []
    loop = _loop(asr, events, [])
    assert loop.recognize_ahead is False
    try:
        metrics = await _converse(loop, events, await _speech_16k("Check my balance."))
    finally:
        await loop.close()
    assert asr.calls == 1 and metrics["recognized_ahead"] is False


async def test_the_first_sentence_is_synthesized_and_queued_before_the_rest():
    log: list[str] = []
    events: list[dict] = []
    reply = "Sure. Your checking balance is two hundred dollars. Anything else?"
    loop = _loop(ScriptedASR(lambda pcm: "What is my balance?"), events, log, reply=reply)
    try:
        metrics = await _converse(loop, events, await _speech_16k("What is my balance?"))
    finally:
        await loop.close()
    assert log[:4] == ["synthesize Sure.", "play 0.1 s",
                       "synthesize Your checking balance is two hundred dollars. Anything else?", "play 0.9 s"], log
    assert metrics["reply_duration"] == pytest.approx(1.0)
    visemes = next(e for e in events if e["type"] == "visemes")["visemes"]
    assert visemes[0]["start_time"] == 0 and visemes[-1]["end_time"] == pytest.approx(1.0)
    assert all(a["end_time"] == pytest.approx(b["start_time"]) for a, b in zip(visemes, visemes[1:], strict=False))


async def test_engines_with_a_short_utterance_recognition_are_asked_through_it():
    class UtteranceASR(ScriptedASR):
        def __init__(self) -> None:
            super().__init__(lambda pcm: "Check my balance.")
            self.short: list[int] = []

        async def transcribe_utterance(self, pcm: bytes, language: str | None) -> Transcript:
            self.short.append(len(pcm))
            return await self.executor.run(self._work, pcm)

    asr = UtteranceASR()
    events: list[dict] = []
    loop = _loop(asr, events, [])
    try:
        metrics = await _converse(loop, events, await _speech_16k("Check my balance."))
    finally:
        await loop.close()
    assert len(asr.short) == 1 and asr.calls == [] and metrics["recognized_ahead"] is True


def test_sentence_complete():
    assert sentence_complete("Check my balance.") and sentence_complete("Is it open?") and sentence_complete("Stop!")
    assert sentence_complete('He said "stop."')
    assert not sentence_complete("I would like to") and not sentence_complete("Well,")
    assert not sentence_complete("I would like to...") and not sentence_complete("Hmm…") and not sentence_complete("")
