"""The speech loop: turn-taking between a caller and the assistant.

Caller audio (16 kHz mono PCM) → :class:`~adapters.realtime.vad.UtteranceDetector` → ASR →
LLM reply → TTS → played on an output (a WebRTC track) with visemes; or, for text-only
channels, just the reply text. Barge-in: caller speech while the assistant speaks (or thinks)
stops playback and abandons that reply. Every step is reported through ``emit`` as a JSON-able
dict: ``state``, ``transcript``, ``reply``, ``visemes``, ``barge_in``, ``metrics``, ``error``.

Latency (issue 15): the wait between the end of the caller's speech and the first reply frame
is cut four ways.

* **Recognition ahead of the end**: when the detector reports a pause (:class:`~adapters.
  realtime.vad.SpeechPaused`, ~0.1 s after the sound stops) the utterance so far is recognised
  at once, while the end silence is still being waited for. If nothing audible follows, that
  transcript *is* the utterance's (the utterance names the pause) and the turn uses it instead
  of recognising the same audio again. Whisper's cost is nearly fixed per call (it pads to a
  30-s window, or the utterance plus 7 s of it, below), so there is no cheaper "tail only" pass;
  what is saved is the end silence the recognition now overlaps. At most one such recognition
  per loop is in flight (a later pause waits for it and starts only if still open), and only when
  the engine's executor has an idle worker: it never queues behind, or in front of, other speech
  work, and a refusal just means the turn recognises the utterance itself. Only engines on a
  local executor (``asr.executor``) do this; a cloud engine would bill every pause.
* **Shorter end silence for complete sentences**: when that transcript ends with sentence
  punctuation (``. ? !``, not ``...``), or repeats the previous pause's transcript of the same
  utterance, the detector ends the utterance after ``min_end_silence`` of quiet instead of its
  ``end_silence`` (:meth:`~adapters.realtime.vad.UtteranceDetector.end_early`).
* **First sentence first**: the reply's first sentence is synthesized and queued on the output,
  then the rest is synthesized while it plays.
* **A recognition sized to the utterance**: engines with ``transcribe_utterance`` (Whisper: the
  encoder sees the utterance plus 7 s of padding instead of a 30-s window, ~2.5x faster on short
  utterances and no less accurate; :mod:`adapters.providers.whisper`, ``bench/asr_window.py``)
  are asked through it.

``metrics`` also says ``end_silence`` (seconds of quiet the detector waited), ``recognized_ahead``
(whether the transcript came from a pause's recognition) and ``recognitions`` (how many times the
utterance's audio was recognised: the pauses' runs plus the turn's own, if it needed one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from adapters.providers import audio as codec
from adapters.providers.base import ProviderError, Synthesis, Transcript, VoiceSettings
from adapters.providers.espeak import split_sentences
from adapters.providers.executor import EngineExecutor
from adapters.providers.visemes import Viseme, visemes_from_phonemes
from adapters.realtime.vad import SpeechPaused, SpeechStarted, Utterance, UtteranceDetector

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

#: Endings of a transcript that reads as a finished sentence (an ellipsis does not).
_SENTENCE_END = (".", "?", "!")
_TRAILING_OFF = ("...", "…")


def sentence_complete(text: str) -> bool:
    """True when ``text`` ends like a finished sentence: ``. ? !`` but not an ellipsis."""
    text = text.rstrip().rstrip("\"'”’»)]")
    return text.endswith(_SENTENCE_END) and not text.endswith(_TRAILING_OFF)


class _Ahead:
    """A recognition started at a pause: its id and the task (transcript, None on failure)."""

    __slots__ = ("pause_id", "task")

    def __init__(self, pause_id: int, task: asyncio.Task[Transcript | None]) -> None:
        self.pause_id = pause_id
        self.task = task


class SpeechLoop:
    """One conversation. Engines are the provider adapters (``asr``, ``tts``, ``llm`` with
    ``chat(messages)``); ``output`` None means text-only replies (no audio is synthesized here).
    """

    def __init__(self, *, asr, tts, llm, emit: Emit, output: SpeechOutput | None = None,
                 voice: VoiceSettings | None = None, language: str | None = "en-US",
                 system_prompt: str = "You are a helpful voice assistant. Answer briefly.",
                 chat_message: Callable[[str, str], Any] | None = None, max_history: int = 10,
                 detector: UtteranceDetector | None = None,
                 responder: Callable[[str], Awaitable[tuple[str, dict[str, Any]]]] | None = None,
                 recognize_ahead: bool | None = None) -> None:
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
        # Recognition at pauses (module docstring): None = when the engine runs on a local executor.
        executor = getattr(asr, "executor", None)
        self._executor = executor if isinstance(executor, EngineExecutor) else None
        self.recognize_ahead = self._executor is not None if recognize_ahead is None else recognize_ahead
        self._ahead: _Ahead | None = None
        self._ahead_next: SpeechPaused | None = None  # a pause waiting for the recognition in flight
        self._ahead_text: str | None = None  # the previous pause's transcript in this utterance
        self._utterances = 0  # speech starts so far: tells a pause's utterance from a later one
        self._ahead_runs = 0  # recognitions started at pauses of the current utterance
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

    async def _on_detector_event(self, event: SpeechStarted | SpeechPaused | Utterance) -> None:
        self.last_activity = time.monotonic()
        if isinstance(event, SpeechStarted):
            self._ahead_text, self._ahead_next, self._ahead_runs = None, None, 0
            self._utterances += 1
            if (self.output is not None and self.output.speaking) or (self._turn and not self._turn.done()):
                await self.barge_in()
            await self._set_state("listening")
            return
        if isinstance(event, SpeechPaused):
            self._on_pause(event)
            return
        ahead = self._ahead if self._ahead is not None and self._ahead.pause_id == event.pause_id else None
        self._ahead_next = None
        self._start_turn(self._utterance_turn(event, time.monotonic(), ahead, self._ahead_runs))

    # ------------------------------------------------------------ recognition ahead of the end

    def _on_pause(self, pause: SpeechPaused) -> None:
        if not self.recognize_ahead or self._closed:
            return
        if self._ahead is not None and not self._ahead.task.done():
            self._ahead_next = pause  # started when the one in flight is done, if still open then
            return
        self._recognize_at(pause)

    def _recognize_at(self, pause: SpeechPaused) -> None:
        if self._executor is not None and self._executor.admitted >= self._executor.workers:
            return  # no idle worker: never queue ahead of (or behind) other speech work
        task = asyncio.get_running_loop().create_task(self._recognize_ahead(pause))
        self._ahead = _Ahead(pause.pause_id, task)
        self._ahead_runs += 1

    async def _recognize_ahead(self, pause: SpeechPaused) -> Transcript | None:
        """Recognise the utterance as of ``pause``; end the utterance early when the transcript
        is a complete sentence and nothing audible followed the pause."""
        utterance_number = self._utterances
        try:
            transcript = await self._recognize(pause.pcm)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the turn recognises the utterance itself
            logger.debug("recognition at a pause failed: %s", exc)
            return None
        if utterance_number != self._utterances:
            return transcript  # a new utterance began meanwhile: this one is over
        text = transcript.text.strip()
        complete = bool(text) and (sentence_complete(text) or text == self._ahead_text)
        self._ahead_text = text
        if complete and not self._closed:
            utterance = self.detector.end_early(pause.pause_id)
            if utterance is not None:
                await self._on_detector_event(utterance)
        waiting, self._ahead_next = self._ahead_next, None
        if waiting is not None and not self._closed and self.detector.open_pause == waiting.pause_id:
            self._recognize_at(waiting)
        return transcript

    async def _recognize(self, pcm: bytes) -> Transcript:
        """One utterance's transcript: the engine's short-utterance recognition when it has one
        (Whisper's shortened encoder window), else its ``transcribe``."""
        short = getattr(self.asr, "transcribe_utterance", None)
        if short is not None:
            return await short(pcm, self.language)
        return await self.asr.transcribe(pcm, self.language, False)

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

    async def _utterance_turn(self, utterance: Utterance, ended_at: float, ahead: _Ahead | None = None,
                              ahead_runs: int = 0) -> None:
        await self._set_state("thinking")
        transcript: Transcript | None = None
        if ahead is not None:
            await asyncio.wait({ahead.task})  # (a cancelled turn leaves it running)
            if not ahead.task.cancelled() and ahead.task.exception() is None:
                transcript = ahead.task.result()
        measures: dict[str, Any] = {"end_silence": round(utterance.end_silence, 3),
                                    "recognized_ahead": transcript is not None,
                                    "recognitions": ahead_runs + (transcript is None)}
        if transcript is None:
            try:
                transcript = await self._recognize(utterance.pcm)
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
        await self._reply_turn(text, ended_at, measures)

    async def _reply_turn(self, text: str, ended_at: float, measures: dict[str, Any] | None = None) -> None:
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
        # The first sentence is synthesized and queued alone, the rest while it plays.
        pieces = split_sentences(reply)
        parts = [pieces[0], " ".join(pieces[1:])] if len(pieces) > 1 else [reply]
        try:
            synthesis = await self.tts.synthesize(parts[0], self.voice, TTS_RATE)
        except (ProviderError, ValueError) as exc:
            await self.emit({"type": "error", "message": f"speech synthesis failed: {exc}"})
            await self._set_state("idle")
            return
        started = asyncio.get_running_loop().create_future()

        def on_start() -> None:
            if not started.done():
                started.set_result(time.monotonic())

        self.output.play(codec.pcm_resample(synthesis.pcm, TTS_RATE, OUTPUT_RATE), on_start)
        await self._set_state("speaking")
        syntheses = [synthesis]
        if parts[1:]:
            try:
                rest = await self.tts.synthesize(parts[1], self.voice, TTS_RATE)
            except (ProviderError, ValueError) as exc:  # the first sentence is still heard
                await self.emit({"type": "error", "message": f"speech synthesis failed: {exc}"})
            else:
                self.output.play(codec.pcm_resample(rest.pcm, TTS_RATE, OUTPUT_RATE))
                syntheses.append(rest)
        first_frame_at = await started
        await self.emit({"type": "visemes", "visemes": [
            {"viseme": v.viseme, "start_time": round(v.start, 4), "end_time": round(v.end, 4), "phoneme": v.phoneme}
            for v in _visemes(syntheses)]})
        await self.emit({"type": "metrics", "response_latency": round(first_frame_at - ended_at, 4),
                         "reply_duration": round(sum(part.duration for part in syntheses), 3), **(measures or {})})
        while self.output.speaking:
            await asyncio.sleep(0.02)
        self.last_activity = time.monotonic()
        await self._set_state("idle")

    def _messages(self, text: str) -> list[Any]:
        make = self.chat_message or (lambda role, content: {"role": role, "content": content})
        return [make("system", self.system_prompt)] + [make(r, c) for r, c in self.history] + [make("user", text)]

    async def close(self) -> None:
        """Cancel the turn (and any recognition ahead of the end) in progress and stop playback."""
        self._closed = True
        if self.output is not None:
            self.output.clear()
        for task in (self._turn, self._ahead.task if self._ahead is not None else None):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):  # closing: its outcome no longer matters
                    await task


def _visemes(syntheses: list[Synthesis]) -> list[Viseme]:
    """The visemes of consecutive syntheses, timed from the start of the first."""
    out: list[Viseme] = []
    offset = 0.0
    for synthesis in syntheses:
        for v in visemes_from_phonemes(synthesis.phonemes, synthesis.duration):
            out.append(Viseme(v.viseme, v.start + offset, v.end + offset, v.phoneme))
        offset += synthesis.duration
    return out
