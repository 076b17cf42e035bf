"""PCM helpers for the cloud TTS adapters: choosing a vendor rate, resampling with PyAV,
and cutting a byte stream into whole 16-bit samples with running offsets."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from adapters.providers.base import AudioChunk


def pick_rate(wanted: int, offered: Sequence[int]) -> int:
    """``wanted`` if the vendor offers it, else the lowest offered rate above it, else the highest."""
    if wanted <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {wanted}")
    if wanted in offered:
        return wanted
    above = [r for r in offered if r > wanted]
    return min(above) if above else max(offered)


class PcmResampler:
    """Streaming s16le mono resampler (PyAV's libswresample); a pass-through when rates match.

    PyAV is imported only when a conversion is actually needed.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._resampler = None
        if src_rate != dst_rate:
            import av  # noqa: PLC0415 - only needed for rates the vendor does not offer

            self._av = av
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=dst_rate)

    def _frames_to_bytes(self, frames) -> bytes:
        return b"".join(bytes(f.planes[0])[: f.samples * 2] for f in frames)

    def feed(self, pcm: bytes) -> bytes:
        """Resample whole samples (``len(pcm)`` must be even)."""
        if self._resampler is None or not pcm:
            return pcm
        frame = self._av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = self.src_rate
        return self._frames_to_bytes(self._resampler.resample(frame))

    def flush(self) -> bytes:
        if self._resampler is None:
            return b""
        return self._frames_to_bytes(self._resampler.resample(None))


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Whole-buffer s16le mono resampling."""
    if src_rate == dst_rate:
        return pcm
    r = PcmResampler(src_rate, dst_rate)
    return r.feed(pcm[: len(pcm) - len(pcm) % 2]) + r.flush()


class ChunkAssembler:
    """Turns an arbitrary byte stream of s16le PCM at ``src_rate`` into ``AudioChunk``s at
    ``dst_rate``: whole samples only (an odd trailing byte waits for the next piece) and
    ``offset`` = samples already emitted / ``dst_rate``."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self._resampler = PcmResampler(src_rate, dst_rate)
        self._rate = dst_rate
        self._carry = b""
        self._samples = 0

    def _chunk(self, pcm: bytes) -> AudioChunk | None:
        if not pcm:
            return None
        chunk = AudioChunk(pcm=pcm, sample_rate=self._rate, offset=self._samples / self._rate)
        self._samples += len(pcm) // 2
        return chunk

    def push(self, data: bytes) -> AudioChunk | None:
        data = self._carry + data
        cut = len(data) - len(data) % 2
        self._carry = data[cut:]
        return self._chunk(self._resampler.feed(data[:cut]))

    def finish(self) -> AudioChunk | None:
        """Flush the resampler; a lone trailing byte (half a sample) is dropped."""
        self._carry = b""
        return self._chunk(self._resampler.flush())

    async def assemble(self, pieces: AsyncGenerator[bytes, None]) -> AsyncGenerator[AudioChunk, None]:
        """Every chunk of the byte stream ``pieces``, then the flushed tail. An early stop by
        the consumer closes ``pieces`` at once (and with it the vendor's HTTP stream)."""
        async with aclosing(pieces):
            async for piece in pieces:
                chunk = self.push(piece)
                if chunk is not None:
                    yield chunk
        last = self.finish()
        if last is not None:
            yield last
