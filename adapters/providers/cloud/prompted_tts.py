"""Prompted text-to-speech of the Virstack /tts operations: Google Gemini TTS and xAI Grok TTS.

- Gemini: ``POST https://generativelanguage.googleapis.com/v1beta/models/{model}:generateContent``
  (``x-goog-api-key``), ``responseModalities: [AUDIO]`` with a prebuilt voice (Zephyr, Puck,
  Kore, Aoede, …). The prompt may carry style direction ("audio profile", "director's notes");
  the answer is base64 PCM s16le mono at 24000 Hz.
- xAI: ``POST https://api.x.ai/v1/tts`` (Bearer) ``{text, voice_id, language}`` with a voice of
  ara / eve / leo / rex / sal; the audio answer (any container the vendor picks) is decoded.

Both return mono 16-bit PCM and its rate. ``ProviderNotConfigured`` names the missing key;
vendor failures are ``ProviderError``.
"""

from __future__ import annotations

import base64
import binascii

import httpx

from adapters.providers import audio as codec
from adapters.providers.base import AudioDecodeError, ProviderError, ProviderNotConfigured
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorAdapter, VendorClient

GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta/models/{model}:generateContent"
GEMINI_MODEL = "gemini-2.5-flash-preview-tts"
GEMINI_RATE = 24000
XAI_URL = "https://api.x.ai/v1/tts"
XAI_RATE = 24000
XAI_VOICES = ("ara", "eve", "leo", "rex", "sal")


class GeminiTTS(VendorAdapter):
    name = "gemini"
    setting = "GEMINI_API_KEY"

    def __init__(self, api_key: str | None, *, model: str = GEMINI_MODEL, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not api_key:
            raise ProviderNotConfigured(self.name, self.setting)
        self._key = api_key
        self.model = model
        self._http = VendorClient(self.name, secrets=[api_key], timeout=timeout, transport=transport)

    async def speak(self, prompt: str, voice: str, language: str | None = None) -> tuple[bytes, int]:
        """``prompt`` (text with optional style direction) in prebuilt voice ``voice`` → (pcm, rate)."""
        del language  # Gemini TTS detects the language of the prompt
        body = {"contents": [{"parts": [{"text": prompt}]}],
                "generationConfig": {"responseModalities": ["AUDIO"],
                                     "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}}}}
        response = await self._http.post(GEMINI_URL.format(model=self.model), headers={"x-goog-api-key": self._key},
                                         json_body=body, setting_hint=self.setting)
        payload = self._http.json(response)
        try:
            data = payload["candidates"][0]["content"]["parts"][0]["inlineData"]["data"]
            pcm = base64.b64decode(data)
        except (KeyError, IndexError, TypeError, binascii.Error):
            raise self._http.shape_error("no inlineData audio in candidates[0]") from None
        return pcm[: len(pcm) - len(pcm) % 2], GEMINI_RATE


class XaiTTS(VendorAdapter):
    name = "grok"
    setting = "XAI_API_KEY"

    def __init__(self, api_key: str | None, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not api_key:
            raise ProviderNotConfigured(self.name, self.setting)
        self._key = api_key
        self._http = VendorClient(self.name, secrets=[api_key], timeout=timeout, transport=transport)

    async def speak(self, prompt: str, voice: str, language: str | None = None) -> tuple[bytes, int]:
        voice_id = voice.lower() if voice.lower() in XAI_VOICES else "eve"
        response = await self._http.post(XAI_URL, headers={"Authorization": f"Bearer {self._key}"},
                                         json_body={"text": prompt, "voice_id": voice_id, "language": language or "en"},
                                         setting_hint=self.setting)
        try:
            return codec.decode(response.content, sample_rate=XAI_RATE), XAI_RATE
        except AudioDecodeError as exc:
            raise ProviderError(f"grok returned audio that could not be decoded: {exc}") from None
