"""Audio conversion: uploads of any common container → mono 16-bit PCM, and PCM → WAV / MP3.

Pure functions, no HTTP. Units throughout: ``pcm`` is signed 16-bit little-endian mono
(2 bytes per sample); sample rates in Hz; durations in seconds.

Decoding goes through PyAV (FFmpeg) reading from memory. Only audio demuxers on
``ALLOWED_DEMUXERS`` are accepted, so a crafted upload cannot make FFmpeg pick a playlist or
image demuxer (HLS, concat, image2 …) that would open other files or URLs. Every FFmpeg
failure surfaces as :class:`~adapters.providers.base.AudioDecodeError`; decoded length is
capped (``max_seconds``) so a tiny, highly-compressed file cannot expand into gigabytes.

PyAV, NumPy and LAME are imported by the functions that use them, not with this module (which
most API handlers import): a server starts without them (~0.15 s) and its engine warm-up
(adapters/engines.py) imports them in the background.
"""

from __future__ import annotations

import contextlib
import io
import numbers
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING

from adapters.providers.base import AudioDecodeError

if TYPE_CHECKING:
    import av
    import av.container
    import lameenc
    import numpy as np

__all__ = [
    "ALLOWED_DEMUXERS",
    "AudioInfo",
    "MIME_TYPES",
    "decode",
    "duration_of_pcm",
    "encode_mp3",
    "encode_wav",
    "expected_length",
    "mime_type",
    "pcm_resample",
    "pcm_to_float32",
    "probe",
]

#: Response/encoding format name → MIME type (``pcm`` is raw s16le mono, RFC 2586 ``audio/L16``).
MIME_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/L16",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "webm": "audio/webm",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "ulaw": "audio/basic",
    "mulaw": "audio/basic",
}

#: FFmpeg demuxers accepted by :func:`decode` / :func:`probe` (FFmpeg's ``format_whitelist``).
ALLOWED_DEMUXERS: tuple[str, ...] = (
    "wav",
    "w64",
    "mp3",
    "ogg",
    "flac",
    "matroska",
    "webm",
    "aiff",
    "au",
    "caf",
    "mov",
    "mp4",
    "m4a",
    "3gp",
    "aac",
    "amr",
    "amrnb",
    "amrwb",
    "wv",
)

# format_hint (file extension, short name or MIME type) → FFmpeg demuxer name.
_HINT_TO_DEMUXER: dict[str, str] = {
    "wav": "wav",
    "wave": "wav",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "mp3": "mp3",
    "mpeg": "mp3",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "ogg": "ogg",
    "opus": "ogg",
    "oga": "ogg",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "webm": "matroska",
    "mkv": "matroska",
    "mka": "matroska",
    "audio/webm": "matroska",
    "flac": "flac",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "aac": "aac",
    "audio/aac": "aac",
    "m4a": "mov",
    "mp4": "mov",
    "audio/mp4": "mov",
    "audio/x-m4a": "mov",
    "aiff": "aiff",
    "aif": "aiff",
    "audio/aiff": "aiff",
}

_RAW_PCM_HINTS = frozenset({"pcm", "s16le", "l16", "audio/l16", "raw"})


@cache
def _ffmpeg_failures() -> tuple[type[BaseException], ...]:
    """Anything PyAV may raise while demuxing/decoding/resampling damaged data."""
    import av.error

    return (
        av.error.FFmpegError,
        OSError,
        EOFError,
        ValueError,
        IndexError,
        TypeError,
        RuntimeError,
        OverflowError,
        UnicodeDecodeError,
        MemoryError,
    )

_CHUNK_SAMPLES = 1 << 16  # samples per frame handed to the resampler


@dataclass(frozen=True)
class AudioInfo:
    """What an encoded upload contains.

    ``format_name``: FFmpeg demuxer (e.g. ``wav``, ``mp3``, ``ogg``, ``matroska,webm``);
    ``codec``: decoder name (``pcm_s16le``, ``mp3float``, ``opus`` …); ``sample_rate`` in Hz and
    ``channels`` of the first audio stream; ``duration``: seconds actually decoded
    (samples / sample_rate), not the container's claim; ``declared_duration``: the
    container's claim in seconds, or None when it makes none.
    """

    format_name: str
    codec: str
    sample_rate: int
    channels: int
    duration: float
    declared_duration: float | None = None


