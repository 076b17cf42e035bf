"""AzureTTS against recorded-shape payloads on a MockTransport (no network)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import httpx
import pytest

from adapters.providers.base import ProviderError, ProviderNotConfigured, TextToSpeech, VoiceSettings
from adapters.providers.cloud._http import VendorHTTPError
from adapters.providers.cloud.azure import OUTPUT_FORMATS, AzureTTS, build_ssml

from .conftest import Recorder, fixture_bytes, fixture_json, raises_on

KEY = "3f9c1a7e5b2d4c8a9e0f1b2c3d4e5f60"
REGION = "westeurope"
PCM24 = fixture_bytes("azure_raw-24khz-16bit-mono-pcm.pcm")
SSML_NS = "{http://www.w3.org/2001/10/synthesis}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def make(rec: Recorder, **kw) -> AzureTTS:
    return AzureTTS(KEY, REGION, client=rec.client(), **kw)


def test_requires_key_and_region():
    with pytest.raises(ProviderNotConfigured) as err:
        AzureTTS(None, REGION)
    assert (err.value.provider, err.value.setting) == ("azure", "AZURE_SPEECH_KEY")
    with pytest.raises(ProviderNotConfigured) as err:
        AzureTTS(KEY, "")
    assert (err.value.provider, err.value.setting) == ("azure", "AZURE_SPEECH_REGION")
    assert "AZURE_SPEECH_REGION" in str(err.value)


def test_from_env(monkeypatch):
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    with pytest.raises(ProviderNotConfigured, match="AZURE_SPEECH_REGION"):
        AzureTTS.from_env()
    monkeypatch.setenv("AZURE_SPEECH_REGION", "eastus")
    assert AzureTTS.from_env(transport=Recorder().transport).region == "eastus"


def test_region_cannot_inject_into_the_url():
    with pytest.raises(ValueError):
        AzureTTS(KEY, "evil.example.com/x?")


def test_satisfies_protocol():
    assert isinstance(AzureTTS(KEY, REGION, transport=Recorder().transport), TextToSpeech)


async def test_request_building_and_ssml_escaping():
    rec = Recorder(httpx.Response(200, content=PCM24, headers={"content-type": "audio/x-wav"}))
    text = 'Tom & Jerry say "<hi>" isn\'t it'
    result = await make(rec).synthesize(text, VoiceSettings(), 24000)

    req = rec.only
    assert req.method == "POST"
    assert str(req.url) == "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1"
    assert req.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert req.headers["Content-Type"] == "application/ssml+xml"
    assert req.headers["X-Microsoft-OutputFormat"] == "raw-24khz-16bit-mono-pcm"
    assert req.headers["User-Agent"]

    body = rec.bodies[0].decode("utf-8")
    assert "Tom &amp; Jerry say &quot;&lt;hi&gt;&quot; isn&apos;t it" in body
    assert "<hi>" not in body
    root = ET.fromstring(rec.bodies[0])
    assert root.tag == f"{SSML_NS}speak" and root.get("version") == "1.0"
    assert root.get(XML_LANG) == "en-US"
    voice = root.find(f"{SSML_NS}voice")
    assert voice.get("name") == "en-US-JennyNeural"
    assert voice.text == text  # round-trips exactly

    assert result.pcm == PCM24 and result.sample_rate == 24000
    assert result.duration == pytest.approx(0.5)
    assert result.phonemes == []  # REST gives no timing


def test_ssml_escapes_attributes_and_drops_invalid_xml_characters():
    ssml = build_ssml("a\x00b\x1fc", 'x" onload="y', "de-DE")
    root = ET.fromstring(ssml)
    assert root.find(f"{SSML_NS}voice").get("name") == 'x" onload="y'
    assert root.find(f"{SSML_NS}voice").text == "abc"


async def test_voice_language_and_rate():
    rec = Recorder(httpx.Response(200, content=PCM24))
    await make(rec).synthesize("Hallo", VoiceSettings(voice_id="de-DE-KatjaNeural", rate=1.25), 24000)
    root = ET.fromstring(rec.only.content)
    assert root.get(XML_LANG) == "de-DE"
    voice = root.find(f"{SSML_NS}voice")
    assert voice.get("name") == "de-DE-KatjaNeural"
    prosody = voice.find(f"{SSML_NS}prosody")
    assert prosody.get("rate") == "+25.00%" and prosody.text == "Hallo"


async def test_rate_is_clamped_and_default_rate_adds_no_prosody():
    rec = Recorder(httpx.Response(200, content=PCM24), httpx.Response(200, content=PCM24))
    tts = make(rec)
    await tts.synthesize("x", VoiceSettings(rate=0.1), 24000)
    await tts.synthesize("x", VoiceSettings(), 24000)
    assert b'rate="-50.00%"' in rec.bodies[0]
    assert b"prosody" not in rec.bodies[1]


@pytest.mark.parametrize("rate", sorted(OUTPUT_FORMATS))
async def test_offered_rates_map_to_raw_formats(rate):
    rec = Recorder(httpx.Response(200, content=b"\x00\x00" * rate))
    result = await make(rec).synthesize("x", VoiceSettings(), rate)
    assert rec.only.headers["X-Microsoft-OutputFormat"] == OUTPUT_FORMATS[rate]
    assert OUTPUT_FORMATS[rate].startswith("raw-") and OUTPUT_FORMATS[rate].endswith("-16bit-mono-pcm")
    assert len(result.pcm) == 2 * rate


async def test_unoffered_rate_is_resampled():
    rec = Recorder(httpx.Response(200, content=PCM24))
    result = await make(rec).synthesize("x", VoiceSettings(), 32000)
    assert rec.only.headers["X-Microsoft-OutputFormat"] == "raw-44100hz-16bit-mono-pcm"
    # the fixture stands in for a 44.1 kHz body here: 12000 samples → 12000 * 32000/44100
    assert result.sample_rate == 32000
    assert len(result.pcm) // 2 == pytest.approx(12000 * 32000 / 44100, abs=64)


async def test_stream_chunks():
    async def body():
        for i in range(0, len(PCM24), 1001):
            yield PCM24[i : i + 1001]
            await asyncio.sleep(0)

    rec = Recorder(lambda request: httpx.Response(200, content=body()))
    chunks = [c async for c in make(rec).stream("Hello", VoiceSettings(), 24000)]
    assert rec.only.headers["X-Microsoft-OutputFormat"] == "raw-24khz-16bit-mono-pcm"
    assert len(chunks) > 1
    assert b"".join(c.pcm for c in chunks) == PCM24
    assert chunks[-1].offset == pytest.approx((len(PCM24) - len(chunks[-1].pcm)) / 2 / 24000)


@pytest.mark.parametrize(
    ("status", "response_kw", "expect"),
    [
        (401, {"json": fixture_json("azure_error_401.json")}, "Access denied"),
        (429, {"content": b""}, "rate limited"),
        (400, {"text": "SSML parse error near 'voice'"}, "SSML parse error"),
        (500, {"text": f"upstream failure (Ocp-Apim-Subscription-Key: {KEY})"}, "upstream failure"),
    ],
)
async def test_http_errors(status, response_kw, expect):
    rec = Recorder(httpx.Response(status, **response_kw))
    with pytest.raises(VendorHTTPError) as err:
        await make(rec).synthesize("x", VoiceSettings(), 16000)
    assert err.value.status == status and err.value.provider == "azure"
    assert f"HTTP {status}" in str(err.value) and expect in str(err.value)
    assert KEY not in str(err.value)
    if status == 401:
        assert "AZURE_SPEECH_KEY" in str(err.value)


async def test_timeout_and_connection_errors():
    rec = Recorder(
        raises_on(httpx.ConnectTimeout, "timed out"),
        raises_on(httpx.ConnectError, f"[Errno -2] cannot resolve host for key={KEY}"),
    )
    tts = make(rec)
    with pytest.raises(ProviderError, match="did not answer within 30 s"):
        await tts.synthesize("x", VoiceSettings(), 16000)
    with pytest.raises(ProviderError, match="ConnectError") as err:
        [c async for c in tts.stream("x", VoiceSettings(), 16000)]
    assert KEY not in str(err.value)
    assert len(rec.requests) == 2
