"""Incremental decoding of a container stream that arrives in pieces (browser ``MediaRecorder``
output: WebM/Opus or Ogg/Opus in e.g. 250 ms timeslices, or a WAV file), to mono s16le PCM.

A ``MediaRecorder`` recording is one continuous container byte stream cut at arbitrary points:
only the first piece carries the header, later pieces are continuations. So the pieces cannot be
decoded one by one; :class:`StreamDecoder` feeds them to one FFmpeg demuxer (PyAV) that reads
from a blocking in-memory pipe on its own thread, and after every piece returns the PCM that
could be decoded so far. Units: PCM is signed 16-bit little-endian mono; rates in Hz; durations
in seconds. Only the demuxers of :data:`STREAM_DEMUXERS` are used (a crafted stream cannot pick
another FFmpeg demuxer), and the decoded length is capped (``max_seconds``).
"""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Callable

import av
import av.error
import numpy as np

from adapters.providers import audio as codec
from adapters.providers.base import AudioDecodeError

__all__ = ["STREAM_DEMUXERS", "StreamDecoder", "sniff_container"]

#: Container name → FFmpeg demuxer used for it.
STREAM_DEMUXERS: dict[str, str] = {"webm": "matroska", "ogg": "ogg", "wav": "wav"}

_EBML = b"\x1a\x45\xdf\xa3"
_MIME_CONTAINERS: dict[str, str] = {
    "audio/webm": "webm", "video/webm": "webm", "audio/x-matroska": "webm", "video/x-matroska": "webm",
    "audio/ogg": "ogg", "audio/opus": "ogg", "application/ogg": "ogg",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/pcm": "pcm", "audio/l16": "pcm", "audio/x-raw": "pcm",
}
_FAILURES = (av.error.FFmpegError, EOFError, OSError, ValueError, IndexError, UnicodeDecodeError)


def sniff_container(data: bytes, mime_type: str | None = None) -> str | None:
    """The container of the first piece of a stream: ``webm``, ``ogg`` or ``wav`` from its header
    bytes (EBML magic, ``OggS``, ``RIFF…WAVE``), else from ``mime_type`` (parameters such as
    ``;codecs=opus`` ignored; ``audio/pcm``/``audio/L16`` mean raw PCM); None for raw PCM. Raises
    AudioDecodeError for a ``mime_type`` naming another type."""
    if data.startswith(_EBML):
        return "webm"
    if data.startswith(b"OggS"):
        return "ogg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if mime_type:
        base = mime_type.split(";")[0].strip().lower()
        if base not in _MIME_CONTAINERS:
            raise AudioDecodeError(f"unsupported audio type {base!r} (supported: audio/webm, audio/ogg, "
                                   "audio/wav, audio/pcm)")
        container = _MIME_CONTAINERS[base]
        return None if container == "pcm" else container
    return None


def starts_new_stream(container: str, data: bytes) -> bool:
    """True when ``data`` begins a new stream of ``container`` (a new WebM header, an Ogg
    beginning-of-stream page, a new RIFF header): the recorder was restarted."""
    if container == "webm":
        return data.startswith(_EBML)
    if container == "ogg":
        return data.startswith(b"OggS") and len(data) > 5 and bool(data[5] & 0x02)
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


