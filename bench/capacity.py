"""Capacity figures (part of ``make bench``): CPU cost per unit of work, for docs/deploy.md.

Wall-clock throughput on a shared machine moves several-fold between runs; CPU time spent per
unit of work moves much less, and is what a capacity plan multiplies. Measured here:

* **TTS** — CPU seconds per second of synthesized speech (espeak-ng through the adapter, 22050 Hz).
* **ASR** — CPU seconds per second of recognized speech (faster-whisper tiny.en, int8, all of
  the inference threads counted), on the TTS output resampled to 16 kHz.
* **Media** — CPU seconds per second of call audio for one WebRTC peer's codec work: Opus
  decode of the caller's 48 kHz stream plus Opus encode of the reply stream (PyAV / libopus, the
  codec aiortc uses), in 20 ms frames.
* **REST** — server CPU per request (``/proc/<pid>/stat`` user+system of the server process
  over N requests) for ``GET /api/version`` and an authenticated ``GET /v1/sessions/{id}``,
  one uvicorn worker on SQLite.

Then a capacity model for a target load (``--sessions``, ``--rps``) with a stated duty cycle.
Nothing is asserted. Usage: ``python -m bench.capacity`` (or ``python -m bench.run --only capacity``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np

from adapters.providers.audio import pcm_resample
from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.providers.whisper import SAMPLE_RATE as ASR_RATE
from adapters.providers.whisper import WhisperASR
from bench.run import cpu_seconds, free_port
from handlers.virtual_banker.security import mint_jwt

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    "Please transfer five hundred dollars from my savings account to checking.",
    "What is the balance of my credit card and when is the next payment due?",
    "I would like to speak with someone about a mortgage for a new house.",
    "Your appointment has been moved to Thursday at three in the afternoon.",
    "The branch on Main Street opens at nine and closes at five on weekdays.",
    "Can you tell me which documents I need to open a joint account?",
]
SECRET = "capacity-bench-secret-0123456789-0123456789"
#: Share of a call's seconds in which the caller speaks (recognized) and the agent speaks (synthesized).
CALLER_DUTY = 0.4
AGENT_DUTY = 0.4
#: Keep cores at most this busy in the plan (head-room for bursts, GC, the event loop).
TARGET_UTILISATION = 0.6


def _cpu_self() -> float:
    """CPU seconds (user + system, every thread) used by this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def speech_costs() -> tuple[float, float, list[bytes]]:
    """(TTS CPU s per audio s, ASR CPU s per audio s, the 16-kHz utterances used)."""
    tts = EspeakTTS()
    voice = VoiceSettings(language="en-US")
    await tts.synthesize("warm up", voice, 22050)
    before, audio_seconds, utterances = _cpu_self(), 0.0, []
    for _ in range(3):
        for sentence in SENTENCES:
            synthesis = await tts.synthesize(sentence, voice, 22050)
            audio_seconds += synthesis.duration
            if len(utterances) < len(SENTENCES):
                utterances.append(pcm_resample(synthesis.pcm, 22050, ASR_RATE))
    tts_cost = (_cpu_self() - before) / audio_seconds

    asr = WhisperASR(cpu_threads=2, num_workers=1)
    await asr.transcribe(utterances[0], "en", False)  # loads the model (excluded)
    before, audio_seconds = _cpu_self(), 0.0
    for pcm in utterances:
        await asr.transcribe(pcm, "en", False)
        audio_seconds += len(pcm) / 2 / ASR_RATE
    return tts_cost, (_cpu_self() - before) / audio_seconds, utterances


def media_cost(seconds: float = 20.0) -> float:
    """CPU s per call-audio s of one peer's Opus decode (caller) + encode (reply), 48 kHz mono."""
    rate, frame = 48000, 960
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = rate, "mono", "s16"
    encoder.bit_rate, encoder.time_base = 32000, Fraction(1, rate)
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout = rate, "mono"
    packets = []
    before = _cpu_self()
    for start in range(0, len(pcm) - frame, frame):
        audio = av.AudioFrame.from_ndarray(pcm[start:start + frame].reshape(1, -1), format="s16", layout="mono")
        audio.sample_rate, audio.pts = rate, start
        packets.extend(encoder.encode(audio))
    encoded = _cpu_self() - before
    before = _cpu_self()
    for packet in packets:
        decoder.decode(packet)
    decoded = _cpu_self() - before
    return (encoded + decoded) / seconds


