"""The speech loop: turn-taking between a caller and the assistant.

Caller audio (16 kHz mono PCM) → :class:`~adapters.realtime.vad.UtteranceDetector` → ASR →
LLM reply → TTS → played on an output (a WebRTC track) with visemes; or, for text-only
channels, just the reply text. Barge-in: caller speech while the assistant speaks (or thinks)
stops playback and abandons that reply. Every step is reported through ``emit`` as a JSON-able
dict: ``state``, ``transcript``, ``reply``, ``visemes``, ``barge_in``, ``metrics``, ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from adapters.providers import audio as codec
from adapters.providers.base import ProviderError, VoiceSettings
from adapters.providers.visemes import visemes_from_phonemes
from adapters.realtime.vad import SpeechStarted, Utterance, UtteranceDetector

logger = logging.getLogger("adapters.realtime.loop")

OUTPUT_RATE = 48000
TTS_RATE = 22050
# Replies are spoken a little slower than espeak-ng's default 175 wpm: over Opus on a phone-like
# channel ~150 wpm is markedly easier to follow (and to recognise: word error rate of the
# reply audio drops by about half in our round-trip tests).
CALL_SPEAKING_RATE = 0.85


class SpeechOutput(Protocol):
    """Where reply audio goes: 48 kHz mono PCM, playable and interruptible."""

    @property
    def speaking(self) -> bool: ...

    def play(self, pcm: bytes, on_start: Callable[[], None] | None = None) -> None: ...

    def clear(self) -> None: ...


Emit = Callable[[dict[str, Any]], Awaitable[None]]


class SpeechLoop:
    """One conversation. Engines are the provider adapters (``asr``, ``tts``, ``llm`` with
    ``chat(messages)``); ``output`` None means text-only replies (no audio is synthesized here).
    """

    def __init__(self, *, asr, tts, llm, emit: Emit, output: SpeechOutput | None = None,
                 voice: VoiceSettings | None = None, language: str | None = "en-US",
                 system_prompt: str = "You are a helpful voice assistant. Answer briefly.",
                 chat_message: Callable[[str, str], Any] | None = None, max_history: int = 10,
                 detector: UtteranceDetector | None = None,
                 responder: Callable[[str], Awaitable[tuple[str, dict[str, Any]]]] | None = None) -> None:
        self.asr, self.tts, self.llm, self.emit, self.output = asr, tts, llm, emit, output
        self.voice = voice or VoiceSettings(language=language, rate=CALL_SPEAKING_RATE)
        self.language = language
        self.system_prompt = system_prompt
        self.chat_message = chat_message
        self.max_history = max_history
        self.detector = detector or UtteranceDetector()
        # An API may answer turns itself (its own dialog pipeline): ``responder(text)`` returns the
        # reply text and extra fields for the ``reply`` event; otherwise ``llm.chat`` answers.
        self.responder = responder
        self.history: list[tuple[str, str]] = []
        self.state = "idle"
        self._turn: asyncio.Task | None = None
        self._closed = False
        self.last_activity = time.monotonic()

    async def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            await self.emit({"type": "state", "state": state})

    async def feed(self, pcm16k: bytes) -> None:
        """Caller audio, 16 kHz mono s16le, any chunk size."""
        for event in self.detector.feed(pcm16k):
            await self._on_detector_event(event)

    async def end_of_input(self) -> None:
        """The caller's audio ended (e.g. ``is_final``): finish the utterance in progress."""
        utterance = self.detector.flush()
        if utterance is not None:
            await self._on_detector_event(utterance)
        if self._turn is not None:
            await asyncio.shield(self._turn)

    async def _on_detector_event(self, event: SpeechStarted | Utterance) -> None:
        self.last_activity = time.monotonic()
        if isinstance(event, SpeechStarted):
            if (self.output is not None and self.output.speaking) or (self._turn and not self._turn.done()):
                await self.barge_in()
            await self._set_state("listening")
            return
        self._start_turn(self._utterance_turn(event, time.monotonic()))

    async def barge_in(self) -> None:
        """Stop speaking and drop the reply in progress."""
        if self.output is not None:
            self.output.clear()
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
        await self.emit({"type": "barge_in"})

    def _start_turn(self, coro) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
        self._turn = asyncio.get_running_loop().create_task(coro)

    async def say_text(self, text: str) -> None:
        """A typed user turn (text channels): reply to ``text`` without ASR."""
        self.last_activity = time.monotonic()
        self._start_turn(self._reply_turn(text, time.monotonic()))
        assert self._turn is not None  # _start_turn always sets it
        await asyncio.shield(self._turn)

    async def _utterance_turn(self, utterance: Utterance, ended_at: float) -> None:
        await self._set_state("thinking")
        try:
            transcript = await self.asr.transcribe(utterance.pcm, self.language, False)
        except ProviderError as exc:
            await self.emit({"type": "error", "message": f"speech recognition failed: {exc}"})
            await self._set_state("idle")
            return
        text = transcript.text.strip()
        await self.emit({"type": "transcript", "text": text, "final": True,
                         "confidence": round(transcript.confidence, 4), "duration": round(utterance.duration, 3)})
        if not text:
            await self._set_state("idle")
            return
        await self._reply_turn(text, ended_at)

    async def _reply_turn(self, text: str, ended_at: float) -> None:
        await self._set_state("thinking")
        extra: dict[str, Any] = {}
        try:
            if self.responder is not None:
                reply, extra = await self.responder(text)
                reply = reply.strip()
            else:
                reply = (await self.llm.chat(self._messages(text))).strip()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed turn is reported, the conversation goes on
            await self.emit({"type": "error", "message": f"reply generation failed: {exc}"})
            await self._set_state("idle")
            return
        self.history = (self.history + [("user", text), ("assistant", reply)])[-2 * self.max_history:]
        await self.emit({"type": "reply", "text": reply, **extra})
        if self.output is None or not reply:
            await self._set_state("idle")
            return
        try:
            synthesis = await self.tts.synthesize(reply, self.voice, TTS_RATE)
        except (ProviderError, ValueError) as exc:
            await self.emit({"type": "error", "message": f"speech synthesis failed: {exc}"})
            await self._set_state("idle")
            return
        pcm = codec.pcm_resample(synthesis.pcm, TTS_RATE, OUTPUT_RATE)
        visemes = visemes_from_phonemes(synthesis.phonemes, synthesis.duration)
        started = asyncio.get_running_loop().create_future()

        def on_start() -> None:
            if not started.done():
                started.set_result(time.monotonic())

        self.output.play(pcm, on_start)
        await self._set_state("speaking")
        first_frame_at = await started
        await self.emit({"type": "visemes", "visemes": [
            {"viseme": v.viseme, "start_time": round(v.start, 4), "end_time": round(v.end, 4), "phoneme": v.phoneme}
            for v in visemes]})
        await self.emit({"type": "metrics", "response_latency": round(first_frame_at - ended_at, 4),
                         "reply_duration": round(synthesis.duration, 3)})
        while self.output.speaking:
            await asyncio.sleep(0.02)
        self.last_activity = time.monotonic()
        await self._set_state("idle")

    def _messages(self, text: str) -> list[Any]:
        make = self.chat_message or (lambda role, content: {"role": role, "content": content})
        return [make("system", self.system_prompt)] + [make(r, c) for r, c in self.history] + [make("user", text)]

    async def close(self) -> None:
        """Cancel the turn in progress and stop playback."""
        self._closed = True
        if self.output is not None:
            self.output.clear()
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # closing: its outcome no longer matters
                await self._turn
