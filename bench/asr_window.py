"""Accuracy and speed of Whisper's short-utterance window (``WhisperASR.transcribe_utterance``)
against the full 30-s window (``transcribe``), paired on the same audio.

``python -m bench.asr_window`` (about 5 minutes on 2 cores; nothing is asserted). Audio: 40
sentences (bench/realtime.py's 10, bench/speech.py's 20 and 10 more conversational ones), espeak-ng
at 0.85 and 1.1 times its default rate, synthesized at 22050 Hz and brought to 16 kHz two ways:

* ``resampled``: 22050 → 48000 → 16000 Hz, as the realtime tests' caller speaks;
* ``opus``: at 48 kHz through aiortc's Opus encoder and decoder in 20 ms frames (the WebRTC
  uplink), then to 16 kHz mono as the server's peer does;

each with 0.3 s of silence before (the VAD's preroll) and 90 ms after (the quiet the detector
has seen when it reports the pause whose audio the realtime loop recognises). Every clip is
recognised with the full window and with utterance windows of at least 10, 15 and 20 s (7 s of
padding after the audio in each): mean and median WER against the sentence, how many clips each
window heard better or worse than the full one, and the median time per recognition.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import statistics
import sys
import time

import numpy as np

from bench.realtime import SENTENCES as REALTIME_SENTENCES
from bench.speech import SENTENCES as SPEECH_SENTENCES

MORE = [
    "She sells sea shells by the sea shore every summer morning.",
    "Where can visitors park their car?",
    "Hello there, how are you?",
    "I would like to check my balance.",
    "Wait, stop.",
    "Please tell me the balance of my savings account.",
    "My name is John and I live at forty two Elm Street.",
    "Could you send the statement to my email address?",
    "No, that is not what I asked for.",
    "Yes, please.",
]
TEXTS = REALTIME_SENTENCES + SPEECH_SENTENCES + MORE
RATES = (0.85, 1.1)
WINDOWS = (None, 10.0, 15.0, 20.0)  # None: the full 30-s window (transcribe)


def opus_roundtrip(pcm48: bytes) -> bytes:
    """48 kHz mono PCM through aiortc's Opus encoder and decoder (20 ms frames), then 16 kHz mono."""
    import av
    from aiortc.codecs.opus import OpusDecoder, OpusEncoder
    from aiortc.jitterbuffer import JitterFrame

    encoder, decoder = OpusEncoder(), OpusDecoder()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    out = bytearray()
    for i in range(0, len(pcm48) - 1919, 1920):
        frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm48[i:i + 1920], dtype="<i2").reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, i // 2, fractions.Fraction(1, 48000)
        payloads, timestamp = encoder.encode(frame)
        for payload in payloads:
            for decoded in decoder.decode(JitterFrame(data=payload, timestamp=timestamp)):
                for piece in resampler.resample(decoded):
                    out += bytes(piece.planes[0])[:piece.samples * 2]
    return bytes(out)


async def clips() -> list[tuple[str, str, bytes]]:
    from adapters.providers.audio import pcm_resample
    from adapters.providers.base import VoiceSettings
    from adapters.providers.espeak import EspeakTTS

    tts = EspeakTTS()
    out = []
    lead, tail = bytes(9600), bytes(2880)
    for rate in RATES:
        for text in TEXTS:
            pcm48 = pcm_resample((await tts.synthesize(text, VoiceSettings(voice_id="en-us", rate=rate), 22050)).pcm,
                                 22050, 48000)
            out.append((text, "resampled", lead + pcm_resample(pcm48, 48000, 16000) + tail))
            out.append((text, "opus", lead + opus_roundtrip(bytes(28800) + pcm48 + bytes(9600))[9600:]))
    return out


async def run() -> str:
    from adapters.providers import whisper
    from adapters.providers.wer import word_error_rate

    audio = await clips()
    asr = whisper.WhisperASR()
    await asr.load()
    wer: dict[float | None, list[float]] = {w: [] for w in WINDOWS}
    seconds: dict[float | None, list[float]] = {w: [] for w in WINDOWS}
    default = whisper.UTTERANCE_MIN_WINDOW_SECONDS
    try:
        for text, _, pcm in audio:
            for window in WINDOWS:
                started = time.perf_counter()
                if window is None:
                    heard = await asr.transcribe(pcm, "en-US", False)
                else:
                    whisper.UTTERANCE_MIN_WINDOW_SECONDS = window
                    heard = await asr.transcribe_utterance(pcm, "en-US")
                seconds[window].append(time.perf_counter() - started)
                wer[window].append(word_error_rate(text, heard.text))
    finally:
        whisper.UTTERANCE_MIN_WINDOW_SECONDS = default
    lines = [
        f"## Whisper tiny.en: full 30-s window vs utterance windows ({len(audio)} clips: {len(TEXTS)} sentences × "
        f"{len(RATES)} rates × resampled/Opus; {whisper.UTTERANCE_MARGIN_SECONDS:g} s padding after the audio)\n",
        "| window | WER mean | WER median | resampled | opus | better / worse than full | ms per recognition (p50) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for window in WINDOWS:
        paths = {p: [w for w, (_, path, _) in zip(wer[window], audio, strict=True) if path == p]
                 for p in ("resampled", "opus")}
        better = sum(a < b for a, b in zip(wer[window], wer[None], strict=True))
        worse = sum(a > b for a, b in zip(wer[window], wer[None], strict=True))
        lines.append(
            f"| {'full (30 s)' if window is None else f'≥ {window:g} s'} | {statistics.fmean(wer[window]):.4f} | "
            f"{statistics.median(wer[window]):.2f} | {statistics.fmean(paths['resampled']):.4f} | "
            f"{statistics.fmean(paths['opus']):.4f} | {better} / {worse} | "
            f"{statistics.median(seconds[window]) * 1000:.0f} |"
        )
    lines.append("")
    lines.append(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return "\n".join(lines)


def main() -> int:
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    print(asyncio.run(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
