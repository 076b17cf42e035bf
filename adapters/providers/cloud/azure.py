"""Azure AI Speech text-to-speech over its REST API.

Vendor docs: https://learn.microsoft.com/azure/ai-services/speech-service/rest-text-to-speech
(output formats: same page, "Audio outputs"; SSML:
https://learn.microsoft.com/azure/ai-services/speech-service/speech-synthesis-markup).

Supported
  * ``POST https://{region}.tts.speech.microsoft.com/cognitiveservices/v1`` with an SSML body
    built here (text XML-escaped, characters XML 1.0 forbids removed), headers
    ``Ocp-Apim-Subscription-Key``, ``Content-Type: application/ssml+xml``,
    ``X-Microsoft-OutputFormat`` and ``User-Agent``.
  * Any prebuilt voice name as ``voice_id`` (default ``en-US-JennyNeural``); ``rate`` →
    ``<prosody rate="±N%">`` (clamped to 0.5–2.0×). ``xml:lang`` is the voice name's locale
    (``en-US-…`` → ``en-US``), else ``voice.language``, else ``en-US``.
  * Raw headerless PCM at 8000, 16000, 22050, 24000, 44100 and 48000 Hz
    (``raw-8khz-16bit-mono-pcm`` … ``raw-48khz-16bit-mono-pcm``); other rates are requested at
    the next offered rate up and resampled locally (PyAV).
  * ``stream`` forwards the HTTP response body as it arrives (whole samples only); the docs say
    the audio "can be played as it's transferred".

Not supported
  * Phoneme / viseme / word-boundary timing: the REST API does not return it (the Speech SDK
    over WebSocket does), so ``Synthesis.phonemes`` is always empty.
  * ``stability`` / ``similarity_boost`` / ``style`` / ``use_speaker_boost`` / ``model_id``
    (ElevenLabs notions; ignored), custom neural voices (need the ``deploymentId`` endpoint),
    Entra ID / bearer-token auth (only the subscription key), caller-supplied SSML.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx

from adapters.providers.base import AudioChunk, ProviderNotConfigured, Synthesis, VoiceSettings
from adapters.providers.cloud._audio import ChunkAssembler, pick_rate, resample
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorAdapter, VendorClient

KEY_SETTING = "AZURE_SPEECH_KEY"
REGION_SETTING = "AZURE_SPEECH_REGION"

OUTPUT_FORMATS = {
    8000: "raw-8khz-16bit-mono-pcm",
    16000: "raw-16khz-16bit-mono-pcm",
    22050: "raw-22050hz-16bit-mono-pcm",
    24000: "raw-24khz-16bit-mono-pcm",
    44100: "raw-44100hz-16bit-mono-pcm",
    48000: "raw-48khz-16bit-mono-pcm",
}

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LOCALE = re.compile(r"^([a-z]{2,3}-[A-Z]{2})-")
_REGION = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ESCAPE_QUOTES = {'"': "&quot;", "'": "&apos;"}


def build_ssml(text: str, voice_name: str, lang: str, rate: float = 1.0) -> str:
    """The SSML document for ``text`` spoken by ``voice_name`` (all text and attributes escaped)."""
    body = escape(_XML_INVALID.sub("", text), _ESCAPE_QUOTES)
    if rate != 1.0:
        factor = min(max(rate, 0.5), 2.0)
        body = f"<prosody rate={quoteattr(f'{(factor - 1) * 100:+.2f}%')}>{body}</prosody>"
    return (
        f'<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang={quoteattr(lang)}>'
        f"<voice name={quoteattr(voice_name)}>{body}</voice></speak>"
    )


class AzureTTS(VendorAdapter):
    """Azure neural TTS. ``api_key`` and ``region`` are required (``ProviderNotConfigured``)."""

    name = "azure"
    DEFAULT_VOICE = "en-US-JennyNeural"
    USER_AGENT = "voice-gateway"

    def __init__(
        self,
        api_key: str | None,
        region: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        endpoint: str | None = None,
    ) -> None:
        if not api_key:
            raise ProviderNotConfigured(self.name, KEY_SETTING)
        if not region:
            raise ProviderNotConfigured(self.name, REGION_SETTING)
        region = region.strip().lower()
        if not _REGION.match(region):
            raise ValueError(f"{REGION_SETTING} must be an Azure region name like 'westeurope'")
        self._api_key = api_key
        self.region = region
        self._url = endpoint or f"https://{region}.tts.speech.microsoft.com/cognitiveservices/v1"
        self._http = VendorClient(
            self.name,
            secrets=[api_key],
            timeout=timeout,
            client=client,
            transport=transport,
            user_agent=self.USER_AGENT,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> AzureTTS:
        return cls(os.environ.get(KEY_SETTING), os.environ.get(REGION_SETTING), **kwargs)

    def _request(self, text: str, voice: VoiceSettings, vendor_rate: int) -> tuple[dict[str, str], bytes]:
        voice_name = voice.voice_id or self.DEFAULT_VOICE
        match = _LOCALE.match(voice_name)
        lang = match.group(1) if match else (voice.language or "en-US")
        headers = {
            "Ocp-Apim-Subscription-Key": self._api_key,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": OUTPUT_FORMATS[vendor_rate],
            "User-Agent": self.USER_AGENT,
        }
        return headers, build_ssml(text, voice_name, lang, voice.rate).encode("utf-8")

    async def synthesize(self, text: str, voice: VoiceSettings, sample_rate: int) -> Synthesis:
        vendor_rate = pick_rate(sample_rate, tuple(OUTPUT_FORMATS))
        headers, body = self._request(text, voice, vendor_rate)
        response = await self._http.post(self._url, headers=headers, content=body, setting_hint=KEY_SETTING)
        pcm = response.content
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        return Synthesis(pcm=resample(pcm, vendor_rate, sample_rate), sample_rate=sample_rate, phonemes=[])

    async def stream(self, text: str, voice: VoiceSettings, sample_rate: int) -> AsyncIterator[AudioChunk]:
        vendor_rate = pick_rate(sample_rate, tuple(OUTPUT_FORMATS))
        headers, body = self._request(text, voice, vendor_rate)
        pieces = self._http.post_stream(self._url, headers=headers, content=body, setting_hint=KEY_SETTING)
        async with aclosing(ChunkAssembler(vendor_rate, sample_rate).assemble(pieces)) as chunks:
            async for chunk in chunks:
                yield chunk