async def rest_costs(requests: int = 2000, concurrency: int = 16) -> dict[str, float]:
    """Server CPU milliseconds per request for two read operations (one uvicorn worker, SQLite)."""
    tmp = Path(tempfile.mkdtemp(prefix="capacity-"))
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp / 'cap.db'}", "LOG_LEVEL": "warning",
           "VIRTUAL_BANKER_JWT_SECRET": SECRET, "SECRETS_DIR": str(tmp / "secrets"),
           "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "100000000"}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    token = mint_jwt("tenant-cap", "user-cap", SECRET, 3600)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    await client.get(f"{base}/health")
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            created = await client.post(f"{base}/v1/sessions", headers=auth, json={
                "tenant_id": "tenant-cap", "user_id": "user-cap", "auth_assertion": token})
            created.raise_for_status()
            session_id = created.json()["data"]["session_id"]
            targets = {"GET /api/version": (f"{base}/api/version", {}),
                       "GET /v1/sessions/{id}": (f"{base}/v1/sessions/{session_id}", auth)}
            costs: dict[str, float] = {}
            for name, (url, headers) in targets.items():
                for _ in range(50):
                    await client.get(url, headers=headers)
                before = cpu_seconds(proc.pid)
                semaphore = asyncio.Semaphore(concurrency)

                async def one(url: str = url, headers: dict[str, str] = headers,
                              semaphore: asyncio.Semaphore = semaphore) -> None:
                    async with semaphore:
                        (await client.get(url, headers=headers)).raise_for_status()

                await asyncio.gather(*(one() for _ in range(requests)))
                costs[name] = (cpu_seconds(proc.pid) - before) / requests * 1000
            return costs
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def plan(tts: float, asr: float, media: float, rest_ms: float, sessions: int, rps: int) -> list[str]:
    """Markdown lines: cores for ``sessions`` concurrent voice sessions and ``rps`` REST requests/s."""
    per_session = CALLER_DUTY * asr + AGENT_DUTY * tts + media
    voice_cores = sessions * per_session / TARGET_UTILISATION
    rest_cores = rps * rest_ms / 1000 / TARGET_UTILISATION
    return [
        f"| per voice session (caller speaks {CALLER_DUTY:.0%}, agent {AGENT_DUTY:.0%} of the call) | "
        f"{per_session:.3f} CPU s/s = {CALLER_DUTY} × ASR {asr:.3f} + {AGENT_DUTY} × TTS {tts:.4f} "
        f"+ media {media:.4f} |",
        f"| {sessions:,} concurrent voice sessions at {TARGET_UTILISATION:.0%} utilisation | {voice_cores:,.0f} cores "
        f"({math.ceil(voice_cores / 2):,} two-core workers) |",
        f"| {rps:,} REST requests/s at {rest_ms:.2f} ms CPU each | {rest_cores:.1f} cores "
        f"({math.ceil(rest_cores):,} worker processes) |",
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the measured unit costs and the capacity model as Markdown; exit status 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--rps", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args(argv)
    print(f"## Capacity (load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)\n")
    tts, asr, _ = asyncio.run(speech_costs())
    media = media_cost()
    rest = asyncio.run(rest_costs(args.requests))
    print("| unit of work | CPU cost |\n|---|---|")
    print(f"| TTS (espeak-ng, 22050 Hz) | {tts:.4f} CPU s per audio s |")
    print(f"| ASR (faster-whisper tiny.en int8, beam 5) | {asr:.3f} CPU s per audio s |")
    print(f"| media (Opus decode + encode, 48 kHz mono, 20 ms frames) | {media:.4f} CPU s per call s |")
    for name, ms in rest.items():
        print(f"| REST {name} (1 worker, SQLite) | {ms:.2f} ms CPU per request |")
    print("\n| capacity model | |\n|---|---|")
    for line in plan(tts, asr, media, max(rest.values()), args.sessions, args.rps):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