def mime_type(fmt: str) -> str:
    """MIME type for an output format name (``mp3``, ``wav``, ``pcm`` …); ``application/octet-stream`` if unknown."""
    return MIME_TYPES.get(fmt.lower(), "application/octet-stream")


# --------------------------------------------------------------------------------------------
# PCM helpers
# --------------------------------------------------------------------------------------------


def _check_pcm(pcm: bytes) -> None:
    if len(pcm) % 2:
        raise AudioDecodeError(f"16-bit PCM must have an even number of bytes, got {len(pcm)}")


def _check_rate(rate: int, what: str = "sample_rate") -> None:
    if not isinstance(rate, numbers.Integral) or isinstance(rate, bool) or rate <= 0:
        raise ValueError(f"{what} must be a positive integer number of Hz, got {rate!r}")


def duration_of_pcm(pcm: bytes, sample_rate: int) -> float:
    """Duration in seconds of mono s16le ``pcm`` at ``sample_rate`` Hz (= bytes / 2 / rate)."""
    _check_rate(sample_rate)
    return len(pcm) / 2 / sample_rate


def pcm_to_float32(pcm: bytes) -> np.ndarray:
    """Mono s16le ``pcm`` → 1-D float32 array in [-1.0, 1.0) (sample / 32768)."""
    import numpy as np

    _check_pcm(pcm)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _fit_length(pcm: bytes, samples: int) -> bytes:
    """Trim or zero-pad ``pcm`` to exactly ``samples`` samples."""
    have = len(pcm) // 2
    if have >= samples:
        return pcm[: samples * 2]
    return pcm + b"\x00\x00" * (samples - have)


def _expected_samples(samples_in: int, from_rate: int, to_rate: int) -> int:
    """round(samples_in * to_rate / from_rate), half up, computed exactly in integers."""
    return (2 * samples_in * to_rate + from_rate) // (2 * from_rate)


def pcm_resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample mono s16le ``pcm`` from ``from_rate`` Hz to ``to_rate`` Hz (libswresample).

    The output has exactly ``round(n * to_rate / from_rate)`` samples (halves rounded up; see
    :func:`expected_length`) for ``n`` input samples: the resampler is flushed and its result
    trimmed or zero-padded to that length (a sample or two at most).
    Raises AudioDecodeError for an odd byte count, ValueError for a non-positive rate.
    """
    _check_pcm(pcm)
    _check_rate(from_rate, "from_rate")
    _check_rate(to_rate, "to_rate")
    from_rate, to_rate = int(from_rate), int(to_rate)
    if from_rate == to_rate or not pcm:
        return bytes(pcm)
    import av
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    out: list[bytes] = []
    for start in range(0, len(samples), _CHUNK_SAMPLES):
        frame = av.AudioFrame.from_ndarray(
            samples[None, start : start + _CHUNK_SAMPLES].copy(), format="s16", layout="mono"
        )
        frame.sample_rate = from_rate
        frame.pts = start
        frame.time_base = Fraction(1, from_rate)
        out.extend(_frame_bytes(f) for f in resampler.resample(frame))
    out.extend(_frame_bytes(f) for f in resampler.resample(None))
    return _fit_length(b"".join(out), _expected_samples(len(samples), from_rate, to_rate))


def _frame_bytes(frame: av.AudioFrame) -> bytes:
    """Packed s16 mono frame → bytes (exactly ``frame.samples`` samples; planes may be padded)."""
    return bytes(frame.planes[0])[: frame.samples * 2]


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def encode_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap mono s16le ``pcm`` at ``sample_rate`` Hz in a RIFF/WAVE file (44-byte header, data verbatim)."""
    _check_pcm(pcm)
    _check_rate(sample_rate)
    sample_rate = int(sample_rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()


#: Sample rates MP3 can carry (MPEG-1: 32/44.1/48 kHz, MPEG-2: 16/22.05/24 kHz, MPEG-2.5: 8/11.025/12 kHz).
MP3_SAMPLE_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})


