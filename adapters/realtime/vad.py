"""End-of-utterance detection with WebRTC's voice activity detector (``webrtcvad``).

Input is 16 kHz mono s16le PCM in any chunk size; it is cut into 30 ms frames (480 samples,
960 bytes). A run of ``start_frames`` voiced frames starts speech (reported at once, so the
caller can barge in); ``end_silence`` seconds of unvoiced frames end it, and the utterance
(with ``preroll`` seconds before the start) is returned.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

RATE = 16000
FRAME_MS = 30
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began ``at`` seconds after the detector's first sample."""

    at: float


@dataclass(frozen=True)
class Utterance:
    """A finished utterance: 16 kHz PCM; ``end`` = seconds (stream time) when silence confirmed it."""

    pcm: bytes
    start: float
    end: float

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / RATE


class UtteranceDetector:
    """Streaming utterance segmentation.

    ``aggressiveness`` 0-3 (webrtcvad), ``start_frames`` voiced frames to start speech,
    ``end_silence`` seconds of silence to end it, ``max_utterance`` seconds before a forced
    cut, ``min_speech`` seconds below which a blip is discarded.
    """

    def __init__(self, *, aggressiveness: int = 2, start_frames: int = 3, end_silence: float = 0.6,
                 preroll: float = 0.3, max_utterance: float = 20.0, min_speech: float = 0.25) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self.start_frames = start_frames
        self.end_frames = max(1, round(end_silence * 1000 / FRAME_MS))
        self.max_frames = round(max_utterance * 1000 / FRAME_MS)
        self.min_frames = round(min_speech * 1000 / FRAME_MS)
        self._preroll: deque[bytes] = deque(maxlen=max(1, round(preroll * 1000 / FRAME_MS)))
        self._pending = b""
        self._frames_seen = 0
        self._voiced_run = 0
        self._silence_run = 0
        self._speech: list[bytes] | None = None
        self._speech_start = 0.0
        self._voiced_in_speech = 0

    @property
    def in_speech(self) -> bool:
        return self._speech is not None

    def feed(self, pcm: bytes) -> list[SpeechStarted | Utterance]:
        """Consume PCM; return the events it completes, in order."""
        events: list[SpeechStarted | Utterance] = []
        data = self._pending + pcm
        usable = len(data) - len(data) % FRAME_BYTES
        self._pending = data[usable:]
        for offset in range(0, usable, FRAME_BYTES):
            event = self._frame(data[offset:offset + FRAME_BYTES])
            if event is not None:
                events.append(event)
        return events

    def _now(self) -> float:
        return self._frames_seen * FRAME_MS / 1000

    def _frame(self, frame: bytes):
        voiced = self._vad.is_speech(frame, RATE)
        self._frames_seen += 1
        if self._speech is None:
            self._preroll.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self.start_frames:
                self._speech = list(self._preroll)
                self._speech_start = self._now() - len(self._speech) * FRAME_MS / 1000
                self._voiced_in_speech = self._voiced_run
                self._silence_run = 0
                self._preroll.clear()
                return SpeechStarted(self._now())
            return None
        self._speech.append(frame)
        if voiced:
            self._voiced_in_speech += 1
            self._silence_run = 0
        else:
            self._silence_run += 1
        if self._silence_run >= self.end_frames or len(self._speech) >= self.max_frames:
            return self._finish()
        return None

    def _finish(self) -> Utterance | None:
        frames, voiced = self._speech or [], self._voiced_in_speech
        self._speech, self._voiced_run, self._silence_run, self._voiced_in_speech = None, 0, 0, 0
        if voiced < self.min_frames:
            return None
        return Utterance(b"".join(frames), self._speech_start, self._now())

    def flush(self) -> Utterance | None:
        """End of input: the utterance in progress, if any."""
        if self._speech is None:
            return None
        return self._finish()
