"""GoogleASR against recorded-shape payloads on a MockTransport (no network)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from adapters.providers.base import ProviderError, ProviderNotConfigured, SpeechToText, WordTiming
from adapters.providers.cloud._http import VendorHTTPError
from adapters.providers.cloud.google import GoogleASR, parse_duration

from .conftest import Recorder, fixture_json, raises_on

KEY = "AIzaSyTEST-0123456789abcdefghijklmnopqrstu"
PCM = b"\x10\x00\xf0\xff" * 8000  # 1 s of 16 kHz s16le


def make(rec: Recorder, **kw) -> GoogleASR:
    return GoogleASR(KEY, client=rec.client(), **kw)


def test_requires_api_key(monkeypatch):
    with pytest.raises(ProviderNotConfigured) as err:
        GoogleASR("")
    assert (err.value.provider, err.value.setting) == ("google", "GOOGLE_SPEECH_API_KEY")
    monkeypatch.delenv("GOOGLE_SPEECH_API_KEY", raising=False)
    with pytest.raises(ProviderNotConfigured, match="GOOGLE_SPEECH_API_KEY"):
        GoogleASR.from_env()


def test_satisfies_protocol():
    assert isinstance(GoogleASR(KEY, transport=Recorder().transport), SpeechToText)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1.200s", 1.2),
        ("2s", 2.0),
        ("0s", 0.0),
        ("0.000000001s", 1e-9),
        (None, 0.0),
        ({"seconds": "3", "nanos": 500000000}, 3.5),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == pytest.approx(seconds)


def test_parse_duration_rejects_garbage():
    with pytest.raises(ValueError):
        parse_duration("1.2 seconds")


async def test_request_building_and_parsing():
    rec = Recorder(httpx.Response(200, json=fixture_json("google_recognize.json")))
    result = await make(rec).transcribe(PCM, "en-GB", include_words=True)

    req = rec.only
    assert req.method == "POST"
    assert (req.url.scheme, req.url.host, req.url.path) == ("https", "speech.googleapis.com", "/v1/speech:recognize")
    assert dict(req.url.params) == {"key": KEY}
    assert req.headers["content-type"] == "application/json"
    body = json.loads(rec.bodies[0])
    assert body == {
        "config": {
            "encoding": "LINEAR16",
            "sampleRateHertz": 16000,
            "languageCode": "en-GB",
            "enableWordTimeOffsets": True,
            "enableAutomaticPunctuation": True,
            "enableWordConfidence": True,
        },
        "audio": {"content": base64.b64encode(PCM).decode()},
    }
    assert base64.b64decode(body["audio"]["content"]) == PCM

    assert result.is_final and result.language == "en-GB"
    assert result.text == "I'd like to check my balance. Thank you."
    assert result.confidence == pytest.approx((0.9431021 + 0.9002418) / 2)
    assert [w.word for w in result.words] == ["I'd", "like", "to", "check", "my", "balance.", "Thank", "you."]
    assert result.words[0] == WordTiming("I'd", pytest.approx(0.3), pytest.approx(0.6), pytest.approx(0.9117322))
    assert result.words[5].end == pytest.approx(2.0)  # "2s"
    assert result.words[-1].start == pytest.approx(2.8) and result.words[-1].end == pytest.approx(3.1)


async def test_without_words_and_default_language():
    rec = Recorder(httpx.Response(200, json=fixture_json("google_recognize.json")))
    result = await make(rec).transcribe(PCM, None, include_words=False)
    config = json.loads(rec.only.content)["config"]
    assert config["languageCode"] == "en-US"
    assert config["enableWordTimeOffsets"] is False and "enableWordConfidence" not in config
    assert result.words == [] and result.language == "en-US"


async def test_silence_is_an_empty_transcript():
    rec = Recorder(httpx.Response(200, json=fixture_json("google_recognize_silence.json")))
    result = await make(rec).transcribe(PCM, "en-US", include_words=True)
    assert (result.text, result.confidence, result.words) == ("", 0.0, [])


async def test_stream_is_zero_partials_then_one_final():
    rec = Recorder(httpx.Response(200, json=fixture_json("google_recognize.json")))
    results = [t async for t in make(rec).stream(PCM, "en-US", include_words=False)]
    assert [t.is_final for t in results] == [True]
    assert rec.only


async def test_limits_are_checked_locally():
    rec = Recorder()
    asr = make(rec)
    assert (await asr.transcribe(b"", "en-US", include_words=False)).text == ""
    with pytest.raises(ProviderError, match="at most 60 s"):
        await asr.transcribe(b"\x00\x00" * (16000 * 61), "en-US", include_words=False)
    assert rec.requests == []


@pytest.mark.parametrize(
    ("status", "fixture", "expect"),
    [
        (400, "google_error_400_api_key.json", "INVALID_ARGUMENT: 400: API key not valid"),
        (403, "google_error_403.json", "PERMISSION_DENIED"),
        (429, "google_error_429.json", "RESOURCE_EXHAUSTED"),
    ],
)
async def test_http_errors(status, fixture, expect):
    rec = Recorder(httpx.Response(status, json=fixture_json(fixture)))
    with pytest.raises(VendorHTTPError) as err:
        await make(rec).transcribe(PCM, "en-US", include_words=False)
    message = str(err.value)
    assert err.value.status == status and f"google returned HTTP {status}" in message and expect in message
    assert KEY not in message
    if status == 403:
        assert "GOOGLE_SPEECH_API_KEY" in message


async def test_error_echoing_the_request_url_is_redacted():
    def reply(request):
        return httpx.Response(500, text=f"backend error while serving {request.url}")

    rec = Recorder(reply)
    with pytest.raises(VendorHTTPError) as err:
        await make(rec).transcribe(PCM, "en-US", include_words=False)
    assert KEY not in str(err.value) and "key=***" in str(err.value)


async def test_transport_errors_never_show_the_url():
    rec = Recorder(
        raises_on(httpx.ReadTimeout, "timed out"),
        lambda request: (_ for _ in ()).throw(httpx.ConnectError(f"failed {request.url}", request=request)),
    )
    asr = make(rec, timeout=1.5)
    with pytest.raises(ProviderError, match="within 1.5 s") as err:
        await asr.transcribe(PCM, "en-US", include_words=False)
    assert err.value.__context__ is None or err.value.__suppress_context__
    with pytest.raises(ProviderError) as err:
        await asr.transcribe(PCM, "en-US", include_words=False)
    assert KEY not in str(err.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"<!DOCTYPE html><title>Error 502</title>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(
            200,
            json={"results": [{"alternatives": [{"transcript": "x", "words": [{"word": "x", "startTime": "soon"}]}]}]},
        ),
    ],
)
async def test_bad_payloads(response):
    rec = Recorder(response)
    with pytest.raises(ProviderError):
        await make(rec).transcribe(PCM, "en-US", include_words=True)
