"""Offline text-to-speech with espeak-ng through its C library (``libespeak-ng.so.1``, via ctypes).

Shapes and units:

* Audio is 16-bit signed little-endian mono PCM (2 bytes per sample). espeak-ng synthesizes at its
  native rate (22050 Hz for the Debian 1.51 data); output is resampled with PyAV's
  ``av.AudioResampler`` to exactly the requested ``sample_rate`` (Hz), so
  ``len(pcm) == 2 * ceil(native_samples * sample_rate / native_rate)``.
* Times are seconds from the start of the returned audio. Phoneme timing comes from the library's
  ``espeakEVENT_PHONEME`` events (enabled with ``espeakINITIALIZE_PHONEME_EVENTS``); each event
  carries ``audio_position`` (whole milliseconds) and ``sample`` (the exact native sample index),
  and the sample index is used when it agrees with the millisecond value.
* Phoneme names are espeak-ng mnemonics (``h``, ``@``, ``oU``, ``3:``, ``_:`` …), not IPA; see
  :mod:`adapters.providers.visemes` for mapping them to mouth shapes.

espeak-ng is not bit-exact across calls: state it keeps between syntheses (pitch flutter, pause
and pitch-cycle alignment; not reset by re-initialising) makes the same text come out up to tens
of milliseconds longer or shorter (≈ 1-2 %) depending on what was spoken before. The phoneme
sequence is deterministic; every guarantee below holds per call.

The library is a process-wide singleton and not thread-safe: it is initialised once, lazily, and
every call into it holds the module lock :data:`_LOCK`. Synthesis runs on the threads of an
:class:`~adapters.providers.executor.EngineExecutor` (the server's TTS executor, or a private
one-thread executor), so neither the event loop nor the worker threads that database work needs
ever wait on that lock; when the executor is full, :class:`~adapters.providers.executor.EngineBusy`
(a ProviderError) is raised at once.

Constants and the ``espeak_EVENT`` / ``espeak_VOICE`` layouts are those of ``speak_lib.h`` from
``libespeak-ng-dev`` 1.51 (API revision 12).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import av
import numpy as np

from adapters.providers.base import (
    AudioChunk,
    PhonemeEvent,
    ProviderError,
    Synthesis,
    VoiceSettings,
    WordTiming,
)
from adapters.providers.executor import EngineExecutor

log = logging.getLogger(__name__)

# --- speak_lib.h (API revision 12) -------------------------------------------------------------

AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: PLAYBACK=0, RETRIEVAL=1, SYNCHRONOUS=2
espeakINITIALIZE_PHONEME_EVENTS = 0x0001
espeakINITIALIZE_DONT_EXIT = 0x8000  # without it a data-loading failure calls exit(1)
POS_CHARACTER = 1
espeakCHARS_UTF8 = 1
espeakENDPAUSE = 0x1000  # add a full sentence pause at the end of the text
espeakRATE = 1
espeakRATE_MINIMUM = 80
espeakRATE_MAXIMUM = 450
espeakRATE_NORMAL = 175
EE_OK = 0

espeakEVENT_LIST_TERMINATED = 0
espeakEVENT_WORD = 1
espeakEVENT_SENTENCE = 2
espeakEVENT_END = 5
espeakEVENT_MSG_TERMINATED = 6
espeakEVENT_PHONEME = 7

_BUFFER_MS = 200  # espeak_Initialize buflength: callback granularity in ms of audio


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),  # WORD and SENTENCE events
        ("name", ctypes.c_char_p),  # MARK and PLAY events
        ("string", ctypes.c_char * 8),  # PHONEME events: mnemonic, NUL-terminated unless 8 bytes long
    ]


class _Event(ctypes.Structure):
    """``espeak_EVENT``."""

    _fields_ = [
        ("type", ctypes.c_int),  # espeak_EVENT_TYPE (enum)
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character index in the text
        ("length", ctypes.c_int),  # word length in characters (WORD events)
        ("audio_position", ctypes.c_int),  # ms from the start of this message's audio
        ("sample", ctypes.c_int),  # sample index from the start of this message's audio
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """``espeak_VOICE``."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated language)* then a 0 byte
        ("identifier", ctypes.c_char_p),  # file under espeak-ng-data/voices or lang, e.g. gmw/en-US
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))

# --- the process-wide engine -------------------------------------------------------------------

