"""Provider interfaces: what handlers may ask of a text-to-speech or speech-to-text engine.

Units: audio is 16-bit signed little-endian mono PCM (``pcm`` bytes, 2 bytes per sample);
sample rates in Hz; times and durations in seconds from the start of the audio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class ProviderError(Exception):
    """An engine failed (not the caller's fault)."""


class ProviderNotConfigured(ProviderError):
    """A provider was asked for but its credentials are not set; ``setting`` names what is missing."""

    def __init__(self, provider: str, setting: str) -> None:
        super().__init__(f"provider {provider!r} is not configured: set {setting}")
        self.provider = provider
        self.setting = setting


class AudioDecodeError(ValueError):
    """Input audio could not be decoded (corrupt, empty, or an unsupported format)."""


@dataclass(frozen=True)
class VoiceSettings:
    """Engine-neutral voice configuration (the contract's ``VoiceConfig``).

    ``voice_id``/``model_id`` are provider-specific; ``stability``, ``similarity_boost`` and
    ``style`` are 0.0-1.0 (ElevenLabs semantics; engines without them ignore them);
    ``rate`` is a speaking-speed factor (1.0 = the engine's default).
    """

    voice_id: str | None = None
    model_id: str | None = None
    stability: float | None = None
    similarity_boost: float | None = None
    style: float | None = None
    use_speaker_boost: bool | None = None
    language: str | None = None
    rate: float = 1.0


@dataclass(frozen=True)
class PhonemeEvent:
    """One phoneme of synthesized speech: engine mnemonic and its [start, end) in seconds."""

    phoneme: str
    start: float
    end: float


@dataclass(frozen=True)
class WordTiming:
    """One recognised or synthesized word with [start, end) in seconds and confidence 0-1."""

    word: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class Synthesis:
    """Synthesized speech: ``pcm`` at ``sample_rate`` Hz, its exact ``duration`` (seconds)
    = samples / sample_rate, and the engine's phoneme timing (may be empty for engines
    that report none)."""

    pcm: bytes
    sample_rate: int
    phonemes: list[PhonemeEvent] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True)
class AudioChunk:
    """A piece of a synthesis stream: ``pcm`` at ``sample_rate`` Hz, starting ``offset`` seconds in."""

    pcm: bytes
    sample_rate: int
    offset: float


@dataclass(frozen=True)
class Transcript:
    """A recognition result. ``is_final`` is False for partial results of a stream."""

    text: str
    confidence: float
    language: str | None = None
    words: list[WordTiming] = field(default_factory=list)
    is_final: bool = True


@runtime_checkable
class TextToSpeech(Protocol):
    """A TTS engine."""

    name: str

    async def synthesize(self, text: str, voice: VoiceSettings, sample_rate: int) -> Synthesis:
        """Speak ``text``; return mono PCM at exactly ``sample_rate`` Hz with phoneme timing.

        Raises ProviderError (engine failure) or ProviderNotConfigured.
        """
        ...

    def stream(self, text: str, voice: VoiceSettings, sample_rate: int) -> AsyncIterator[AudioChunk]:
        """Speak ``text`` as a stream of chunks; the first chunk arrives before the whole
        text is synthesized (sentence by sentence or faster)."""
        ...


@runtime_checkable
class SpeechToText(Protocol):
    """An ASR engine. Input audio is mono 16-bit PCM at 16000 Hz."""

    name: str

    async def transcribe(self, pcm: bytes, language: str | None, include_words: bool) -> Transcript:
        """Recognise the whole of ``pcm``. ``language`` like ``en`` or ``en-US`` (None = detect)."""
        ...

    def stream(self, pcm: bytes, language: str | None, include_words: bool) -> AsyncIterator[Transcript]:
        """Recognise ``pcm`` yielding partial transcripts (``is_final=False``) as decoding
        proceeds, then exactly one final transcript."""
        ...