def encode_mp3(pcm: bytes, sample_rate: int, bitrate_kbps: int = 64) -> bytes:
    """Encode mono s16le ``pcm`` at ``sample_rate`` Hz as a constant-bitrate MP3 (LAME).

    The MPEG version follows the rate (44.1/48/32 kHz → MPEG-1, 16/22.05/24 kHz → MPEG-2,
    8/11.025/12 kHz → MPEG-2.5). Another rate is first resampled to the nearest rate MP3 carries.
    ``bitrate_kbps`` is clamped by LAME to what the MPEG version allows. The decoded audio is
    longer than the input by the encoder delay and final-frame padding (≤ ~2 frames of 1152 /
    576 samples) unless the decoder honours the LAME tag.
    """
    _check_pcm(pcm)
    _check_rate(sample_rate)
    sample_rate = int(sample_rate)
    if sample_rate not in MP3_SAMPLE_RATES:
        target = min(MP3_SAMPLE_RATES, key=lambda r: (abs(r - sample_rate), -r))
        pcm = pcm_resample(pcm, sample_rate, target)
        sample_rate = target
    encoder = _lame(sample_rate, bitrate_kbps)
    data = bytes(encoder.encode(pcm))
    return data + bytes(encoder.flush())


def _lame(sample_rate: int, bitrate_kbps: int) -> lameenc.Encoder:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(int(bitrate_kbps))
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(2)  # 2 = high quality, 7 = fastest
    return encoder


class Mp3StreamEncoder:
    """Incremental MP3 encoding for streamed speech: feed s16le mono PCM chunks at
    ``sample_rate`` Hz (one of :data:`MP3_SAMPLE_RATES`) with :meth:`encode`, then :meth:`flush`.
    Each call returns the complete MP3 frames available so far (possibly ``b""``); no samples at
    all (a blank text) flush to ``b""``."""

    def __init__(self, sample_rate: int, bitrate_kbps: int = 64) -> None:
        _check_rate(sample_rate)
        if int(sample_rate) not in MP3_SAMPLE_RATES:
            raise ValueError(f"MP3 cannot carry {sample_rate} Hz")
        self._encoder = _lame(int(sample_rate), bitrate_kbps)
        self._started = False

    def encode(self, pcm: bytes) -> bytes:
        """MP3 frames completed by ``pcm`` (s16le mono samples; raises ValueError when odd-sized)."""
        _check_pcm(pcm)
        if not pcm:
            return b""
        self._started = True
        return bytes(self._encoder.encode(pcm))

    def flush(self) -> bytes:
        """The last MP3 frames; ``b""`` when nothing was encoded (LAME refuses to flush then:
        "Not currently encoding", which ended blank-text synthesize-stream responses early)."""
        return bytes(self._encoder.flush()) if self._started else b""


def wav_stream_header(sample_rate: int) -> bytes:
    """A 44-byte RIFF/WAVE header for 16-bit mono PCM of unknown length (sizes 0xFFFFFFFF),
    the usual form for WAV streamed over HTTP; s16le samples follow."""
    _check_rate(sample_rate)
    rate = int(sample_rate)
    return (b"RIFF" + (0xFFFFFFFF).to_bytes(4, "little") + b"WAVEfmt "
            + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
            + rate.to_bytes(4, "little") + (rate * 2).to_bytes(4, "little") + (2).to_bytes(2, "little")
            + (16).to_bytes(2, "little") + b"data" + (0xFFFFFFFF).to_bytes(4, "little"))


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def _open(data: bytes, format_hint: str | None) -> av.container.InputContainer:
    """Open ``data`` with an allowed demuxer (the hinted one first, then FFmpeg's probe)."""
    import av

    options = {"format_whitelist": ",".join(ALLOWED_DEMUXERS)}
    demuxer = _HINT_TO_DEMUXER.get(format_hint.strip().lower()) if format_hint else None
    if demuxer:
        try:
            return av.open(io.BytesIO(data), "r", format=demuxer, options=options)
        except _ffmpeg_failures():
            pass  # a wrong hint is not fatal; let FFmpeg probe
    try:
        return av.open(io.BytesIO(data), "r", options=options)
    except _ffmpeg_failures() as exc:
        raise AudioDecodeError(
            "not a recognised audio file (supported: WAV, MP3, OGG/Opus, OGG/Vorbis, WebM, FLAC, "
            f"AAC/M4A, AIFF): {_reason(exc)}"
        ) from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).replace("'<none>'", "").strip().rstrip(":")