_LOCK = threading.Lock()
"""Held for every call into libespeak-ng (it keeps global state)."""

_engine: _Engine | None = None
_load_error: str | None = None

DEFAULT_VOICE = "en-us"


@dataclass
class _RawEvent:
    """One library event as received: ``kind`` (espeakEVENT_*), time in native samples."""

    kind: int
    sample: int
    audio_position_ms: int
    text_position: int
    length: int
    phoneme: str | None = None


@dataclass
class _Raw:
    """A synthesis at the native rate: ``pcm`` (s16le mono bytes) at ``sample_rate`` Hz and events
    in arrival order."""

    pcm: bytes
    sample_rate: int
    events: list[_RawEvent] = field(default_factory=list)


class _Collector:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.events: list[_RawEvent] = []
        self.error: BaseException | None = None


class _Engine:
    """The loaded and initialised library. Use only while holding :data:`_LOCK`."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))

        rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None, espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise ProviderError(f"espeak_Initialize failed ({rate})")
        self.sample_rate: int = rate
        self._collector: _Collector | None = None
        # The library keeps only the C function pointer: keep the ctypes object alive with the engine.
        self._callback = _SynthCallback(self._on_synth)
        lib.espeak_SetSynthCallback(self._callback)
        self.voices: dict[str, str] = self._list_voices()
        if not self.voices:
            raise ProviderError("espeak-ng found no voices (is espeak-ng-data installed?)")
        self.languages: list[str] = sorted(self._by_language)

    def _list_voices(self) -> dict[str, str]:
        """Map every accepted spelling (lower case) to a voice identifier such as ``gmw/en-US``:
        language codes (best priority wins), identifiers, identifier base names and voice names."""
        table = self.lib.espeak_ListVoices(None)
        by_language: dict[str, tuple[int, str]] = {}
        other: dict[str, str] = {}
        i = 0
        while table[i]:
            v = table[i].contents
            ident = (v.identifier or b"").decode("utf-8", "replace")
            name = (v.name or b"").decode("utf-8", "replace")
            i += 1
            if not ident:
                continue
            p = v.languages
            while p:
                priority = ctypes.string_at(p, 1)[0]
                if priority == 0:
                    break
                lang = ctypes.string_at(p + 1).decode("utf-8", "replace").lower()
                p += 2 + len(lang.encode())
                if lang not in by_language or priority < by_language[lang][0]:
                    by_language[lang] = (priority, ident)
            other.setdefault(ident.lower(), ident)
            other.setdefault(ident.rsplit("/", 1)[-1].lower(), ident)
            if name:
                other.setdefault(name.lower(), ident)
        self._by_language = {lang: ident for lang, (_, ident) in by_language.items()}
        # Language codes take precedence: "en" means the voice espeak prefers for English.
        return {**other, **self._by_language}

    def _on_synth(self, wav, numsamples, events) -> int:  # runs inside espeak_Synth, lock held
        c = self._collector
        if c is None:
            return 0
        try:
            if wav and numsamples > 0:
                c.chunks.append(ctypes.string_at(wav, numsamples * 2))
            if events:
                i = 0
                while True:
                    e = events[i]
                    if e.type == espeakEVENT_LIST_TERMINATED:
                        break
                    if e.type in (espeakEVENT_PHONEME, espeakEVENT_WORD, espeakEVENT_END):
                        phoneme = None
                        if e.type == espeakEVENT_PHONEME:
                            phoneme = bytes(e.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                        c.events.append(
                            _RawEvent(e.type, e.sample, e.audio_position, e.text_position, e.length, phoneme)
                        )
                    i += 1
        except BaseException as exc:  # never let an exception unwind through C
            c.error = exc
            return 1  # abort synthesis
        return 0

    def synth(self, text: str, voice_identifier: str, wpm: int, end_pause: bool = False) -> _Raw:
        """Synthesize at the native rate; ``end_pause`` appends espeak's full sentence pause (as
        between two sentences of one text) instead of its short end-of-text pause.
        Caller holds :data:`_LOCK`. Raises ProviderError."""
        rc = self.lib.espeak_SetVoiceByName(voice_identifier.encode())
        if rc != EE_OK:
            raise ProviderError(f"espeak-ng could not select voice {voice_identifier!r} ({rc})")
        rc = self.lib.espeak_SetParameter(espeakRATE, wpm, 0)
        if rc != EE_OK:
            raise ProviderError(f"espeak-ng could not set rate {wpm} ({rc})")
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        collector = _Collector()
        self._collector = collector
        try:
            flags = espeakCHARS_UTF8 | (espeakENDPAUSE if end_pause else 0)
            rc = self.lib.espeak_Synth(buf, len(data), 0, POS_CHARACTER, 0, flags, None, None)
            self.lib.espeak_Synchronize()
        finally:
            self._collector = None
        if collector.error is not None:
            raise ProviderError(f"espeak-ng callback failed: {collector.error!r}") from collector.error
        if rc != EE_OK:
            raise ProviderError(f"espeak_Synth failed ({rc})")
        return _Raw(b"".join(collector.chunks), self.sample_rate, collector.events)


def _get_engine() -> _Engine:
    """Load and initialise the library once. Caller holds :data:`_LOCK`. Raises ProviderError."""
    global _engine, _load_error
    if _engine is not None:
        return _engine
    if _load_error is not None:
        raise ProviderError(_load_error)
    candidates = ["libespeak-ng.so.1"]
    found = ctypes.util.find_library("espeak-ng")
    if found:
        candidates.append(found)
    lib = None
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        _load_error = "libespeak-ng not found (install the Debian package espeak-ng)"
        raise ProviderError(_load_error)
    try:
        _engine = _Engine(lib)
    except ProviderError as exc:
        _load_error = str(exc)
        raise
    return _engine


# --- helpers ----------------------------------------------------------------------------------


def available() -> bool:
    """True when libespeak-ng loads, initialises and lists at least one voice."""
    try:
        with _LOCK:
            _get_engine()
        return True
    except ProviderError:
        return False


def voices() -> list[str]:
    """Sorted language codes of the installed voices (``en-us``, ``en-gb``, ``ru``, ``de`` …).

    ``VoiceSettings.voice_id`` also accepts voice identifiers (``gmw/en-US``), their base names
    (``en-US``) and voice names (``English (America)``), case-insensitively. Raises ProviderError
    when the library is unavailable.
    """
    with _LOCK:
        return list(_get_engine().languages)


def resolve_voice(voice: VoiceSettings) -> str:
    """The espeak voice identifier (e.g. ``gmw/en-US``) for ``voice``.

    ``voice.voice_id`` is used if it names an installed espeak voice or language; otherwise (e.g. an
    ElevenLabs id) ``voice.language`` decides (``en-US`` → ``en-us``, ``ru-RU`` → ``ru``, trying
    the full tag then its primary subtag), and failing that :data:`DEFAULT_VOICE`.
    Raises ProviderError when the library is unavailable.
    """
    with _LOCK:
        table = _get_engine().voices
    if voice.voice_id:
        key = voice.voice_id.strip().lower().replace("_", "-")
        if key in table:
            return table[key]
    if voice.language:
        tag = voice.language.strip().lower().replace("_", "-")
        parts = tag.split("-")
        for n in range(len(parts), 0, -1):
            candidate = "-".join(parts[:n])
            if candidate in table:
                return table[candidate]
    return table.get(DEFAULT_VOICE) or next(iter(sorted(table.values())))


def words_per_minute(rate: float) -> int:
    """espeak's speed for a speaking-rate factor: ``round(175 * rate)`` clamped to 80..450 wpm.

    Raises ValueError if ``rate`` is not a positive finite number.
    """
    if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate must be a positive number, got {rate!r}")
    return max(espeakRATE_MINIMUM, min(espeakRATE_MAXIMUM, round(espeakRATE_NORMAL * rate)))


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Resample s16le mono ``pcm`` from ``src_rate`` to ``dst_rate`` Hz with PyAV (flushed).

    Returns exactly ``ceil(n * dst_rate / src_rate)`` samples for ``n`` input samples (the
    resampler's own count; padded with zeros in the rare case it returns fewer, e.g. for 1 sample).
    Raises ValueError for non-positive rates or an odd byte count.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if len(pcm) % 2:
        raise ValueError("pcm must hold whole 16-bit samples")
    n = len(pcm) // 2
    if src_rate == dst_rate or n == 0:
        return pcm
    expected = -(-n * dst_rate // src_rate)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16, copy=False).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = src_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=dst_rate)
    frames = resampler.resample(frame) + resampler.resample(None)  # None flushes the tail
    out = b"".join(f.to_ndarray().astype("<i2", copy=False).tobytes() for f in frames)
    have = len(out) // 2
    if have < expected:
        out += b"\0\0" * (expected - have)
    elif have > expected:
        out = out[: expected * 2]
    return out


def _phoneme_seconds(e: _RawEvent, native_rate: int) -> float:
    """An event's time in seconds: the exact sample index when it agrees with the ms value."""
    if e.sample >= 0 and abs(e.sample * 1000.0 / native_rate - e.audio_position_ms) <= 1.5:
        return e.sample / native_rate
    return e.audio_position_ms / 1000.0


