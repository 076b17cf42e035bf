"""Google Cloud Speech-to-Text (v1) over its REST API, authenticated with an API key.

Vendor docs: https://cloud.google.com/speech-to-text/docs/reference/rest/v1/speech/recognize
(RecognitionConfig: https://cloud.google.com/speech-to-text/docs/reference/rest/v1/RecognitionConfig).

Supported
  * ``POST https://speech.googleapis.com/v1/speech:recognize?key=<key>`` with
    ``{"config": {"encoding": "LINEAR16", "sampleRateHertz": 16000, "languageCode",
    "enableWordTimeOffsets", "enableAutomaticPunctuation": true}, "audio": {"content": <base64>}}``;
    when words are asked for, ``enableWordConfidence`` is set too so words carry a confidence.
  * Parsing: every ``results[]`` entry's ``alternatives[0]`` is joined in order —
    ``transcript`` texts joined by one space, ``confidence`` averaged over the results that
    report one, ``words[]`` with ``startTime``/``endTime`` protobuf durations (``"1.200s"``)
    turned into seconds. A response without ``results`` (silence) is an empty transcript.
  * Empty audio is answered locally with an empty final transcript (no request).

Not supported
  * Language detection: v1 requires ``languageCode``; ``language=None`` sends ``en-US``.
  * Audio longer than 60 s (the synchronous ``recognize`` limit; longRunningRecognize is not
    wired) — rejected locally with ProviderError before any request.
  * Streaming recognition (gRPC only): ``stream`` yields NO partial transcripts and exactly
    one final one. Service-account / OAuth auth, v2 recognizers, model selection.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from adapters.providers.base import ProviderError, ProviderNotConfigured, Transcript, WordTiming
from adapters.providers.cloud._http import DEFAULT_TIMEOUT, VendorAdapter, VendorClient

API_KEY_SETTING = "GOOGLE_SPEECH_API_KEY"

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d*)?)s\s*$")


def parse_duration(value: Any) -> float:
    """A protobuf JSON ``Duration`` (``"1.200s"``) in seconds; missing → 0.0."""
    if value is None:
        return 0.0
    if isinstance(value, dict):  # {"seconds": "1", "nanos": 200000000} form
        return float(value.get("seconds", 0) or 0) + float(value.get("nanos", 0) or 0) / 1e9
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1))


class GoogleASR(VendorAdapter):
    """Google Speech-to-Text v1 ASR (16 kHz s16le mono in). ``api_key`` is required."""

    name = "google"
    URL = "https://speech.googleapis.com/v1/speech:recognize"
    SAMPLE_RATE = 16000
    DEFAULT_LANGUAGE = "en-US"
    MAX_SECONDS = 60

    def __init__(
        self,
        api_key: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        url: str = URL,
    ) -> None:
        if not api_key:
            raise ProviderNotConfigured(self.name, API_KEY_SETTING)
        self._api_key = api_key
        self._url = url
        self._http = VendorClient(self.name, secrets=[api_key], timeout=timeout, client=client, transport=transport)

    @classmethod
    def from_env(cls, **kwargs: Any) -> GoogleASR:
        return cls(os.environ.get(API_KEY_SETTING), **kwargs)

    def _body(self, pcm: bytes, language: str, include_words: bool) -> dict[str, Any]:
        config: dict[str, Any] = {
            "encoding": "LINEAR16",
            "sampleRateHertz": self.SAMPLE_RATE,
            "languageCode": language,
            "enableWordTimeOffsets": include_words,
            "enableAutomaticPunctuation": True,
        }
        if include_words:
            config["enableWordConfidence"] = True
        return {"config": config, "audio": {"content": base64.b64encode(pcm).decode("ascii")}}

    async def transcribe(self, pcm: bytes, language: str | None, include_words: bool) -> Transcript:
        language = language or self.DEFAULT_LANGUAGE
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        if not pcm:
            return Transcript(text="", confidence=0.0, language=language, words=[], is_final=True)
        seconds = len(pcm) / 2 / self.SAMPLE_RATE
        if seconds > self.MAX_SECONDS:
            raise ProviderError(
                f"google synchronous recognize accepts at most {self.MAX_SECONDS} s of audio, got {seconds:.1f} s"
            )
        response = await self._http.post(
            self._url,
            params={"key": self._api_key},
            json_body=self._body(pcm, language, include_words),
            setting_hint=API_KEY_SETTING,
        )
        return self._parse(self._http.json(response), language, include_words)

    async def stream(self, pcm: bytes, language: str | None, include_words: bool) -> AsyncIterator[Transcript]:
        """REST is not incremental: zero partials, then the one final transcript."""
        yield await self.transcribe(pcm, language, include_words)

    def _parse(self, payload: Any, language: str, include_words: bool) -> Transcript:
        if not isinstance(payload, dict):
            raise self._http.shape_error("body is not a JSON object")
        texts: list[str] = []
        confidences: list[float] = []
        words: list[WordTiming] = []
        try:
            for result in payload.get("results") or []:
                alternatives = result.get("alternatives") or []
                if not alternatives:
                    continue
                best = alternatives[0]
                text = str(best.get("transcript") or "").strip()
                if text:
                    texts.append(text)
                if best.get("confidence") is not None:
                    confidences.append(float(best["confidence"]))
                if include_words:
                    words.extend(
                        WordTiming(
                            word=str(w["word"]),
                            start=parse_duration(w.get("startTime")),
                            end=parse_duration(w.get("endTime")),
                            confidence=None if w.get("confidence") is None else float(w["confidence"]),
                        )
                        for w in best.get("words") or []
                    )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._http.shape_error(f"malformed results ({exc})") from None
        confidence = sum(confidences) / len(confidences) if confidences else 0.0
        return Transcript(text=" ".join(texts), confidence=confidence, language=language, words=words, is_final=True)
