"""End-of-utterance detection with WebRTC's voice activity detector (``webrtcvad``).

Input is 16 kHz mono s16le PCM in any chunk size; it is cut into 30 ms frames (480 samples,
960 bytes). A run of ``start_frames`` voiced frames starts speech (reported at once, so the
caller can barge in); ``end_silence`` seconds of unvoiced frames end it, and the utterance
(with ``preroll`` seconds before the start) is returned.

Pauses (issue 15): the moment the speaker goes quiet is reported long before the utterance
ends, so that the caller can start recognising the utterance while the end silence is still
being waited for. A frame counts as *quiet* when webrtcvad calls it unvoiced or when it is
``quiet_db`` dB or more below the loudest voiced frame of the utterance (webrtcvad keeps calling
frames voiced for ~100 ms after the sound stops; the energy drop shows the end sooner). After
``pause_frames`` quiet frames in a row a :class:`SpeechPaused` carries the utterance so far
(what the utterance will be if nothing audible follows) with a ``pause_id``. The next frame
that is not quiet makes that pause stale. An :class:`Utterance` names the pause whose audio
already holds all of it (``pause_id``, None if sound came after the last pause), so a
recognition started at that pause is a recognition of the utterance. :meth:`end_early` lets
the caller end an utterance after a shorter silence (``min_end_silence``) once it knows the
pause ends a complete sentence.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

RATE = 16000
FRAME_MS = 30
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began ``at`` seconds after the detector's first sample."""

    at: float


@dataclass(frozen=True)
class SpeechPaused:
    """The speaker went quiet ``at`` seconds (stream time) after the detector's first sample.

    ``pcm`` is the utterance so far, preroll and the quiet frames included: what the utterance
    is if nothing audible follows. ``pause_id`` is unique per detector."""

    pcm: bytes
    pause_id: int
    at: float


@dataclass(frozen=True)
class Utterance:
    """A finished utterance: 16 kHz PCM; ``end`` = seconds (stream time) when silence confirmed it.

    ``pause_id``: the :class:`SpeechPaused` whose ``pcm`` holds all of this utterance's sound
    (only quiet frames came after it), or None. ``end_silence``: seconds of quiet at its end when
    it was declared finished."""

    pcm: bytes
    start: float
    end: float
    pause_id: int | None = None
    end_silence: float = 0.0

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / RATE


