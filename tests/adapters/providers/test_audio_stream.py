"""Incremental decoding of browser recordings (adapters/providers/audio_stream.py): MediaRecorder-like
pieces of one WebM/Opus, Ogg/Opus or WAV stream decode, as they arrive, to the audio the whole file holds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adapters.providers import audio as codec
from adapters.providers.audio_stream import StreamDecoder, sniff_container, starts_new_stream
from adapters.providers.base import AudioDecodeError
from tests.handlers.vertebro_voice.conftest import encode_container, recorder_pieces

RATE = 16000


def _tone(seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * math.pi * hz * t) * 8000).astype("<i2").tobytes()


@pytest.mark.parametrize("container", ["webm", "ogg", "wav"])
def test_pieces_decode_incrementally_to_what_the_whole_file_holds(container):
    pcm = _tone(3.0)
    pieces = recorder_pieces(pcm, RATE, container)
    assert len(pieces) == 12 and sniff_container(pieces[0]) == container
    assert all(sniff_container(p) is None for p in pieces[1:] if not p.startswith(b"OggS"))
    decoder = StreamDecoder(container, sample_rate=RATE)
    got = [decoder.push(p) for p in pieces]
    tail = decoder.finish()
    assert sum(1 for g in got[:-1] if g) >= 8  # audio comes out while the stream is still arriving
    streamed = b"".join(got) + tail
    whole = codec.decode(encode_container(pcm, RATE, container), sample_rate=RATE)
    assert abs(len(streamed) - len(whole)) <= 2 * RATE // 50  # within one 20 ms Opus frame
    n = min(len(streamed), len(whole)) // 2
    a, b = np.frombuffer(streamed[: 2 * n], "<i2"), np.frombuffer(whole[: 2 * n], "<i2")
    assert np.corrcoef(a.astype(float), b.astype(float))[0, 1] > 0.99


def test_detection_from_bytes_then_mime_type():
    assert sniff_container(b"\x1a\x45\xdf\xa3....") == "webm"
    assert sniff_container(b"OggS\x00\x02") == "ogg"
    assert sniff_container(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff_container(b"\x00\x01" * 10) is None  # raw PCM
    assert sniff_container(b"\x00\x01", "audio/webm;codecs=opus") == "webm"
    assert sniff_container(b"\x00\x01", "audio/L16; rate=16000") is None
    with pytest.raises(AudioDecodeError, match="unsupported audio type 'video/mp4'"):
        sniff_container(b"\x00\x01", "video/mp4")
    assert starts_new_stream("ogg", b"OggS\x00\x02") and not starts_new_stream("ogg", b"OggS\x00\x00")
    assert starts_new_stream("webm", b"\x1a\x45\xdf\xa3") and not starts_new_stream("webm", b"\x1f\x43\xb6\x75")


def test_garbage_and_overlong_streams_fail_cleanly():
    decoder = StreamDecoder("webm")
    with pytest.raises(AudioDecodeError, match="not decodable audio"):
        decoder.push(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40)
        decoder.finish()
    decoder = StreamDecoder("ogg", max_seconds=1.0)
    with pytest.raises(AudioDecodeError, match="longer than the 1 s limit"):
        for piece in recorder_pieces(_tone(3.0), RATE, "ogg"):
            decoder.push(piece)
        decoder.finish()
    decoder = StreamDecoder("webm")  # abandoned mid-stream: close() ends its thread
    decoder.push(recorder_pieces(_tone(1.0), RATE, "webm")[0])
    decoder.close()
    decoder._thread.join(timeout=10)
    assert not decoder._thread.is_alive()