class _Pipe:
    """A blocking byte pipe PyAV reads from (no ``seek``: a live, non-seekable stream)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.chunks: list[bytes] = []
        self.eof = False
        self.waiting = False  # the reader is blocked on an empty pipe

    def write(self, data: bytes) -> None:
        with self.cond:
            self.chunks.append(data)
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self.cond:
            while not self.chunks and not self.eof:
                self.waiting = True
                self.cond.notify_all()
                self.cond.wait()
            self.waiting = False
            if not self.chunks:
                return b""
            data = b"".join(self.chunks)
            if 0 < size < len(data):
                self.chunks = [data[size:]]
                return data[:size]
            self.chunks = []
            return data


class StreamDecoder:
    """One container stream (``webm``, ``ogg`` or ``wav``) decoded as its pieces arrive.

    :meth:`push` hands a piece to the decoder and returns the PCM (mono s16le at ``sample_rate``
    Hz) decodable so far; :meth:`finish` ends the stream and returns the rest. Both block (call
    them from a worker thread) and raise AudioDecodeError when the stream is not decodable audio
    of that container or decodes to more than ``max_seconds`` seconds; after an error the decoder
    is finished. The demuxer runs on a daemon thread that ends with the stream (:meth:`close`).
    A WAV stream is integer PCM after its header, so it is converted piece by piece without a
    demuxer (FFmpeg's WAV demuxer reads a live stream to its end before its first packet).
    """

    def __new__(cls, container: str, *, sample_rate: int = 16000, max_seconds: float = 600.0) -> StreamDecoder:
        if container == "wav" and cls is StreamDecoder:
            return super().__new__(_WavStream)
        return super().__new__(cls)

    def __init__(self, container: str, *, sample_rate: int = 16000, max_seconds: float = 600.0) -> None:
        if container not in STREAM_DEMUXERS:
            raise ValueError(f"unknown container {container!r}")
        self.container = container
        self.sample_rate = sample_rate
        self.max_seconds = max_seconds
        self._start()

    def _start(self) -> None:
        self._pipe = _Pipe()
        self._out: list[bytes] = []
        self._error: str | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name=f"stream-decoder-{self.container}", daemon=True)
        self._thread.start()

    # -- the demuxer thread --------------------------------------------------------------------

    def _emit(self, frames: list[av.AudioFrame]) -> None:
        data = b"".join(bytes(f.planes[0])[: f.samples * 2] for f in frames)
        if data:
            with self._pipe.cond:
                self._out.append(data)

    def _run(self) -> None:
        seconds = 0.0
        try:
            container = av.open(self._pipe, "r", format=STREAM_DEMUXERS[self.container],
                                options={"format_whitelist": ",".join(sorted(set(STREAM_DEMUXERS.values())))})
            try:
                if not container.streams.audio:
                    raise AudioDecodeError(f"the {self.container} stream has no audio track")
                stream = container.streams.audio[0]
                resampler = av.AudioResampler(format="s16", layout="mono", rate=self.sample_rate)
                for packet in container.demux(stream):
                    for frame in packet.decode():
                        if not frame.samples or not frame.sample_rate:
                            continue
                        seconds += frame.samples / frame.sample_rate
                        if seconds > self.max_seconds:
                            raise AudioDecodeError(f"the stream is longer than the {self.max_seconds:g} s limit")
                        frame.pts = None
                        self._emit(resampler.resample(frame))
                self._emit(resampler.resample(None))
            finally:
                container.close()
        except AudioDecodeError as exc:
            self._fail(str(exc))
        except _FAILURES as exc:
            self._fail(f"the {self.container} stream is not decodable audio: {exc}")
        finally:
            with self._pipe.cond:
                self._done = True
                self._pipe.cond.notify_all()

    def _fail(self, message: str) -> None:
        with self._pipe.cond:
            self._error = message
            self._pipe.eof = True  # stop waiting for input that will never be read
            self._pipe.chunks = []

    # -- the caller's side ---------------------------------------------------------------------

    def _collect(self, until: Callable[[], bool]) -> bytes:
        with self._pipe.cond:
            while not until():
                self._pipe.cond.wait()
            if self._error is not None:
                raise AudioDecodeError(self._error)
            data = b"".join(self._out)
            self._out = []
            return data

    def push(self, data: bytes) -> bytes:
        """Add the next piece; the PCM decoded from everything pushed so far that was not returned
        yet (it may be empty: the demuxer may need more bytes). Blocking."""
        if self._done and self._error is None:
            raise AudioDecodeError(f"the {self.container} stream has already ended")
        self._pipe.write(data)
        return self._collect(lambda: self._done or (self._pipe.waiting and not self._pipe.chunks))

    def finish(self) -> bytes:
        """End of the stream: the remaining PCM (decoder flushed). Blocking; the thread ends."""
        self._pipe.close()
        data = self._collect(lambda: self._done)
        self._thread.join(timeout=5)
        return data

    def close(self) -> None:
        """Abandon the stream (the thread ends without waiting for more input); never raises."""
        self._pipe.close()


class _WavStream(StreamDecoder):
    """A WAV stream (integer PCM, 8/16/24/32-bit, any channels and rate): the header (in the first
    piece, parsed by :mod:`wave`) gives the format; every later byte is samples, converted to mono
    s16le at ``sample_rate`` Hz as it arrives."""

    def _start(self) -> None:
        self._params: wave._wave_params | None = None
        self._pending = b""
        self._seconds = 0.0
        self._ended = False

    def _convert(self, data: bytes) -> bytes:
        params = self._params
        assert params is not None
        frame = params.sampwidth * params.nchannels
        usable = len(data) - len(data) % frame
        self._pending, data = data[usable:], data[:usable]
        if not data:
            return b""
        self._seconds += len(data) / frame / params.framerate
        if self._seconds > self.max_seconds:
            raise AudioDecodeError(f"the stream is longer than the {self.max_seconds:g} s limit")
        width = params.sampwidth
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, width)
        if width == 1:  # unsigned 8-bit
            values = (raw[:, 0].astype(np.float64) - 128.0) * 256.0
        else:  # little-endian signed `width`-byte integers, placed in the top bytes of an int32
            padded = np.zeros((raw.shape[0], 4), dtype=np.uint8)
            padded[:, 4 - width:] = raw
            values = padded.view("<i4")[:, 0].astype(np.float64) / 65536.0  # 16-bit scale
        mono = values.reshape(-1, params.nchannels).mean(axis=1)
        pcm = np.clip(np.round(mono), -32768, 32767).astype("<i2").tobytes()
        return codec.pcm_resample(pcm, params.framerate, self.sample_rate)

    def push(self, data: bytes) -> bytes:
        """The next piece (the first holds the RIFF header); its samples as mono s16le PCM."""
        if self._ended:
            raise AudioDecodeError("the wav stream has already ended")
        if self._params is None:
            header = self._pending + data
            start = header.find(b"data", 12)
            if start < 0 or len(header) < start + 8:
                if len(header) > 65536:
                    raise AudioDecodeError("the wav stream has no data chunk in its first 64 KiB")
                self._pending = header
                return b""
            try:
                with wave.open(io.BytesIO(header[: start + 8])) as w:
                    self._params = w.getparams()
            except (wave.Error, EOFError) as exc:
                raise AudioDecodeError(f"the wav stream is not integer PCM WAV: {exc}") from None
            if not 1 <= self._params.sampwidth <= 4 or not 8000 <= self._params.framerate <= 192000:
                raise AudioDecodeError("the wav stream is not 8/16/24/32-bit PCM at 8000..192000 Hz")
            data, self._pending = header[start + 8:], b""
        return self._convert(self._pending + data)

    def finish(self) -> bytes:
        """End of the stream (a trailing partial sample frame is dropped)."""
        self._ended = True
        if self._params is None:
            raise AudioDecodeError("the wav stream ended before its header")
        return b""

    def close(self) -> None:
        """Abandon the stream; never raises."""
        self._ended = True