def _decoded_frames(container: av.container.InputContainer, max_seconds: float) -> Iterator[av.AudioFrame]:
    """Decoded frames of the first audio stream; AudioDecodeError beyond ``max_seconds``."""
    if not container.streams.audio:
        kinds = sorted({str(s.type) for s in container.streams}) or ["none"]
        raise AudioDecodeError(f"the file has no audio stream (streams: {', '.join(kinds)})")
    stream = container.streams.audio[0]
    seconds = 0.0
    for packet in container.demux(stream):
        for frame in packet.decode():
            if not frame.samples or not frame.sample_rate:
                continue
            seconds += frame.samples / frame.sample_rate
            if seconds > max_seconds:
                raise AudioDecodeError(f"audio is longer than the {max_seconds:g} s limit")
            yield frame


def _mean_of_channels(frame: av.AudioFrame) -> av.AudioFrame:
    """Mix a frame whose channel order is unspecified (e.g. "3 channels": a WAV without a
    channel mask) to mono by the plain mean of its channels; libswresample would otherwise
    guess a layout and may drop channels it takes for LFE."""
    import av
    import numpy as np

    channels = frame.layout.nb_channels
    data = frame.to_ndarray()
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    if data.dtype.kind == "u":  # unsigned 8-bit: centre on zero
        data = data.astype(np.float32) - 128.0
        scale = 128.0
    elif data.dtype.kind == "i":
        scale = float(2 ** (8 * data.dtype.itemsize - 1))  # |min| of a signed integer of that width
    else:
        scale = 1.0
    mono = (data.astype(np.float64).mean(axis=0) / scale).astype(np.float32)
    out = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
    out.sample_rate = frame.sample_rate
    return out


def _mono_resampler(rate: int) -> av.AudioResampler:
    """A libswresample resampler to mono s16 at ``rate`` Hz."""
    import av

    return av.AudioResampler(format="s16", layout="mono", rate=rate)


