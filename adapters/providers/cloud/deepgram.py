"""Deepgram speech-to-text over its pre-recorded REST API.

Vendor docs: https://developers.deepgram.com/reference/speech-to-text/listen-pre-recorded
(raw audio: https://developers.deepgram.com/docs/encoding, https://developers.deepgram.com/docs/sample-rate).

Supported
  * ``POST https://api.deepgram.com/v1/listen?model=nova-2&punctuate=true&smart_format=true
    &encoding=linear16&sample_rate=16000&channels=1`` plus ``language=<tag>`` — or
    ``detect_language=true`` when ``language`` is None — with ``Authorization: Token <key>``
    and the raw PCM as the body.
  * Parsing of ``results.channels[0].alternatives[0]``: ``transcript``, ``confidence`` and
    ``words[]`` (``start``/``end`` seconds, ``confidence``; the word text is
    ``punctuated_word`` when present, so it matches the punctuated transcript).
    ``Transcript.language`` is ``channels[0].detected_language`` when Deepgram reports one,
    else the requested language.
  * Empty audio is answered locally with an empty final transcript (no request).

Not supported
  * Live streaming (``wss://api.deepgram.com/v1/listen``): the REST endpoint is not
    incremental, so ``stream`` yields NO partial transcripts and exactly one final one.
  * Diarization, utterances, multichannel, keywords and the other optional features.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx

from adapters.providers.base import ProviderNotConfigured, Transcript, WordTiming
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorAdapter, VendorClient

API_KEY_SETTING = "DEEPGRAM_API_KEY"


class DeepgramASR(VendorAdapter):
    """Deepgram ASR (16 kHz s16le mono in). ``api_key`` is required."""

    name = "deepgram"
    URL = "https://api.deepgram.com/v1/listen"
    DEFAULT_MODEL = "nova-2"
    SAMPLE_RATE = 16000

    def __init__(
        self,
        api_key: str | None,
        *,
        model: str = DEFAULT_MODEL,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        url: str = URL,
    ) -> None:
        if not api_key:
            raise ProviderNotConfigured(self.name, API_KEY_SETTING)
        self._api_key = api_key
        self.model = model
        self._url = url
        self._http = VendorClient(self.name, secrets=[api_key], timeout=timeout, client=client, transport=transport)

    @classmethod
    def from_env(cls, **kwargs: Any) -> DeepgramASR:
        return cls(os.environ.get(API_KEY_SETTING), **kwargs)

    def _params(self, language: str | None) -> dict[str, str]:
        params = {"model": self.model}
        if language:
            params["language"] = language
        else:
            params["detect_language"] = "true"
        params.update(
            punctuate="true",
            smart_format="true",
            encoding="linear16",
            sample_rate=str(self.SAMPLE_RATE),
            channels="1",
        )
        return params

    async def transcribe(self, pcm: bytes, language: str | None, include_words: bool) -> Transcript:
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        if not pcm:
            return Transcript(text="", confidence=0.0, language=language, words=[], is_final=True)
        response = await self._http.post(
            self._url,
            params=self._params(language),
            headers={"Authorization": f"Token {self._api_key}", "Content-Type": "application/octet-stream"},
            content=pcm,
            setting_hint=API_KEY_SETTING,
        )
        return self._parse(self._http.json(response), language, include_words)

    async def stream(self, pcm: bytes, language: str | None, include_words: bool) -> AsyncIterator[Transcript]:
        """REST is not incremental: zero partials, then the one final transcript."""
        yield await self.transcribe(pcm, language, include_words)

    def _parse(self, payload: Any, language: str | None, include_words: bool) -> Transcript:
        try:
            channel = payload["results"]["channels"][0]
            alternatives = channel.get("alternatives") or []
            detected = channel.get("detected_language")
            if not alternatives:
                return Transcript(text="", confidence=0.0, language=detected or language, words=[])
            best = alternatives[0]
            words = []
            if include_words:
                words = [
                    WordTiming(
                        word=str(w.get("punctuated_word") or w["word"]),
                        start=float(w["start"]),
                        end=float(w["end"]),
                        confidence=None if w.get("confidence") is None else float(w["confidence"]),
                    )
                    for w in best.get("words") or []
                ]
            return Transcript(
                text=str(best.get("transcript") or ""),
                confidence=float(best.get("confidence") or 0.0),
                language=detected or language,
                words=words,
                is_final=True,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise self._http.shape_error(f"no results.channels[0] ({type(exc).__name__})") from None
