"""Cloud TTS/ASR adapters (ElevenLabs, Azure, Deepgram, Google) over their REST APIs.

Each adapter is a class taking its credentials (``ProviderNotConfigured`` naming the
environment variable when one is missing; ``from_env()`` reads them) and, for tests, an
injected ``httpx.AsyncClient`` or transport. Nothing is sent until a method is awaited.

``CLOUD_PROVIDERS`` describes them: id → (kind, display name, required settings, features).
Feature words:
  ``streaming``          ``stream`` forwards audio as the vendor sends it (TTS only; the ASR
                         adapters use non-incremental REST and emit one final result).
  ``character_timestamps`` per-character start/end of synthesized speech (as PhonemeEvents).
  ``word_timestamps``    per-word start/end of recognised speech.
  ``word_confidence``    per-word confidence.
  ``custom_voice``       the account's own (cloned/designed) voices are usable as voice_id.
  ``voice_settings``     stability / similarity_boost / style / speaker boost honoured.
  ``speaking_rate``      VoiceSettings.rate honoured.
  ``punctuation``        punctuated, formatted transcripts.
  ``language_detection`` language=None detects the spoken language.
"""

from __future__ import annotations

from typing import NamedTuple

from adapters.providers.cloud.azure import AzureTTS
from adapters.providers.cloud.deepgram import DeepgramASR
from adapters.providers.cloud.elevenlabs import ElevenLabsTTS
from adapters.providers.cloud.google import GoogleASR


class CloudProvider(NamedTuple):
    kind: str  # "tts" | "asr"
    display_name: str
    settings: list[str]  # environment variables that must all be set
    features: list[str]


CLOUD_PROVIDERS: dict[str, CloudProvider] = {
    "elevenlabs": CloudProvider(
        "tts",
        "ElevenLabs",
        ["ELEVENLABS_API_KEY"],
        ["streaming", "character_timestamps", "custom_voice", "voice_settings", "speaking_rate"],
    ),
    "azure": CloudProvider(
        "tts",
        "Azure AI Speech",
        ["AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION"],
        ["streaming", "speaking_rate"],
    ),
    "deepgram": CloudProvider(
        "asr",
        "Deepgram (Nova-2)",
        ["DEEPGRAM_API_KEY"],
        ["word_timestamps", "word_confidence", "punctuation", "language_detection"],
    ),
    "google": CloudProvider(
        "asr",
        "Google Cloud Speech-to-Text",
        ["GOOGLE_SPEECH_API_KEY"],
        ["word_timestamps", "word_confidence", "punctuation"],
    ),
}

__all__ = ["CLOUD_PROVIDERS", "CloudProvider", "AzureTTS", "DeepgramASR", "ElevenLabsTTS", "GoogleASR"]
