"""ElevenLabs text-to-speech over its REST API.

Vendor docs: https://elevenlabs.io/docs/api-reference/text-to-speech/convert
(``/with-timestamps``: https://elevenlabs.io/docs/api-reference/text-to-speech/convert-with-timestamps,
``/stream``: https://elevenlabs.io/docs/api-reference/text-to-speech/stream).

Supported
  * ``synthesize`` → ``POST /v1/text-to-speech/{voice_id}/with-timestamps``: raw PCM
    (``output_format=pcm_<rate>``, s16le mono) from ``audio_base64`` plus the character
    alignment. ``with_timestamps=False`` uses the plain endpoint instead (raw PCM body,
    no timing).
  * ``stream`` → ``POST /v1/text-to-speech/{voice_id}/stream``: chunked PCM, forwarded as it
    arrives (whole samples only).
  * Any voice id of the account (premade, cloned or designed voices) and any model id;
    ``stability``/``similarity_boost``/``style``/``use_speaker_boost`` (unset ones take
    ElevenLabs' documented defaults 0.5/0.75/0.0/true) and ``rate`` → ``voice_settings.speed``
    (clamped to the documented 0.7–1.2).
  * Sample rates: ElevenLabs offers PCM at 8000, 16000, 22050, 24000 and 44100 Hz (44.1 kHz
    needs a Pro plan). Other rates are requested at the next offered rate up and resampled
    locally (PyAV).

Timing is CHARACTER-level, not phonemes: each ``PhonemeEvent`` is one non-whitespace
character of the input text (``alignment``; ``normalized_alignment`` is used only when
``alignment`` is absent) with that character's start/end in seconds. Whitespace characters
are dropped — the pauses stay visible as gaps.

Not supported: the WebSocket input-streaming API, timestamps while streaming
(``/stream/with-timestamps``), ``language_code`` (only some models honour it; multilingual
models infer the language from the text), pronunciation dictionaries, request stitching.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

import httpx

from adapters.providers.base import (
    AudioChunk,
    PhonemeEvent,
    ProviderNotConfigured,
    Synthesis,
    VoiceSettings,
)
from adapters.providers.cloud._audio import ChunkAssembler, pick_rate, resample
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorAdapter, VendorClient

API_KEY_SETTING = "ELEVENLABS_API_KEY"


class ElevenLabsTTS(VendorAdapter):
    """ElevenLabs TTS. ``api_key`` is required (``ProviderNotConfigured`` otherwise)."""

    name = "elevenlabs"
    BASE_URL = "https://api.elevenlabs.io"
    DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"
    DEFAULT_MODEL_ID = "eleven_multilingual_v2"
    PCM_RATES = (8000, 16000, 22050, 24000, 44100)
    DEFAULT_VOICE_SETTINGS = {"stability": 0.5, "similarity_boost": 0.75, "style": 0.0, "use_speaker_boost": True}
    SPEED_RANGE = (0.7, 1.2)

    def __init__(
        self,
        api_key: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        base_url: str = BASE_URL,
        with_timestamps: bool = True,
    ) -> None:
        if not api_key:
            raise ProviderNotConfigured(self.name, API_KEY_SETTING)
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._with_timestamps = with_timestamps
        self._http = VendorClient(self.name, secrets=[api_key], timeout=timeout, client=client, transport=transport)

    @classmethod
    def from_env(cls, **kwargs: Any) -> ElevenLabsTTS:
        return cls(os.environ.get(API_KEY_SETTING), **kwargs)

    # ---- request building ---------------------------------------------------------------

    def _url(self, voice: VoiceSettings, suffix: str = "") -> str:
        voice_id = quote(voice.voice_id or self.DEFAULT_VOICE_ID, safe="")
        return f"{self._base_url}/v1/text-to-speech/{voice_id}{suffix}"

    def _headers(self, accept: str) -> dict[str, str]:
        return {"xi-api-key": self._api_key, "Accept": accept}

    def _body(self, text: str, voice: VoiceSettings) -> dict[str, Any]:
        settings = dict(self.DEFAULT_VOICE_SETTINGS)
        for key in settings:
            value = getattr(voice, key)
            if value is not None:
                settings[key] = value
        if voice.rate != 1.0:
            lo, hi = self.SPEED_RANGE
            settings["speed"] = min(max(voice.rate, lo), hi)
        return {"text": text, "model_id": voice.model_id or self.DEFAULT_MODEL_ID, "voice_settings": settings}

    # ---- TextToSpeech -------------------------------------------------------------------

    async def synthesize(self, text: str, voice: VoiceSettings, sample_rate: int) -> Synthesis:
        vendor_rate = pick_rate(sample_rate, self.PCM_RATES)
        params = {"output_format": f"pcm_{vendor_rate}"}
        if not self._with_timestamps:
            response = await self._http.post(
                self._url(voice),
                params=params,
                headers=self._headers("audio/pcm"),
                json_body=self._body(text, voice),
                setting_hint=API_KEY_SETTING,
            )
            pcm = response.content
            phonemes: list[PhonemeEvent] = []
        else:
            response = await self._http.post(
                self._url(voice, "/with-timestamps"),
                params=params,
                headers=self._headers("application/json"),
                json_body=self._body(text, voice),
                setting_hint=API_KEY_SETTING,
            )
            pcm, phonemes = self._parse_timestamped(self._http.json(response))
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        return Synthesis(pcm=resample(pcm, vendor_rate, sample_rate), sample_rate=sample_rate, phonemes=phonemes)

    async def stream(self, text: str, voice: VoiceSettings, sample_rate: int) -> AsyncIterator[AudioChunk]:
        vendor_rate = pick_rate(sample_rate, self.PCM_RATES)
        pieces = self._http.post_stream(
            self._url(voice, "/stream"),
            params={"output_format": f"pcm_{vendor_rate}"},
            headers=self._headers("audio/pcm"),
            json_body=self._body(text, voice),
            setting_hint=API_KEY_SETTING,
        )
        async with aclosing(ChunkAssembler(vendor_rate, sample_rate).assemble(pieces)) as chunks:
            async for chunk in chunks:
                yield chunk

    # ---- response parsing ---------------------------------------------------------------

    def _parse_timestamped(self, payload: Any) -> tuple[bytes, list[PhonemeEvent]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("audio_base64"), str):
            raise self._http.shape_error("no audio_base64 in the with-timestamps response")
        try:
            pcm = base64.b64decode(payload["audio_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise self._http.shape_error("audio_base64 is not valid base64") from None
        alignment = payload.get("alignment") or payload.get("normalized_alignment")
        return pcm, self._character_events(alignment)

    def _character_events(self, alignment: Any) -> list[PhonemeEvent]:
        """Character alignment → one event per non-whitespace character (seconds)."""
        if alignment is None:
            return []
        try:
            chars = alignment["characters"]
            starts = alignment["character_start_times_seconds"]
            ends = alignment["character_end_times_seconds"]
            if not (len(chars) == len(starts) == len(ends)):
                raise ValueError("alignment arrays differ in length")
            return [
                PhonemeEvent(phoneme=str(c), start=float(s), end=float(e))
                for c, s, e in zip(chars, starts, ends, strict=False)
                if not str(c).isspace()
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise self._http.shape_error(f"malformed alignment ({exc})") from None
