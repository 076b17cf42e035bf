"""The server's outbound audio: an aiortc track that plays queued speech in real time.

Frames are 20 ms of 48 kHz mono s16 (960 samples), paced by the wall clock like aiortc's own
``AudioStreamTrack``; silence is sent when nothing is queued, so the RTP stream never stalls.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
FRAME_BYTES = FRAME_SAMPLES * 2
SILENCE = bytes(FRAME_BYTES)


class SpeechOutputTrack(MediaStreamTrack):
    """``play(pcm)`` queues 48 kHz mono PCM; ``clear()`` drops what is queued (barge-in).

    ``on_audio_start`` is called once per :meth:`play` when its first frame leaves.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._start: float | None = None
        self._timestamp = 0
        self._marks: list[tuple[int, Callable[[], None] | None]] = []
        self._sent = 0
        self.on_audio_start: Callable[[], None] | None = None

    @property
    def speaking(self) -> bool:
        """True while queued speech remains."""
        return bool(self._buffer)

    @property
    def queued_seconds(self) -> float:
        return len(self._buffer) / 2 / RATE

    def play(self, pcm: bytes, on_start: Callable[[], None] | None = None) -> None:
        """Queue ``pcm`` (48 kHz mono s16le); ``on_start`` runs when its first frame is sent."""
        if len(pcm) % 2:
            pcm = pcm[:-1]
        self._marks.append((self._sent + len(self._buffer), on_start))
        self._buffer.extend(pcm)

    def clear(self) -> None:
        """Stop playback now: drop everything queued."""
        self._buffer.clear()
        self._marks.clear()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += FRAME_SAMPLES
            wait = self._start + self._timestamp / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        if chunk:
            for mark in [m for m in self._marks if m[0] < self._sent + len(chunk)]:
                self._marks.remove(mark)
                if mark[1]:
                    mark[1]()
            self._sent += len(chunk)
        if len(chunk) < FRAME_BYTES:
            chunk += SILENCE[: FRAME_BYTES - len(chunk)]
        frame = av.AudioFrame.from_ndarray(np.frombuffer(chunk, dtype="<i2").reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, RATE)
        return frame