def _phonemes(raw: _Raw, duration: float) -> list[PhonemeEvent]:
    """Phoneme events → contiguous [start, end) intervals; the last ends at ``duration``.

    Sorted by start (stable, so simultaneous events keep arrival order); zero-length intervals
    (two events at the same instant) are dropped.
    """
    marks = [
        (min(_phoneme_seconds(e, raw.sample_rate), duration), e.phoneme or "")
        for e in raw.events
        if e.kind == espeakEVENT_PHONEME
    ]
    if any(b[0] < a[0] for a, b in zip(marks, marks[1:], strict=False)):
        log.warning("espeak-ng phoneme events arrived out of order; sorting them")
        marks.sort(key=lambda m: m[0])
    out: list[PhonemeEvent] = []
    for i, (start, name) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else duration
        if end > start:
            out.append(PhonemeEvent(name, start, end))
    return out


def _words(raw: _Raw, text: str, phonemes: list[PhonemeEvent], duration: float) -> list[WordTiming]:
    """Word events → WordTiming: word text from the event's character span; ``start`` is the
    event time, ``end`` the end of the word's last non-pause phoneme (or the next word's start)."""
    events = [e for e in raw.events if e.kind == espeakEVENT_WORD and e.length > 0]
    out: list[WordTiming] = []
    for i, e in enumerate(events):
        start = min(_phoneme_seconds(e, raw.sample_rate), duration)
        limit = min(_phoneme_seconds(events[i + 1], raw.sample_rate), duration) if i + 1 < len(events) else duration
        ends = [p.end for p in phonemes if start <= p.start < limit and not p.phoneme.startswith("_")]
        end = min(max(ends), limit) if ends else limit
        word = text[e.text_position - 1 : e.text_position - 1 + e.length]
        out.append(WordTiming(word, start, max(start, end)))
    return out