class UtteranceDetector:
    """Streaming utterance segmentation.

    ``aggressiveness`` 0-3 (webrtcvad), ``start_frames`` voiced frames to start speech,
    ``end_silence`` seconds of silence to end it, ``max_utterance`` seconds before a forced
    cut, ``min_speech`` seconds below which a blip is discarded. ``pause_frames`` quiet frames
    report a :class:`SpeechPaused`; ``quiet_db`` is how far below the utterance's loudest voiced
    frame a frame counts as quiet; ``min_end_silence`` seconds of quiet is the shortest end
    :meth:`end_early` allows.
    """

    def __init__(self, *, aggressiveness: int = 2, start_frames: int = 3, end_silence: float = 0.6,
                 preroll: float = 0.3, max_utterance: float = 20.0, min_speech: float = 0.25,
                 pause_frames: int = 3, quiet_db: float = 40.0, min_end_silence: float = 0.3) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self.start_frames = start_frames
        self.end_frames = max(1, round(end_silence * 1000 / FRAME_MS))
        self.max_frames = round(max_utterance * 1000 / FRAME_MS)
        self.min_frames = round(min_speech * 1000 / FRAME_MS)
        self.pause_frames = max(1, pause_frames)
        self.min_end_frames = max(self.pause_frames, round(min_end_silence * 1000 / FRAME_MS))
        self._quiet_ratio = 10 ** (-quiet_db / 20)
        self._preroll: deque[bytes] = deque(maxlen=max(1, round(preroll * 1000 / FRAME_MS)))
        self._pending = b""
        self._frames_seen = 0
        self._voiced_run = 0
        self._silence_run = 0
        self._speech: list[bytes] | None = None
        self._speech_start = 0.0
        self._voiced_in_speech = 0
        self._peak = 0.0  # loudest voiced frame of the utterance (RMS)
        self._quiet_run = 0  # quiet frames in a row (unvoiced, or quiet_db under the peak)
        self._pauses = 0  # SpeechPaused reported so far (the last one's id)
        self._open_pause: int | None = None  # the pause nothing audible has followed yet
        # Quiet frames that end the utterance at the open pause: unreachable (webrtcvad's silence
        # ends it first) until end_early lowers it to min_end_frames for that pause.
        self._end_frames_now = self.max_frames + 1

    @property
    def in_speech(self) -> bool:
        return self._speech is not None

    @property
    def open_pause(self) -> int | None:
        """The id of the current utterance's last pause if only quiet frames followed it."""
        return self._open_pause

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechPaused | Utterance]:
        """Consume PCM; return the events it completes, in order."""
        events: list[SpeechStarted | SpeechPaused | Utterance] = []
        data = self._pending + pcm
        usable = len(data) - len(data) % FRAME_BYTES
        self._pending = data[usable:]
        for offset in range(0, usable, FRAME_BYTES):
            event = self._frame(data[offset:offset + FRAME_BYTES])
            if event is not None:
                events.append(event)
        return events

    def end_early(self, pause_id: int) -> Utterance | None:
        """The pause ``pause_id`` ends a complete sentence: end the utterance after
        ``min_end_silence`` of quiet instead of ``end_silence``. Returns the utterance when that
        much quiet has already passed; None when it is still to come (a later :meth:`feed`
        returns it) or when the pause is stale (sound followed it, or its utterance is over)."""
        if self._speech is None or self._open_pause != pause_id:
            return None
        self._end_frames_now = self.min_end_frames
        if self._quiet_run >= self.min_end_frames:
            return self._finish()
        return None

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
                self._quiet_run = 0
                self._peak = max(_rms(f) for f in self._speech)
                self._preroll.clear()
                return SpeechStarted(self._now())
            return None
        self._speech.append(frame)
        rms = _rms(frame)
        if voiced:
            self._voiced_in_speech += 1
            self._silence_run = 0
            quiet = rms < self._peak * self._quiet_ratio
            self._peak = max(self._peak, rms)
        else:
            self._silence_run += 1
            quiet = True
        event = None
        if quiet:
            self._quiet_run += 1
            if self._quiet_run == self.pause_frames and self._voiced_in_speech >= self.min_frames:
                self._pauses += 1
                self._open_pause = self._pauses
                event = SpeechPaused(b"".join(self._speech), self._pauses, self._now())
        else:
            self._quiet_run = 0
            self._open_pause = None
            self._end_frames_now = self.max_frames + 1
        if (self._silence_run >= self.end_frames or len(self._speech) >= self.max_frames
                or (self._open_pause is not None and self._quiet_run >= self._end_frames_now)):
            return self._finish()  # (a pause this very frame reported is named by the utterance)
        return event

    def _finish(self) -> Utterance | None:
        frames, voiced = self._speech or [], self._voiced_in_speech
        pause, quiet = self._open_pause, self._quiet_run
        self._speech, self._voiced_run, self._silence_run, self._voiced_in_speech = None, 0, 0, 0
        self._quiet_run, self._open_pause, self._end_frames_now, self._peak = 0, None, self.max_frames + 1, 0.0
        if voiced < self.min_frames:
            return None
        return Utterance(b"".join(frames), self._speech_start, self._now(), pause, quiet * FRAME_MS / 1000)

    def flush(self) -> Utterance | None:
        """End of input: the utterance in progress, if any."""
        if self._speech is None:
            return None
        return self._finish()


def _rms(frame: bytes) -> float:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    return math.sqrt(float(np.dot(samples, samples)) / len(samples)) if len(samples) else 0.0
