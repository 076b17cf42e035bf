"""adapters/providers/audio.py on real encoded audio (PyAV/FFmpeg and LAME encoders, no mocks).

ffmpeg and sox are not installed here; the "second encoder" for MP3 is FFmpeg's libmp3lame
driven through PyAV, independent of the lameenc path under test.
"""

from __future__ import annotations

import contextlib
import io
import wave
from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.providers import audio
from adapters.providers.base import AudioDecodeError

RATES = [8000, 16000, 22050, 44100, 48000]


# ----------------------------------------------------------------------------- helpers


def tone(n: int, rate: int, freq: float = 440.0, amplitude: float = 0.4) -> np.ndarray:
    """int16 sine of ``n`` samples at ``rate`` Hz."""
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2")


def stdlib_wav(samples: np.ndarray, rate: int, width: int = 2) -> bytes:
    """WAV via the stdlib: ``samples`` is (n,) or (n, channels) int16; width 1 writes unsigned 8-bit."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    if width == 1:
        data = ((frames.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    else:
        data = frames.astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return buf.getvalue()


def pyav_encode(
    fmt: str,
    codec: str,
    rate: int,
    samples: np.ndarray,
    *,
    layout: str = "mono",
    sample_fmt: str | None = None,
    options: dict[str, str] | None = None,
) -> bytes:
    """Encode float samples in [-1, 1] ((n,) or (channels, n)) with PyAV into container ``fmt``."""
    planar = samples[None, :] if samples.ndim == 1 else samples
    channels = planar.shape[0]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if options:
            stream.codec_context.options = options
        if sample_fmt:
            stream.format = sample_fmt
        step = 4096
        for start in range(0, planar.shape[1], step):
            chunk = np.ascontiguousarray(planar[:, start : start + step], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert channels == stream.codec_context.channels
    return buf.getvalue()


def as_int16(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2")


def dominant_frequency(pcm: bytes, rate: int) -> float:
    x = as_int16(pcm).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def rms(pcm: bytes) -> float:
    x = as_int16(pcm).astype(np.float64)
    return float(np.sqrt(np.mean(x**2)))


def has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return False
    return True


# ----------------------------------------------------------------------------- WAV


@pytest.mark.parametrize("rate", RATES)
def test_wav_16bit_same_rate_is_bit_exact(rate: int) -> None:
    x = tone(rate // 2 + 7, rate)
    assert audio.decode(stdlib_wav(x, rate), sample_rate=rate) == x.tobytes()


@pytest.mark.parametrize(
    "source,target", [(8000, 16000), (48000, 16000), (44100, 16000), (16000, 22050), (22050, 44100), (16000, 8000)]
)
def test_wav_resampled_has_exact_length_and_keeps_the_tone(source: int, target: int) -> None:
    n = source + 123
    pcm = audio.decode(stdlib_wav(tone(n, source), source), sample_rate=target)
    assert len(pcm) // 2 == round(n * target / source)
    assert abs(dominant_frequency(pcm, target) - 440) < 3
    assert rms(pcm) == pytest.approx(rms(tone(n, source).tobytes()), rel=0.05)


def test_wav_8bit_unsigned() -> None:
    x = tone(16000, 16000)
    pcm = audio.decode(stdlib_wav(x, 16000, width=1), sample_rate=16000)
    assert len(pcm) == len(x) * 2
    # 8-bit keeps the top byte: the error is below one 8-bit step (256 in 16-bit units).
    assert np.max(np.abs(as_int16(pcm).astype(int) - x.astype(int))) <= 256


def test_wav_float32() -> None:
    rate = 48000
    x = tone(rate, rate).astype(np.float32) / 32768
    data = pyav_encode("wav", "pcm_f32le", rate, x)
    assert audio.probe(data).codec == "pcm_f32le"
    pcm = audio.decode(data, sample_rate=rate)
    assert np.max(np.abs(as_int16(pcm).astype(int) - tone(rate, rate).astype(int))) <= 1


def test_wav_24bit_and_32bit_integer() -> None:
    rate = 16000
    x = tone(rate, rate).astype(np.float32) / 32768
    for codec in ("pcm_s24le", "pcm_s32le"):
        pcm = audio.decode(pyav_encode("wav", codec, rate, x), sample_rate=rate)
        assert np.max(np.abs(as_int16(pcm).astype(int) - tone(rate, rate).astype(int))) <= 1, codec


def test_stereo_is_mixed_down_not_truncated_to_one_channel() -> None:
    rate = 44100
    left = tone(rate, rate)
    silent = np.zeros_like(left)
    both = audio.decode(stdlib_wav(np.stack([left, left], 1), rate), sample_rate=rate)
    assert np.max(np.abs(as_int16(both).astype(int) - left.astype(int))) <= 1
    # One channel silent: the mix is half as loud, whichever channel carries the tone.
    for frames in (np.stack([left, silent], 1), np.stack([silent, left], 1)):
        mixed = audio.decode(stdlib_wav(frames, rate), sample_rate=rate)
        assert rms(mixed) == pytest.approx(rms(left.tobytes()) / 2, rel=0.02)


def test_multichannel_without_channel_mask_is_the_mean_of_all_channels() -> None:
    rate = 16000
    x = tone(rate, rate)
    for channels in (3, 6):
        for carrier in (0, channels - 1):
            frames = np.zeros((rate, channels), dtype="<i2")
            frames[:, carrier] = x
            mixed = audio.decode(stdlib_wav(frames, rate), sample_rate=rate)
            assert rms(mixed) == pytest.approx(rms(x.tobytes()) / channels, rel=0.02), (channels, carrier)


def test_stereo_wav_with_named_layout() -> None:
    rate = 48000
    x = tone(rate, rate).astype(np.float32) / 32768
    data = pyav_encode("wav", "pcm_s16le", rate, np.stack([x, x]), layout="stereo")
    info = audio.probe(data)
    assert (info.channels, info.sample_rate) == (2, 48000)
    pcm = audio.decode(data, sample_rate=16000)
    assert len(pcm) // 2 == 16000
    assert abs(dominant_frequency(pcm, 16000) - 440) < 3


# ----------------------------------------------------------------------------- compressed formats


def test_flac_is_lossless() -> None:
    rate = 22050
    x = tone(rate + 11, rate)
    data = pyav_encode("flac", "flac", rate, x.astype(np.float32) / 32768, sample_fmt="s16")
    assert audio.probe(data).format_name == "flac"
    assert audio.decode(data, sample_rate=rate) == x.tobytes()
    assert len(audio.decode(data, sample_rate=16000)) // 2 == round((rate + 11) * 16000 / rate)


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_mp3_from_encode_mp3_round_trips(rate: int) -> None:
    x = tone(rate * 2, rate)
    data = audio.encode_mp3(x.tobytes(), rate)
    pcm = audio.decode(data, sample_rate=16000, format_hint="mp3")
    expected = round(len(x) * 16000 / rate)
    assert expected <= len(pcm) // 2 <= expected + round(2300 * 16000 / rate)  # + encoder delay/padding
    assert abs(dominant_frequency(pcm, 16000) - 440) < 3
    assert rms(pcm) == pytest.approx(rms(x.tobytes()), rel=0.1)


def test_mp3_from_ffmpeg_libmp3lame() -> None:
    if not has_encoder("libmp3lame"):
        pytest.skip("this PyAV build has no libmp3lame encoder")
    rate = 44100
    x = tone(rate, rate).astype(np.float32) / 32768
    data = pyav_encode("mp3", "libmp3lame", rate, np.stack([x, x]), layout="stereo")
    info = audio.probe(data)
    assert (info.format_name, info.sample_rate, info.channels) == ("mp3", 44100, 2)
    pcm = audio.decode(data, sample_rate=16000)
    assert abs(len(pcm) // 2 - 16000) < 1200
    assert abs(dominant_frequency(pcm, 16000) - 440) < 3


@pytest.mark.parametrize("fmt", ["ogg", "webm"])
def test_opus(fmt: str) -> None:
    if not has_encoder("libopus"):
        pytest.skip("this PyAV build has no libopus encoder")
    rate = 48000
    x = tone(rate, rate).astype(np.float32) / 32768
    data = pyav_encode(fmt, "libopus", rate, x)
    info = audio.probe(data)
    assert info.codec == "opus"
    assert info.format_name == ("ogg" if fmt == "ogg" else "matroska,webm")
    pcm = audio.decode(data, sample_rate=16000, format_hint="audio/" + fmt)
    # Opus works in 20 ms frames and Ogg may keep the last one whole: length within one frame.
    assert abs(len(pcm) // 2 - 16000) <= 320
    assert abs(dominant_frequency(pcm, 16000) - 440) < 3
    assert rms(pcm) == pytest.approx(rms(tone(rate, rate).tobytes()), rel=0.15)


def test_ogg_vorbis() -> None:
    if not has_encoder("vorbis"):
        pytest.skip("this PyAV build has no vorbis encoder")
    rate = 44100
    x = tone(rate, rate).astype(np.float32) / 32768
    # FFmpeg's own Vorbis encoder is "experimental" and stereo-only.
    data = pyav_encode("ogg", "vorbis", rate, np.stack([x, x]), layout="stereo", options={"strict": "experimental"})
    assert audio.probe(data).codec == "vorbis"
    pcm = audio.decode(data, sample_rate=16000)
    assert abs(len(pcm) // 2 - 16000) < 1200
    assert abs(dominant_frequency(pcm, 16000) - 440) < 3


# ----------------------------------------------------------------------------- probe & raw PCM


def test_probe_measures_real_duration() -> None:
    x = tone(12345, 8000)
    info = audio.probe(stdlib_wav(x, 8000))
    assert info == audio.AudioInfo("wav", "pcm_s16le", 8000, 1, 12345 / 8000, info.declared_duration)
    assert info.declared_duration == pytest.approx(12345 / 8000, abs=1e-3)


def test_raw_pcm_hint_uses_pcm_rate() -> None:
    x = tone(8000, 8000)
    pcm = audio.decode(x.tobytes(), sample_rate=16000, format_hint="pcm", pcm_rate=8000)
    assert pcm == audio.pcm_resample(x.tobytes(), 8000, 16000)
    assert len(pcm) // 2 == 16000
    assert audio.decode(x.tobytes(), sample_rate=8000, format_hint="audio/L16") == x.tobytes()
    with pytest.raises(AudioDecodeError):
        audio.decode(b"\x01\x02\x03", sample_rate=16000, format_hint="pcm")


def test_wrong_format_hint_falls_back_to_detection() -> None:
    x = tone(16000, 16000)
    assert audio.decode(stdlib_wav(x, 16000), sample_rate=16000, format_hint="mp3") == x.tobytes()


# ----------------------------------------------------------------------------- corrupt input


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as c:
        s = c.add_stream("mjpeg", rate=1)
        s.width, s.height, s.pix_fmt = 16, 16, "yuvj420p"
        for packet in s.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")):
            c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    return buf.getvalue()


def video_only_matroska() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            for packet in s.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    return buf.getvalue()


CORRUPT = {
    "empty": b"",
    "random": np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    "truncated wav header": stdlib_wav(tone(800, 8000), 8000)[:30],
    "wav header only": stdlib_wav(tone(800, 8000), 8000)[:44],
    "text": b"This is not audio.\nJust some text in a file.\n" * 20,
    "json": b'{"audio": "base64..."}',
    "jpeg header": bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + bytes(200),
    "jpeg image": None,  # filled in by the test (needs PyAV)
    "video only": None,
    "hls playlist": b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_input_raises_audio_decode_error(name: str) -> None:
    data = CORRUPT[name]
    if name == "jpeg image":
        data = jpeg_bytes()
    elif name == "video only":
        data = video_only_matroska()
    assert data is not None
    with pytest.raises(AudioDecodeError):
        audio.decode(data, sample_rate=16000)
    with pytest.raises(AudioDecodeError):
        audio.probe(data)


def test_no_audio_stream_message() -> None:
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        audio.decode(video_only_matroska(), sample_rate=16000)


def test_duration_cap_stops_decompression_bombs() -> None:
    # 11 minutes of silence: ~125 kB of FLAC that would decode to 21 MB at 16 kHz.
    rate = 8000
    data = pyav_encode("flac", "flac", rate, np.zeros(rate * 660, dtype=np.float32), sample_fmt="s16")
    assert len(data) < 300_000
    with pytest.raises(AudioDecodeError, match="600 s limit"):
        audio.decode(data, sample_rate=16000)
    with pytest.raises(AudioDecodeError, match="limit"):
        audio.probe(data)
    with pytest.raises(AudioDecodeError, match="limit"):
        audio.decode(stdlib_wav(tone(16000 * 3, 16000), 16000), sample_rate=16000, max_seconds=2)
    assert audio.probe(data, max_seconds=700).duration == 660


VALID_SEEDS = [stdlib_wav(tone(4000, 8000), 8000), audio.encode_mp3(tone(4000, 16000).tobytes(), 16000)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_decode_or_raise_audio_decode_error(data: bytes) -> None:
    try:
        pcm = audio.decode(data, sample_rate=16000)
    except AudioDecodeError:
        return
    assert len(pcm) % 2 == 0 and pcm


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID_SEEDS),
    st.integers(0, 10_000),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=24),
)
def test_damaged_files_decode_or_raise_audio_decode_error(seed: bytes, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(seed[: max(cut, 0)] if cut < len(seed) else seed)
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    for call in (lambda: audio.decode(bytes(data), sample_rate=16000), lambda: audio.probe(bytes(data))):
        with contextlib.suppress(AudioDecodeError):
            call()


# ----------------------------------------------------------------------------- resampling


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 60_000),
    st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    st.sampled_from([8000, 16000, 22050, 44100, 48000]),
)
def test_pcm_resample_length_is_exact(n: int, from_rate: int, to_rate: int) -> None:
    pcm = tone(n, from_rate).tobytes()
    out = audio.pcm_resample(pcm, from_rate, to_rate)
    assert len(out) // 2 == int(Fraction(n * to_rate, from_rate) + Fraction(1, 2))  # round half up
    assert len(out) % 2 == 0


def test_pcm_resample_quality_and_identity() -> None:
    x = tone(16000, 16000)
    assert audio.pcm_resample(x.tobytes(), 16000, 16000) == x.tobytes()
    back = as_int16(audio.pcm_resample(audio.pcm_resample(x.tobytes(), 16000, 44100), 44100, 16000))
    assert np.max(np.abs(back[200:-200].astype(int) - x[200:-200].astype(int))) < 100
    with pytest.raises(AudioDecodeError):
        audio.pcm_resample(b"\x00", 16000, 8000)
    with pytest.raises(ValueError):
        audio.pcm_resample(x.tobytes(), 0, 8000)


# ----------------------------------------------------------------------------- encoding


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100])
def test_encode_wav_is_exact(rate: int) -> None:
    x = tone(rate // 3 + 1, rate).tobytes()
    data = audio.encode_wav(x, rate)
    assert len(data) == 44 + len(x) and data.endswith(x)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, rate, len(x) // 2)
        assert w.readframes(w.getnframes()) == x
    assert audio.decode(data, sample_rate=rate) == x


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 32000, 44100, 48000])
def test_encode_mp3_parses_back_with_right_rate_and_duration(rate: int) -> None:
    n = rate * 2 + 321
    data = audio.encode_mp3(tone(n, rate).tobytes(), rate)
    assert data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xe3") or data[:3] == b"ID3"
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        assert (c.format.name, stream.sample_rate, stream.codec_context.channels) == ("mp3", rate, 1)
        decoded = sum(frame.samples for frame in c.decode(stream))
    frame_samples = 1152 if rate >= 32000 else 576  # MPEG-1 vs MPEG-2/2.5 frame length
    encoder_delay = 576 + 529  # LAME's delay: one granule + decoder delay
    assert 0 <= decoded - n <= frame_samples + encoder_delay
    assert audio.probe(data).sample_rate == rate


def test_encode_mp3_odd_rate_is_resampled_and_bitrate_applies() -> None:
    x = tone(12000, 12345).tobytes()
    assert audio.probe(audio.encode_mp3(x, 12345)).sample_rate in audio.MP3_SAMPLE_RATES
    pcm = tone(44100 * 4, 44100).tobytes()
    small, large = audio.encode_mp3(pcm, 44100, 32), audio.encode_mp3(pcm, 44100, 128)
    assert len(large) > 3 * len(small)
    assert len(large) == pytest.approx(128_000 / 8 * 4, rel=0.1)


# ----------------------------------------------------------------------------- small helpers


def test_pcm_helpers_and_mime_types() -> None:
    x = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes()
    f = audio.pcm_to_float32(x)
    assert f.dtype == np.float32 and f.tolist() == [0.0, 0.5, -1.0, 32767 / 32768]
    assert audio.duration_of_pcm(b"\x00" * 32000, 16000) == 1.0
    assert audio.duration_of_pcm(b"", 8000) == 0.0
    assert audio.MIME_TYPES["mp3"] == "audio/mpeg"
    assert audio.MIME_TYPES["wav"] == "audio/wav"
    assert audio.MIME_TYPES["pcm"] == "audio/L16"
    assert audio.mime_type("MP3") == "audio/mpeg"
    assert audio.mime_type("xyz") == "application/octet-stream"
    with pytest.raises(ValueError):
        audio.decode(b"RIFF", sample_rate=0)


def test_mp3_stream_of_no_samples_flushes_empty():
    # blank text on synthesize-stream (mp3): LAME raised "Not currently encoding" on flush
    from adapters.providers.audio import Mp3StreamEncoder

    encoder = Mp3StreamEncoder(24000)
    assert encoder.encode(b"") == b""
    assert encoder.flush() == b""
    spoken = Mp3StreamEncoder(24000)
    frames = spoken.encode(b"\x00\x01" * 24000) + spoken.flush()
    assert frames[:3] == b"ID3" or frames[0] == 0xFF
