"""Which engine answers for a provider name of the contract.

``mock`` — the contract's default — is bound to the built-in offline engines: espeak-ng for
TTS (adapters/providers/espeak.py) and faster-whisper with Whisper tiny.en for ASR
(adapters/providers/whisper.py). ``elevenlabs``/``azure`` (TTS) and ``deepgram``/``google``
(ASR) are the cloud adapters (adapters/providers/cloud), usable once their keys are set.
Engines are created once, lazily; nothing here loads a model or calls a network.
"""

from __future__ import annotations

import threading
from typing import Any

from adapters.providers.base import ProviderError, ProviderNotConfigured, SpeechToText, TextToSpeech
from adapters.providers.cloud import CLOUD_PROVIDERS, AzureTTS, DeepgramASR, ElevenLabsTTS, GoogleASR
from adapters.providers.executor import EngineExecutor

MOCK_TTS_FEATURES = ["streaming", "visemes", "phoneme_timestamps", "multilingual", "offline"]
MOCK_ASR_FEATURES = ["streaming", "word_timestamps", "word_confidence", "offline"]


class ProviderRegistry:
    """Maps (kind, provider name) to an engine instance.

    ``credentials`` holds the settings by environment-variable name
    (``ELEVENLABS_API_KEY``, ``AZURE_SPEECH_KEY``, ``AZURE_SPEECH_REGION``,
    ``DEEPGRAM_API_KEY``, ``GOOGLE_SPEECH_API_KEY``); missing ones make that provider
    raise :class:`ProviderNotConfigured`.

    ``speech`` is the bounded executor of CPU-heavy speech work (Whisper inference and audio
    decoding, :meth:`decode`): ``speech_workers`` threads, ``speech_queue`` waiting jobs,
    ``speech_per_caller`` jobs per caller (see :mod:`adapters.providers.executor`);
    ``asr_max_compute_seconds`` bounds one recognition (see :mod:`adapters.providers.whisper`).
    """

    def __init__(self, *, asr_model_dir: str | None = None, asr_threads: int = 2,
                 credentials: dict[str, str | None] | None = None, llm: dict[str, str | None] | None = None,
                 speech_workers: int = 2, speech_queue: int = 8, speech_per_caller: int = 2,
                 asr_max_compute_seconds: float = 30.0) -> None:
        self.llm_config = dict(llm or {})
        self.asr_model_dir = asr_model_dir
        self.asr_threads = asr_threads
        self.asr_max_compute_seconds = asr_max_compute_seconds
        self.speech = EngineExecutor("speech", workers=speech_workers, queue_size=speech_queue,
                                     per_caller=speech_per_caller)
        #: espeak-ng is one serialised C library: one thread, its own queue.
        self.tts_executor = EngineExecutor("tts", workers=1, queue_size=max(speech_queue, 4 * speech_workers),
                                           per_caller=speech_per_caller)
        self.credentials = dict(credentials or {})
        self._engines: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def espeak(self) -> TextToSpeech:
        """The offline espeak-ng engine (also the source of viseme timing)."""
        return self._engine("mock-tts", self._make_espeak)

    def _make_espeak(self):
        from adapters.providers.espeak import EspeakTTS

        return EspeakTTS(executor=self.tts_executor)

    def _make_whisper(self):
        from adapters.providers.whisper import WhisperASR

        kwargs: dict[str, Any] = {"cpu_threads": self.asr_threads, "num_workers": self.speech.workers,
                                  "executor": self.speech, "max_compute_seconds": self.asr_max_compute_seconds}
        if self.asr_model_dir:
            kwargs["model_dir"] = self.asr_model_dir
        return WhisperASR(**kwargs)

    def _engine(self, key: str, factory):
        with self._lock:
            if key not in self._engines:
                self._engines[key] = factory()
            return self._engines[key]

    def _cred(self, name: str) -> str | None:
        return self.credentials.get(name)

    def tts(self, name: str) -> TextToSpeech:
        """The TTS engine for ``name`` (mock | elevenlabs | azure).

        Raises ProviderNotConfigured (naming the missing setting) or ProviderError for an
        unknown name.
        """
        if name == "mock":
            return self.espeak
        if name == "elevenlabs":
            return self._engine("elevenlabs", lambda: ElevenLabsTTS(self._cred("ELEVENLABS_API_KEY")))
        if name == "azure":
            return self._engine("azure", lambda: AzureTTS(self._cred("AZURE_SPEECH_KEY"),
                                                          self._cred("AZURE_SPEECH_REGION")))
        raise ProviderError(f"unknown TTS provider {name!r}")

    def asr(self, name: str) -> SpeechToText:
        """The ASR engine for ``name`` (mock | deepgram | google); errors as :meth:`tts`."""
        if name == "mock":
            return self._engine("mock-asr", self._make_whisper)
        if name == "deepgram":
            return self._engine("deepgram", lambda: DeepgramASR(self._cred("DEEPGRAM_API_KEY")))
        if name == "google":
            return self._engine("google", lambda: GoogleASR(self._cred("GOOGLE_SPEECH_API_KEY")))
        raise ProviderError(f"unknown ASR provider {name!r}")

    def llm(self):
        """The language model: OpenAI-compatible when ``LLM_BASE_URL`` is set, else the offline
        template/extraction model (the adapters/providers/llm package)."""
        from adapters.providers.llm import language_model

        return self._engine("llm", lambda: language_model(self.llm_config.get("base_url"),
                                                          self.llm_config.get("api_key"),
                                                          self.llm_config.get("model")))

    async def decode(self, data: bytes, sample_rate: int, max_seconds: float) -> bytes:
        """Decode an audio file (WAV, MP3, OGG/Opus, WebM, FLAC …) to mono s16le PCM at
        ``sample_rate`` Hz on the speech executor (:func:`adapters.providers.audio.decode`).

        Raises AudioDecodeError (not audio, or longer than ``max_seconds`` seconds) or
        EngineBusy (the speech executor or this caller's share of it is full)."""
        from adapters.providers import audio

        return await self.speech.run(lambda: audio.decode(data, sample_rate=sample_rate, max_seconds=max_seconds))

    def shutdown(self) -> None:
        """Stop the speech and TTS executors (running jobs finish in the background)."""
        self.speech.shutdown()
        self.tts_executor.shutdown()

    def load(self, kind: str) -> None:
        """Load the offline engine of ``kind`` now, in the calling thread (blocking): the espeak-ng
        library for ``tts``, the Whisper model for ``asr``. Raises ProviderError when it cannot be
        loaded (what :meth:`is_available` reports as False)."""
        if kind == "tts":
            from adapters.providers import espeak

            espeak.voices()  # loads and initialises libespeak-ng; ProviderError when missing
            return
        from adapters.providers.whisper import WhisperASR

        engine = self.asr("mock")
        if isinstance(engine, WhisperASR):
            engine.load_now()

    def configured(self, name: str) -> bool:
        """True when every setting the provider needs is present (always for ``mock``)."""
        if name == "mock":
            return True
        return all(self._cred(setting) for setting in CLOUD_PROVIDERS[name].settings)

    def is_available(self, kind: str, name: str) -> bool:
        """True when the provider can serve now: offline engine installed / cloud keys present."""
        if name != "mock":
            return name in CLOUD_PROVIDERS and self.configured(name)
        if kind == "tts":
            from adapters.providers import espeak

            return espeak.available()
        from adapters.providers.whisper import WhisperASR

        engine = self.asr("mock")
        return engine.available() if isinstance(engine, WhisperASR) else True

    def catalog(self) -> list[dict[str, Any]]:
        """Every provider of the contract as ``{id, name, type, available, configured, features}``."""
        out = [
            {"id": "mock", "name": "Offline speech recognition (faster-whisper, Whisper tiny.en)", "type": "asr",
             "available": self.is_available("asr", "mock"), "configured": True, "features": MOCK_ASR_FEATURES},
            {"id": "mock", "name": "Offline speech synthesis (espeak-ng)", "type": "tts",
             "available": self.is_available("tts", "mock"), "configured": True, "features": MOCK_TTS_FEATURES},
        ]
        for provider_id, info in CLOUD_PROVIDERS.items():
            configured = self.configured(provider_id)
            out.append({"id": provider_id, "name": info.display_name, "type": info.kind, "available": configured,
                        "configured": configured, "features": list(info.features)})
        return out

    def require(self, kind: str, name: str) -> None:
        """Raise ProviderNotConfigured/ProviderError if ``name`` cannot be used for ``kind``."""
        (self.tts if kind == "tts" else self.asr)(name)


__all__ = ["ProviderRegistry", "ProviderNotConfigured"]