_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’»)\]]))\s+|\s*\n+\s*")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:—–])\s+")
MAX_PIECE_CHARS = 200


def split_sentences(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """Split ``text`` into sentences (after ``. ! ? …`` followed by space, and at newlines).

    A sentence longer than ``max_chars`` characters is split at clause punctuation (``, ; : —``),
    packing clauses up to ``max_chars``, and a clause still too long at spaces (or, with no space,
    every ``max_chars`` characters). Returns non-empty stripped pieces in order.
    """
    pieces: list[str] = []
    for sentence in _SENTENCE_BREAK.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        current = ""
        for clause in _CLAUSE_BREAK.split(sentence):
            for part in _split_long(clause, max_chars):
                if current and len(current) + 1 + len(part) > max_chars:
                    pieces.append(current)
                    current = part
                else:
                    current = f"{current} {part}" if current else part
        if current:
            pieces.append(current)
    return pieces


def _split_long(clause: str, max_chars: int) -> list[str]:
    out: list[str] = []
    while len(clause) > max_chars:
        cut = clause.rfind(" ", 0, max_chars + 1)
        if cut <= 0:
            cut = max_chars
        out.append(clause[:cut].strip())
        clause = clause[cut:].strip()
    if clause:
        out.append(clause)
    return out


def _clean(text: str) -> str:
    """Text as passed to the library: NULs removed (they would end the C string)."""
    if not isinstance(text, str):
        raise TypeError("text must be a str")
    cleaned = text.replace("\0", "")
    if not cleaned.strip():
        raise ValueError("text is empty")
    return cleaned


def _check_rate(sample_rate: int) -> None:
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or not 1000 <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be an integer number of Hz in 1000..192000, got {sample_rate!r}")


def _synthesize_blocking(
    text: str, voice: VoiceSettings, sample_rate: int, end_pause: bool = False
) -> tuple[Synthesis, list[WordTiming]]:
    identifier = resolve_voice(voice)
    wpm = words_per_minute(voice.rate)
    with _LOCK:
        raw = _get_engine().synth(text, identifier, wpm, end_pause)
    return _render(raw, text, sample_rate)


def _render(raw: _Raw, text: str, sample_rate: int) -> tuple[Synthesis, list[WordTiming]]:
    """A native-rate synthesis at ``sample_rate`` Hz with its phoneme and word timing."""
    pcm = resample(raw.pcm, raw.sample_rate, sample_rate)
    duration = len(pcm) / 2 / sample_rate
    phonemes = _phonemes(raw, duration)
    return Synthesis(pcm, sample_rate, phonemes), _words(raw, text, phonemes, duration)


# --- the adapter ------------------------------------------------------------------------------


class EspeakTTS:
    """espeak-ng as a :class:`adapters.providers.base.TextToSpeech` (name ``espeak-ng``).

    ``VoiceSettings`` used: ``voice_id`` (espeak voice or language code, see :func:`resolve_voice`),
    ``language`` (fallback when ``voice_id`` is not an espeak voice) and ``rate`` (speed factor,
    1.0 = 175 words per minute, clamped to 80..450 wpm). ElevenLabs-only fields are ignored.
    ``executor``: where synthesis runs (default: a private one with one thread, 64 waiting places).
    """

    name = "espeak-ng"

    def __init__(self, executor: EngineExecutor | None = None) -> None:
        self.executor = executor or EngineExecutor("tts", workers=1, queue_size=64, per_caller=64)

    def available(self) -> bool:
        """True when the library loads and initialises (see module :func:`available`)."""
        return available()

    def voices(self) -> list[str]:
        """Installed espeak language codes (see module :func:`voices`). Raises ProviderError."""
        return voices()

    async def synthesize(self, text: str, voice: VoiceSettings, sample_rate: int) -> Synthesis:
        """Speak ``text``: mono s16le PCM at exactly ``sample_rate`` Hz plus phoneme timing.

        ``phonemes`` are espeak mnemonics with contiguous [start, end) seconds, sorted, the last
        ending at ``Synthesis.duration``; nothing is trimmed (espeak's leading/trailing pauses stay).
        Raises ValueError (empty text, bad ``sample_rate`` or ``voice.rate``) or ProviderError
        (library missing or failing).
        """
        synthesis, _ = await self.synthesize_with_words(text, voice, sample_rate)
        return synthesis

    async def synthesize_with_words(
        self, text: str, voice: VoiceSettings, sample_rate: int
    ) -> tuple[Synthesis, list[WordTiming]]:
        """As :meth:`synthesize`, plus per-word timing (seconds) from ``espeakEVENT_WORD`` events;
        each word's text is its span of ``text`` (NUL characters removed). ``confidence`` is None."""
        cleaned = _clean(text)
        _check_rate(sample_rate)
        words_per_minute(voice.rate)  # validate before leaving the event loop
        return await self.executor.run(_synthesize_blocking, cleaned, voice, sample_rate)

    async def stream(self, text: str, voice: VoiceSettings, sample_rate: int) -> AsyncIterator[AudioChunk]:
        """Speak ``text`` sentence by sentence (:func:`split_sentences`), yielding one
        ``AudioChunk`` per piece as soon as it is synthesized.

        ``offset`` (seconds) is the total duration of the chunks before it, so the chunks
        concatenate into one track at ``sample_rate`` Hz. Every piece but the last ends with
        espeak's between-sentences pause, so the track lasts about as long as :meth:`synthesize`
        gives for the whole text (pieces cut at commas get a sentence pause instead of a comma
        pause; espeak's pitch flutter also makes any two syntheses differ by up to ~1%).
        Raises ValueError or ProviderError as :meth:`synthesize` (before the first chunk for
        invalid arguments).
        """
        cleaned = _clean(text)
        _check_rate(sample_rate)
        words_per_minute(voice.rate)
        samples_so_far = 0
        pieces = split_sentences(cleaned)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            synthesis, _ = await self.executor.run(_synthesize_blocking, piece, voice, sample_rate, not last)
            yield AudioChunk(synthesis.pcm, sample_rate, samples_so_far / sample_rate)
            samples_so_far += len(synthesis.pcm) // 2