class _ToMono:
    """Streams decoded frames of any format/layout/rate to mono s16 at ``rate`` Hz.

    A new resampler is started (after flushing the old one) whenever the input's format,
    layout or rate changes (chained Ogg streams, odd MP3s). Each run of constant input rate
    contributes exactly round(samples * rate / input_rate) output samples.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.out: list[bytes] = []
        self._resampler: av.AudioResampler | None = None
        self._key: tuple[str, int, int] | None = None
        self._run_in = 0  # input samples of the current run
        self._run_out: list[bytes] = []

    def push(self, frame: av.AudioFrame) -> None:
        if frame.layout.nb_channels > 1 and frame.layout.name.endswith(" channels"):
            frame = _mean_of_channels(frame)
        key = (frame.format.name, frame.layout.nb_channels, frame.sample_rate)
        if key != self._key:
            self._finish_run()
            self._key = key
            self._resampler = _mono_resampler(self.rate)
        # Renumber timestamps so container quirks (negative or jumping pts) cannot affect output.
        frame.pts = self._run_in
        frame.time_base = Fraction(1, frame.sample_rate)
        self._run_in += frame.samples
        assert self._resampler is not None
        self._run_out.extend(_frame_bytes(f) for f in self._resampler.resample(frame))

    def _finish_run(self) -> None:
        if self._resampler is None or self._key is None:
            return
        self._run_out.extend(_frame_bytes(f) for f in self._resampler.resample(None))
        want = _expected_samples(self._run_in, self._key[2], self.rate)
        self.out.append(_fit_length(b"".join(self._run_out), want))
        self._resampler, self._run_in, self._run_out = None, 0, []

    def finish(self) -> bytes:
        self._finish_run()
        return b"".join(self.out)


def decode(
    data: bytes,
    *,
    sample_rate: int,
    format_hint: str | None = None,
    max_seconds: float = 600.0,
    pcm_rate: int | None = None,
) -> bytes:
    """Decode an encoded audio file held in memory to mono s16le PCM at exactly ``sample_rate`` Hz.

    ``data``: WAV (16/24/32-bit integer, float, 8-bit, A-law/µ-law), MP3, OGG/Opus,
    OGG/Vorbis, WebM/Opus, FLAC, AAC/M4A, AIFF … — whatever FFmpeg decodes, from the first audio
    stream. Channels are mixed down to mono. ``format_hint`` (``"mp3"``, ``"audio/webm"`` …) is
    tried first; FFmpeg's own detection follows if it fails. ``format_hint="pcm"`` (or
    ``s16le``/``audio/L16``) means headerless mono s16le at ``pcm_rate`` Hz (default
    ``sample_rate``), which is resampled with :func:`pcm_resample`.

    The result has round(n × sample_rate / source_rate) samples (halves up) for n decoded source
    samples at each source rate.
    Raises AudioDecodeError for empty input, unrecognised or corrupt data, a file without an
    audio stream, or audio longer than ``max_seconds`` seconds; ValueError for a bad ``sample_rate``.
    """
    _check_rate(sample_rate)
    sample_rate = int(sample_rate)
    if not data:
        raise AudioDecodeError("the audio is empty (0 bytes)")
    if format_hint and format_hint.strip().lower() in _RAW_PCM_HINTS:
        source_rate = pcm_rate or sample_rate
        _check_rate(source_rate, "pcm_rate")
        _check_pcm(data)
        if len(data) / 2 / source_rate > max_seconds:
            raise AudioDecodeError(f"audio is longer than the {max_seconds:g} s limit")
        return pcm_resample(bytes(data), source_rate, sample_rate)

    container = _open(bytes(data), format_hint)
    try:
        converter = _ToMono(sample_rate)
        for frame in _decoded_frames(container, max_seconds):
            converter.push(frame)
        pcm = converter.finish()
    except AudioDecodeError:
        raise
    except _ffmpeg_failures() as exc:
        raise AudioDecodeError(f"the audio data is corrupt or truncated: {_reason(exc)}") from None
    finally:
        _close(container)
    if not pcm:
        raise AudioDecodeError("the file contains no decodable audio samples")
    return pcm


def probe(data: bytes, *, max_seconds: float = 600.0) -> AudioInfo:
    """Describe an encoded audio file and measure its real duration by decoding it.

    Raises AudioDecodeError when ``data`` is empty, not a recognised audio file, has no audio
    stream, cannot be decoded, holds no samples, or is longer than ``max_seconds`` seconds.
    """
    if not data:
        raise AudioDecodeError("the audio is empty (0 bytes)")
    container = _open(bytes(data), None)
    try:
        per_rate: dict[int, int] = {}  # sample rate → samples decoded at that rate
        for frame in _decoded_frames(container, max_seconds):
            per_rate[frame.sample_rate] = per_rate.get(frame.sample_rate, 0) + frame.samples
        samples = sum(per_rate.values())
        rate = next(iter(per_rate), 0)
        total = sum(n / r for r, n in per_rate.items())
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        declared = container.duration / 1_000_000 if container.duration else None
        info = AudioInfo(
            format_name=container.format.name,
            codec=ctx.name,
            sample_rate=int(stream.sample_rate or rate),
            channels=int(ctx.channels),
            duration=total,
            declared_duration=declared,
        )
    except AudioDecodeError:
        raise
    except _ffmpeg_failures() as exc:
        raise AudioDecodeError(f"the audio data is corrupt or truncated: {_reason(exc)}") from None
    finally:
        _close(container)
    if samples == 0:
        raise AudioDecodeError("the file contains no decodable audio samples")
    return info


def _close(container: av.container.InputContainer) -> None:
    with contextlib.suppress(*_ffmpeg_failures()):
        container.close()


def expected_length(samples_in: int, from_rate: int, to_rate: int) -> int:
    """Samples :func:`pcm_resample` / :func:`decode` produce from ``samples_in`` at ``from_rate`` → ``to_rate``."""
    return _expected_samples(samples_in, from_rate, to_rate)
