"""DeepgramASR against recorded-shape payloads on a MockTransport (no network)."""

from __future__ import annotations

import httpx
import pytest

from adapters.providers.base import ProviderError, ProviderNotConfigured, SpeechToText, WordTiming
from adapters.providers.cloud._http import VendorHTTPError
from adapters.providers.cloud.deepgram import DeepgramASR

from .conftest import Recorder, fixture_json, raises_on

KEY = "dg_TEST_8e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d1"
PCM = bytes(range(256)) * 160  # 0.64 s of 16 kHz s16le


def make(rec: Recorder, **kw) -> DeepgramASR:
    return DeepgramASR(KEY, client=rec.client(), **kw)


def test_requires_api_key(monkeypatch):
    with pytest.raises(ProviderNotConfigured) as err:
        DeepgramASR(None)
    assert (err.value.provider, err.value.setting) == ("deepgram", "DEEPGRAM_API_KEY")
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    with pytest.raises(ProviderNotConfigured, match="DEEPGRAM_API_KEY"):
        DeepgramASR.from_env()


def test_satisfies_protocol():
    assert isinstance(DeepgramASR(KEY, transport=Recorder().transport), SpeechToText)


async def test_request_building_and_parsing():
    rec = Recorder(httpx.Response(200, json=fixture_json("deepgram_listen_nova2.json")))
    result = await make(rec).transcribe(PCM, "en-US", include_words=True)

    req = rec.only
    assert req.method == "POST"
    assert (req.url.scheme, req.url.host, req.url.path) == ("https", "api.deepgram.com", "/v1/listen")
    assert dict(req.url.params) == {
        "model": "nova-2",
        "language": "en-US",
        "punctuate": "true",
        "smart_format": "true",
        "encoding": "linear16",
        "sample_rate": "16000",
        "channels": "1",
    }
    assert req.headers["Authorization"] == f"Token {KEY}"
    assert rec.bodies[0] == PCM

    assert result.is_final
    assert result.text == "Hello, my account number is 4521."
    assert result.confidence == pytest.approx(0.99658203)
    assert result.language == "en-US"
    assert [w.word for w in result.words] == ["Hello,", "my", "account", "number", "is", "4521."]
    assert result.words[0] == WordTiming("Hello,", 0.08, 0.48, pytest.approx(0.99902344))
    assert result.words[-1].start == pytest.approx(1.6) and result.words[-1].end == pytest.approx(2.4)


async def test_words_omitted_unless_asked():
    rec = Recorder(httpx.Response(200, json=fixture_json("deepgram_listen_nova2.json")))
    result = await make(rec).transcribe(PCM, "en", include_words=False)
    assert result.words == [] and result.text.startswith("Hello")


async def test_no_language_asks_for_detection():
    rec = Recorder(httpx.Response(200, json=fixture_json("deepgram_listen_detected_language.json")))
    result = await make(rec, model="nova-2-general").transcribe(PCM, None, include_words=True)
    params = rec.only.url.params
    assert "language" not in params and params["detect_language"] == "true"
    assert params["model"] == "nova-2-general"
    assert result.language == "de" and result.text == "Guten Morgen."


async def test_stream_is_zero_partials_then_one_final():
    rec = Recorder(httpx.Response(200, json=fixture_json("deepgram_listen_nova2.json")))
    results = [t async for t in make(rec).stream(PCM, "en", include_words=False)]
    assert len(results) == 1 and results[0].is_final
    assert rec.only


async def test_empty_audio_makes_no_request():
    rec = Recorder()
    result = await make(rec).transcribe(b"", "en", include_words=True)
    assert result.text == "" and result.confidence == 0.0 and result.is_final
    assert rec.requests == []


async def test_no_alternatives_is_an_empty_transcript():
    rec = Recorder(httpx.Response(200, json={"metadata": {}, "results": {"channels": [{"alternatives": []}]}}))
    result = await make(rec).transcribe(PCM, "en", include_words=True)
    assert result.text == "" and result.confidence == 0.0


@pytest.mark.parametrize(
    ("status", "body", "expect"),
    [
        (401, fixture_json("deepgram_error_401.json"), "INVALID_AUTH: Invalid credentials."),
        (429, fixture_json("deepgram_error_429.json"), "TOO_MANY_REQUESTS"),
        (500, {"err_code": "INTERNAL_SERVER_ERROR", "err_msg": f"token {KEY} failed"}, "INTERNAL_SERVER_ERROR"),
        (502, None, "(empty body)"),
    ],
)
async def test_http_errors(status, body, expect):
    rec = Recorder(httpx.Response(status, json=body) if body is not None else httpx.Response(status))
    with pytest.raises(VendorHTTPError) as err:
        await make(rec).transcribe(PCM, "en", include_words=False)
    assert err.value.status == status
    assert f"deepgram returned HTTP {status}" in str(err.value) and expect in str(err.value)
    assert KEY not in str(err.value)
    if status == 401:
        assert "DEEPGRAM_API_KEY" in str(err.value)


async def test_timeout():
    rec = Recorder(raises_on(httpx.ReadTimeout, "timed out"))
    with pytest.raises(ProviderError, match="deepgram did not answer within 5 s"):
        await make(rec, timeout=5).transcribe(PCM, "en", include_words=False)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json={"results": {"channels": []}}),
        httpx.Response(200, json={"request_id": "3a1a7c5e-1f0a-4b8e-9c55-6f0d2b7e4c11"}),  # callback shape
        httpx.Response(200, json={"results": {"channels": [{"alternatives": [{"words": [{"word": "x"}]}]}]}}),
    ],
)
async def test_bad_payloads(response):
    rec = Recorder(response)
    with pytest.raises(ProviderError) as err:
        await make(rec).transcribe(PCM, "en", include_words=True)
    assert KEY not in str(err.value)
