"""CLOUD_PROVIDERS table, shared helpers, and the promise that nothing touches the network
until an adapter method is awaited."""

from __future__ import annotations

import socket

import httpx
import pytest

from adapters.providers.base import ProviderNotConfigured, SpeechToText, TextToSpeech
from adapters.providers.cloud import CLOUD_PROVIDERS, AzureTTS, DeepgramASR, ElevenLabsTTS, GoogleASR
from adapters.providers.cloud._audio import ChunkAssembler, pick_rate, resample
from adapters.providers.cloud._http import VendorClient

from .conftest import Recorder

CLASSES = {"elevenlabs": ElevenLabsTTS, "azure": AzureTTS, "deepgram": DeepgramASR, "google": GoogleASR}
FEATURES = {
    "streaming",
    "character_timestamps",
    "word_timestamps",
    "word_confidence",
    "custom_voice",
    "voice_settings",
    "speaking_rate",
    "punctuation",
    "language_detection",
}


def test_table_matches_the_adapters():
    assert set(CLOUD_PROVIDERS) == set(CLASSES)
    for pid, entry in CLOUD_PROVIDERS.items():
        kind, display, settings, features = entry  # a plain tuple for callers that unpack
        cls = CLASSES[pid]
        assert cls.name == pid and display
        assert kind == ("tts" if issubclass(cls, (ElevenLabsTTS, AzureTTS)) else "asr")
        assert set(features) <= FEATURES and len(features) == len(set(features))
        # the ASR adapters are REST, not incremental: never advertise streaming for them
        if kind == "asr":
            assert "streaming" not in features
        # Azure's REST API gives no timing; only ElevenLabs has (character) timestamps
        assert ("character_timestamps" in features) == (pid == "elevenlabs")


@pytest.mark.parametrize("pid", sorted(CLOUD_PROVIDERS))
def test_each_required_setting_is_named_when_missing(pid, monkeypatch):
    settings = CLOUD_PROVIDERS[pid].settings
    for name in settings:
        monkeypatch.setenv(name, "value-" + name.lower().replace("_", "-"))
    for missing in settings:
        monkeypatch.delenv(missing)
        with pytest.raises(ProviderNotConfigured) as err:
            CLASSES[pid].from_env(transport=Recorder().transport)
        assert err.value.provider == pid and err.value.setting == missing
        monkeypatch.setenv(missing, "westus" if missing.endswith("REGION") else "k")
    adapter = CLASSES[pid].from_env(transport=Recorder().transport)
    protocol = TextToSpeech if CLOUD_PROVIDERS[pid].kind == "tts" else SpeechToText
    assert isinstance(adapter, protocol)


async def test_construction_and_close_do_not_touch_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    adapters = [ElevenLabsTTS("k"), AzureTTS("k", "westus"), DeepgramASR("k"), GoogleASR("k")]
    for adapter in adapters:
        async with adapter:
            pass
    assert adapters[0]._http._client.is_closed


async def test_injected_client_is_not_closed():
    client = httpx.AsyncClient(transport=Recorder().transport)
    async with DeepgramASR("k", client=client):
        pass
    assert not client.is_closed
    await client.aclose()


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        VendorClient("x", secrets=[], timeout=0)


@pytest.mark.parametrize(
    ("wanted", "picked"), [(16000, 16000), (12000, 16000), (32000, 44100), (96000, 44100), (1, 8000)]
)
def test_pick_rate(wanted, picked):
    assert pick_rate(wanted, (8000, 16000, 22050, 24000, 44100)) == picked


def test_pick_rate_rejects_nonsense():
    with pytest.raises(ValueError):
        pick_rate(0, (16000,))


def test_chunk_assembler_keeps_whole_samples_and_offsets():
    pcm = bytes(range(200)) * 10
    assembler = ChunkAssembler(16000, 16000)
    chunks = [c for c in (assembler.push(pcm[i : i + 7]) for i in range(0, len(pcm), 7)) if c]
    tail = assembler.finish()
    assert tail is None
    assert b"".join(c.pcm for c in chunks) == pcm
    assert all(len(c.pcm) % 2 == 0 for c in chunks)
    assert chunks[1].offset == pytest.approx(len(chunks[0].pcm) / 2 / 16000)


def test_resample_preserves_duration():
    one_second = b"\x00\x10" * 22050
    out = resample(one_second, 22050, 16000)
    assert len(out) // 2 == pytest.approx(16000, abs=32)
    assert resample(one_second, 22050, 22050) is one_second
