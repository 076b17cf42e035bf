"""Realtime benchmark (part of ``make bench``): voice-to-voice latency of a spoken conversation over WebRTC.

One gateway (``python -m gateway`` under uvicorn, temp SQLite, ICE host candidates restricted to
127.0.0.1 with ``REALTIME_HOST_ADDRESSES``) and, in this process, an aiortc caller (a subclass of
``tools.caller.Caller``, aioice restricted to 127.0.0.1 too). The caller
creates a Virtual Banker session, opens ``GET /v1/realtime/{sessionId}?token=<ephemeral>``,
does the SDP offer/answer, and holds one warm-up turn (it loads the server's Whisper model;
not counted) and then :data:`TURNS` counted turns. A turn plays one of :data:`SENTENCES`
(espeak-ng, 48 kHz, as the tests do) on the caller's microphone track and waits until the server
is ``idle`` again, i.e. its whole reply has been played.

Per turn:

* **client latency**: from the moment ``caller.mic.speaking`` turns False (the microphone track
  handed its last utterance frame to the RTP sender; ``time.perf_counter``) to the arrival of
  the first non-silent reply frame on the caller's inbound track (RMS of a decoded 20 ms frame
  at or above :data:`SILENCE_DBFS`). This is what a person on the line waits for.
* **server latency**: the server's own ``metrics.response_latency`` event: from the moment its
  VAD declared the utterance finished to the moment the first reply frame left its output track.
* **breakdown**, from the arrival times (in this process) of the signaling events: mic end →
  ``state: thinking`` (VAD end silence + uplink), ``thinking`` → ``transcript`` (ASR),
  ``transcript`` → ``reply`` (LLM), ``reply`` → ``state: speaking`` (TTS and resampling),
  the rest of the server latency (wait for the output track's next 20 ms frame, event sends),
  and what is left of the client latency after detection and server latency (the downlink:
  Opus, RTP, jitter buffer, decoding, and the reply's own leading quiet part).

Nothing is asserted; numbers are printed as Markdown tables. Usage: ``python -m bench.realtime``
(or ``python -m bench.run --only realtime``); ``BENCH_REALTIME_TURNS`` sets the number of counted
turns (default 20; each takes about 9.5 s because the whole reply is played before the next).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import math
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from bench.run import (
    HOST,
    STOP_SIGNALS,
    TENANT,
    USER,
    Target,
    _raise_keyboard_interrupt,
    gateway_target,
    log_tail,
    start,
    stop_all,
    wait_ready,
)

TURNS = 20  # BENCH_REALTIME_TURNS overrides
#: Ten short banking requests; turn i speaks SENTENCES[i % 10].
SENTENCES = [
    "What is my checking account balance?",
    "Please transfer fifty dollars to my savings.",
    "I lost my debit card yesterday.",
    "When is my credit card payment due?",
    "Show me my last five transactions.",
    "I want to open a new savings account.",
    "What is the interest rate on a car loan?",
    "Please freeze my card right away.",
    "How do I set up a direct deposit?",
    "Can I raise my daily withdrawal limit?",
]
WARMUP_SENTENCE = "Good morning."
SILENCE_DBFS = -40.0  # a decoded 20 ms frame at or above this RMS level counts as reply audio
SILENCE_RMS = 32768.0 * 10 ** (SILENCE_DBFS / 20)
CONNECT_TIMEOUT = 20.0
CLOSE_TIMEOUT = 5.0  # for each step of the hang-up
TURN_TIMEOUT = 40.0  # per turn, from the end of the utterance to idle (the first includes model loading)
GAP_SECONDS = 0.25  # pause after idle before the next utterance
FLOOR_SECONDS = 0.5  # inbound audio listened to before the first turn, to report the decoded silence level


def progress(message: str) -> None:
    print(f"bench: realtime — {message}", file=sys.stderr, flush=True)


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def dbfs(rms: float) -> float:
    return 20 * math.log10(rms / 32768.0) if rms > 0 else float("-inf")


def p50(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def p90(values: Sequence[float]) -> float:
    """90th percentile, linear interpolation between samples (numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=float), 90))


def p95(values: Sequence[float]) -> float:
    """95th percentile, linear interpolation between samples (numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=float), 95))


def quiet_edges(pcm48k: bytes) -> tuple[float, float]:
    """Seconds of ``pcm48k`` (mono s16le) before its first and after its last 20 ms frame at or
    above SILENCE_RMS (frames counted from the start, as the output track cuts them)."""
    samples = np.frombuffer(pcm48k, dtype="<i2").astype(np.float64)
    frames = len(samples) // 960
    if not frames:
        return 0.0, 0.0
    rms = np.sqrt(np.mean(samples[: frames * 960].reshape(frames, 960) ** 2, axis=1))
    loud = np.nonzero(rms >= SILENCE_RMS)[0]
    if not len(loud):
        return len(samples) / 48000, 0.0
    return loud[0] * 960 / 48000, (len(samples) - (loud[-1] + 1) * 960) / 48000


# --- the caller --------------------------------------------------------------------------------


def make_caller_class():
    """``TimedCaller``: the tests' Caller, timing its microphone's end and the reply's first sound.

    Built lazily so that importing this module does not import aiortc or the tests package."""
    from tools.caller import Caller

    class TimedCaller(Caller):
        """Records ``perf_counter`` times of (a) every transition of ``mic.speaking`` to False and
        (b) the arrival of every decoded inbound frame whose RMS is at or above SILENCE_RMS."""

        def __init__(self) -> None:
            super().__init__()
            self.frames_in = 0
            self.loud: list[float] = []  # arrival times of non-silent inbound frames, ascending
            self.floor_peak = 0.0  # loudest inbound frame RMS while measuring_floor
            self.measuring_floor = False
            self.mic_done: asyncio.Future | None = None
            self._loud_changed = asyncio.Event()
            self._was_speaking = False
            inner = self.mic.recv

            async def recv():
                frame = await inner()
                speaking = self.mic.speaking
                if self._was_speaking and not speaking:
                    now = time.perf_counter()
                    if self.mic_done is not None and not self.mic_done.done():
                        self.mic_done.set_result(now)
                self._was_speaking = speaking
                return frame

            self.mic.recv = recv  # the RTP sender calls track.recv() on this instance

        async def _record(self, track) -> None:
            from aiortc.mediastreams import MediaStreamError

            try:
                while True:
                    frame = await track.recv()
                    now = time.perf_counter()
                    self.frames_in += 1
                    samples = frame.to_ndarray().astype(np.float64)
                    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
                    if self.measuring_floor:
                        self.floor_peak = max(self.floor_peak, rms)
                    if rms >= SILENCE_RMS:
                        self.loud.append(now)
                        self._loud_changed.set()
            except (MediaStreamError, asyncio.CancelledError):
                pass

        async def first_loud_after(self, t: float, timeout: float) -> float | None:
            """Arrival time of the first non-silent frame after ``t`` (waits up to ``timeout`` s)."""
            deadline = time.perf_counter() + timeout
            while True:
                i = bisect.bisect_right(self.loud, t)
                if i < len(self.loud):
                    return self.loud[i]
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return None
                self._loud_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._loud_changed.wait(), remaining)

    return TimedCaller


class Signaling:
    """The signaling WebSocket: every message, timestamped (``perf_counter``) on arrival, queued."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()
        self.closed_reason: str | None = None
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                now = time.perf_counter()
                self.queue.put_nowait((now, json.loads(raw)))
        except websockets.ConnectionClosed as exc:
            self.closed_reason = f"socket closed ({exc})"
        finally:
            self.queue.put_nowait((time.perf_counter(), {"type": "_eof"}))

    async def get(self, deadline: float) -> tuple[float, dict]:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError
        t, message = await asyncio.wait_for(self.queue.get(), remaining)
        if message["type"] == "_eof":
            self.queue.put_nowait((t, message))  # stays at the end for later readers
            raise RuntimeError(f"signaling socket closed: {self.closed_reason or 'by the server'}")
        return t, message

    async def expect(self, kind: str, timeout: float) -> dict:
        deadline = time.perf_counter() + timeout
        while True:
            try:
                _, message = await self.get(deadline)
            except TimeoutError:
                raise RuntimeError(f"no {kind!r} message within {timeout:g} s") from None
            if message["type"] == kind:
                return message
            if message["type"] in ("error", "closed"):
                raise RuntimeError(f"server sent {message} while waiting for {kind!r}")

    def drain(self) -> list[dict]:
        stale = []
        while not self.queue.empty():
            t, message = self.queue.get_nowait()
            if message["type"] == "_eof":
                self.queue.put_nowait((t, message))
                break
            stale.append(message)
        return stale


# --- one turn ------------------------------------------------------------------------------------


@dataclass
class Turn:
    sentence: str
    utterance: float  # seconds of audio played
    mic_end: float = 0.0  # perf_counter when mic.speaking turned False
    # first arrival (perf_counter) of: thinking, transcript, reply, speaking, metrics, idle
    t: dict[str, float] = field(default_factory=dict)
    transcript: str = ""
    reply: str = ""
    response_latency: float | None = None  # seconds, the server's metrics event
    reply_duration: float | None = None
    end_silence: float = 0.0  # seconds of quiet the server's detector waited (metrics)
    recognized_ahead: bool = False  # the transcript came from the recognition started at the pause (metrics)
    recognitions: int = 1  # recognitions of the utterance's audio (metrics)
    first_loud: float | None = None  # perf_counter of the first non-silent reply frame
    problem: str | None = None  # why the turn is left out of the statistics
    wer: float | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    # derived, all in seconds
    @property
    def client(self) -> float:
        return self.first_loud - self.mic_end

    @property
    def detect(self) -> float:
        return self.t["thinking"] - self.mic_end

    @property
    def asr(self) -> float:
        return self.t["transcript"] - self.t["thinking"]

    @property
    def llm(self) -> float:
        return self.t["reply"] - self.t["transcript"]

    @property
    def tts(self) -> float:
        return self.t["speaking"] - self.t["reply"]

    @property
    def frame_wait(self) -> float:
        return self.response_latency - (self.t["speaking"] - self.t["thinking"])

    @property
    def downlink(self) -> float:
        return self.first_loud - self.t["thinking"] - self.response_latency


async def run_turn(caller, signaling: Signaling, sentence: str, pcm: bytes, timeout: float) -> Turn:
    """Speak ``pcm``, follow the server's events until ``idle``, time the reply's first sound."""
    from adapters.providers.wer import word_error_rate

    turn = Turn(sentence, len(pcm) / 2 / 48000)
    stale = signaling.drain()
    if stale:
        progress(f"ignored {len(stale)} event(s) left from the previous turn: {[m['type'] for m in stale]}")
    caller.mic_done = asyncio.get_running_loop().create_future()
    caller.mic.play(pcm)
    turn.mic_end = await asyncio.wait_for(caller.mic_done, turn.utterance + 5.0)
    deadline = turn.mic_end + timeout
    while True:
        try:
            t, message = await signaling.get(deadline)
        except TimeoutError:
            turn.problem = f"no idle state within {timeout:g} s (events: {sorted(turn.t)})"
            return turn
        kind = message["type"]
        if kind == "state":
            turn.t.setdefault(message["state"], t)
            if message["state"] == "idle" and "thinking" in turn.t:
                break
        elif kind in ("transcript", "reply", "metrics"):
            if kind in turn.t:
                turn.problem = f"second {kind!r} event in one turn (utterance split by the VAD?)"
            turn.t.setdefault(kind, t)
            if kind == "transcript":
                turn.transcript = message.get("text", "")
            elif kind == "reply":
                turn.reply = message.get("text", "")
            else:
                turn.response_latency = float(message["response_latency"])
                turn.reply_duration = float(message["reply_duration"])
                turn.end_silence = float(message.get("end_silence", 0.0))
                turn.recognized_ahead = bool(message.get("recognized_ahead", False))
                turn.recognitions = int(message.get("recognitions", 1))
        elif kind == "barge_in":
            turn.problem = "barge_in (the VAD split the utterance)"
        elif kind in ("error", "closed"):
            turn.problem = f"server sent {message}"
            if kind == "closed":
                raise RuntimeError(turn.problem)
    turn.wer = word_error_rate(sentence, turn.transcript)
    missing = [k for k in ("thinking", "transcript", "reply", "speaking", "metrics") if k not in turn.t]
    if missing and turn.problem is None:
        turn.problem = f"no {', '.join(missing)} (transcript {turn.transcript!r})"
    if turn.ok:
        # The whole reply has played by now; its first loud frame has long arrived.
        turn.first_loud = await caller.first_loud_after(turn.mic_end, 2.0)
        if turn.first_loud is None:
            turn.problem = f"no inbound frame at or above {SILENCE_DBFS:g} dBFS after the utterance"
    return turn


# --- the conversation ------------------------------------------------------------------------------


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    warmup: Turn | None = None
    connect_seconds: float = 0.0
    floor_peak: float = 0.0
    trailing: list[float] = field(default_factory=list)  # quiet tail of each sentence clip, seconds
    reply_lead: dict[str, float] = field(default_factory=dict)  # reply text → quiet start of its audio, seconds


async def converse(base_url: str, jwt: str, turns: int) -> Conversation:
    import httpx
    import websockets

    from adapters.realtime.peer import restrict_host_addresses
    from tools.caller import speech_48k

    result = Conversation()
    clips = {s: await speech_48k(s) for s in [WARMUP_SENTENCE, *SENTENCES]}
    result.trailing = [quiet_edges(clips[s])[1] for s in SENTENCES]

    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.post(
            f"{base_url}/v1/sessions",
            headers={"Authorization": f"Bearer {jwt}"},
            json={"tenant_id": TENANT, "user_id": USER, "auth_assertion": jwt},
        )
    if response.status_code != 201:
        raise RuntimeError(f"createSession answered {response.status_code}: {response.text[:1000]}")
    session = response.json()["data"]
    url = f"{base_url.replace('http://', 'ws://')}/v1/realtime/{session['session_id']}"

    restrict_host_addresses([HOST])
    caller = make_caller_class()()
    signaling = None
    try:
        started = time.perf_counter()
        async with websockets.connect(f"{url}?token={session['ephemeral_token']}", close_timeout=2.0) as ws:
            signaling = Signaling(ws)
            try:
                await signaling.expect("ready", CONNECT_TIMEOUT)
                await ws.send(json.dumps({"type": "offer", "sdp": await caller.offer()}))
                await caller.accept((await signaling.expect("answer", CONNECT_TIMEOUT))["sdp"])
                deadline = time.perf_counter() + CONNECT_TIMEOUT
                while caller.pc.connectionState != "connected" or caller.frames_in == 0:
                    if time.perf_counter() > deadline:
                        raise RuntimeError(
                            f"no media within {CONNECT_TIMEOUT:g} s (connection {caller.pc.connectionState}, "
                            f"{caller.frames_in} frames received)"
                        )
                    await asyncio.sleep(0.01)
                result.connect_seconds = time.perf_counter() - started
                caller.measuring_floor = True
                await asyncio.sleep(FLOOR_SECONDS)
                caller.measuring_floor = False
                result.floor_peak = caller.floor_peak

                progress("warm-up turn (loads the server's Whisper model)")
                result.warmup = await run_turn(caller, signaling, WARMUP_SENTENCE, clips[WARMUP_SENTENCE], 90.0)
                for i in range(turns):
                    await asyncio.sleep(GAP_SECONDS)  # after idle: the server has played its whole reply
                    sentence = SENTENCES[i % len(SENTENCES)]
                    turn = await run_turn(caller, signaling, sentence, clips[sentence], TURN_TIMEOUT)
                    result.turns.append(turn)
                    if turn.ok:
                        progress(
                            f"turn {i + 1}/{turns}: client {turn.client * 1000:.0f} ms, "
                            f"server {turn.response_latency * 1000:.0f} ms"
                        )
                    else:
                        progress(f"turn {i + 1}/{turns}: left out — {turn.problem}")
            finally:
                # also when interrupted: hang up politely so the server closes its peer at once
                with contextlib.suppress(TimeoutError, websockets.ConnectionClosed, asyncio.CancelledError):
                    await asyncio.wait_for(ws.send(json.dumps({"type": "bye"})), CLOSE_TIMEOUT)
                signaling.task.cancel()
                await asyncio.gather(signaling.task, return_exceptions=True)
    finally:
        try:
            await asyncio.wait_for(caller.close(), CLOSE_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError):
            progress("the caller's peer connection did not close in time")
        restrict_host_addresses(None)
    result.reply_lead = {text: await reply_lead(text) for text in {t.reply for t in result.turns if t.ok}}
    return result


async def reply_lead(text: str) -> float:
    """Quiet start (seconds) of ``text`` as the server's loop speaks it: espeak-ng at 22050 Hz with
    ``VoiceSettings(language="en-US")`` (no voice session, so no voice_id), resampled to 48 kHz."""
    from adapters.providers.audio import pcm_resample
    from adapters.providers.base import VoiceSettings
    from adapters.providers.espeak import EspeakTTS
    from adapters.realtime.loop import OUTPUT_RATE, TTS_RATE

    synthesis = await EspeakTTS().synthesize(text, VoiceSettings(language="en-US"), TTS_RATE)
    return quiet_edges(pcm_resample(synthesis.pcm, TTS_RATE, OUTPUT_RATE))[0]


class Interrupted(Exception):
    """SIGINT/SIGTERM/SIGHUP arrived during the conversation (it has been hung up)."""


async def converse_until_signal(base_url: str, jwt: str, turns: int) -> Conversation:
    """:func:`converse`, cancelled (so its hang-up runs inside the event loop) by a stop signal.

    The signal handlers ``bench.run`` installs raise KeyboardInterrupt wherever the interpreter
    happens to be, possibly inside an aiortc task, after which cancelling the remaining tasks can
    hang. So while the loop runs, a stop signal only cancels this task (once); the previous
    handlers are put back afterwards."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    signalled: list[int] = []

    def on_signal(signum: int) -> None:
        if not signalled:
            signalled.append(signum)
            task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await converse(base_url, jwt, turns)
    except asyncio.CancelledError:
        if signalled:
            raise Interrupted from None
        raise
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous[signum] if previous[signum] is not None else signal.SIG_DFL)


# --- report ----------------------------------------------------------------------------------------


def table(header: Sequence[str], align: str, rows: list[Sequence[str]]) -> str:
    """Markdown table; ``align`` has one character per column: l (left) or r (right)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def llm_engine() -> str:
    base = os.environ.get("LLM_BASE_URL")
    if base:
        return f"openai-compatible ({os.environ.get('LLM_MODEL', 'gpt-4o-mini')} at LLM_BASE_URL)"
    return "offline-template (LLM_BASE_URL unset: rules and retrieval, no generation)"


def end_silence() -> float:
    from adapters.realtime.vad import FRAME_MS, UtteranceDetector

    return UtteranceDetector().end_frames * FRAME_MS / 1000


def min_end_silence() -> float:
    from adapters.realtime.vad import FRAME_MS, UtteranceDetector

    return UtteranceDetector().min_end_frames * FRAME_MS / 1000


def header(load: float) -> str:
    return (
        "## Realtime: voice-to-voice latency of a WebRTC conversation (loopback)\n\n"
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), load average {load:.2f} at start; "
        f"Python {platform.python_version()}; aiortc {version('aiortc')}, aioice {version('aioice')}, "
        f"PyAV {version('av')}, websockets {version('websockets')}, faster-whisper {version('faster-whisper')}\n\n"
        f"server: `python -m gateway` (uvicorn, 1 worker), ICE on {HOST} only; engines of provider `mock`: "
        f"ASR faster-whisper tiny.en (ASR_THREADS={os.environ.get('ASR_THREADS', '2')}), TTS espeak-ng; "
        f"LLM {llm_engine()}; VAD end silence {end_silence():g} s ({min_end_silence():g} s after a complete "
        "sentence recognised at the pause). "
        f"caller: aiortc in this process, espeak-ng speech (48 kHz) on its microphone track; a reply frame "
        f"counts as sound at an RMS of {SILENCE_DBFS:g} dBFS or more (20 ms frames)."
    )


def report(conv: Conversation, turns_asked: int, elapsed: float) -> str:
    ok = [t for t in conv.turns if t.ok]
    lines = []
    w = conv.warmup
    warm = (
        "failed"
        if w is None or not w.ok
        else (
            f"client {w.client * 1000:.0f} ms, server {w.response_latency * 1000:.0f} ms, "
            f"ASR {w.asr * 1000:.0f} ms (includes loading the model)"
        )
    )
    floor = "exact zeros" if conv.floor_peak == 0 else f"peaked at {dbfs(conv.floor_peak):.1f} dBFS"
    lines.append(
        f"connected (WebSocket, offer/answer, ICE, first inbound frame) in {conv.connect_seconds * 1000:.0f} ms; "
        f"the server's silence decoded to {floor}; warm-up turn ({WARMUP_SENTENCE!r}, "
        f"not counted): {warm}.\n"
    )
    if not ok:
        lines.append(f"no usable turn out of {turns_asked}:")
        lines += [f"- {t.sentence!r}: {t.problem}" for t in conv.turns]
        return "\n".join(lines)

    def row(label: str, values: list[float], unit: str, spans: str) -> list[str]:
        scale, digits = (1000, 0) if unit == "ms" else (1, 2)
        cells = [f"{q(values) * scale:.{digits}f}" for q in (p50, p90, p95)]
        return [label, *cells, unit, spans]

    es = end_silence()
    rows = [
        row("utterance duration", [t.utterance for t in ok], "s", "audio played on the caller's microphone"),
        row("**client latency**", [t.client for t in ok], "ms",
            "mic done → first non-silent reply frame received by the caller"),
        row("**server latency**", [t.response_latency for t in ok], "ms",
            "`metrics.response_latency`: end of utterance declared → first reply frame sent"),
        row("client − server", [t.client - t.response_latency for t in ok], "ms",
            "end silence waited + recognition done before the end was declared + network/jitter buffering both ways"),
        row("├ mic done → `thinking`", [t.detect for t in ok], "ms",
            "uplink + quiet until the end is declared: the VAD's end silence, or the recognition started at "
            "the pause and then the short end silence"),
        row("│ ├ end silence (server)", [t.end_silence for t in ok], "ms",
            f"`metrics.end_silence`: quiet (server stream time) from the sound's end to the declared end: "
            f"{es:g} s by the VAD, or, when the pause's transcript is a complete sentence, its arrival "
            f"(≥ {min_end_silence():g} s)"),
        row("│ └ rest", [t.detect - t.end_silence for t in ok], "ms",
            "uplink (Opus, RTP, the server's jitter buffer, resampling, 30 ms VAD frames) and the VAD's hangover"),
        row("├ ASR", [t.asr for t in ok], "ms",
            "`thinking` → `transcript`: what was left of the recognition when the end was declared"),
        row("├ LLM", [t.llm for t in ok], "ms", "`transcript` → `reply`"),
        row("├ TTS", [t.tts for t in ok], "ms",
            "`reply` → `state: speaking` (first sentence's synthesis, resampling to 48 kHz)"),
        row("├ first frame", [t.frame_wait for t in ok], "ms",
            "server latency − (`thinking` → `speaking`): next 20 ms output tick, event sends"),
        row("└ downlink", [t.downlink for t in ok], "ms",
            "client latency − (mic done → `thinking`) − server latency: Opus, RTP, jitter buffer, decode, "
            "the reply's quiet start"),
        row("client latency / utterance", [t.client / t.utterance for t in ok], "×", "per turn"),
        row("client latency / server latency", [t.client / t.response_latency for t in ok], "×", "per turn"),
        row("reply duration", [t.reply_duration for t in ok], "s",
            "`metrics.reply_duration` (played in full before the next turn)"),
        row("turn", [t.t["idle"] - t.mic_end + t.utterance for t in ok], "s", "utterance start → `state: idle`"),
    ]
    lines.append(
        f"### {len(ok)} of {turns_asked} turns (p50 = median, p90/p95 = 90th/95th percentile; the breakdown rows "
        "are from the arrival times of the signaling events in the caller's process)\n"
    )
    lines.append(table(["measure", "p50", "p90", "p95", "unit", "what it spans"], "lrrrll", rows))
    lines.append("")
    ahead = sum(t.recognized_ahead for t in ok)
    lines.append(
        f"Recognition: {ahead} of {len(ok)} transcripts were recognised at the pause, ahead of the end "
        f"(`metrics.recognized_ahead`); {statistics.fmean(t.recognitions for t in ok):.2f} recognitions per "
        f"utterance on average (`metrics.recognitions`; more than 1 means pauses inside the utterance or a "
        "recognition the turn could not reuse).\n"
    )
    wers = [t.wer for t in conv.turns if t.wer is not None]
    lines.append(
        f"Transcripts: WER median {p50(wers):.2f}, mean {statistics.fmean(wers):.2f} against the spoken sentences"
        + (" (misheard: " + "; ".join(sorted({f"{t.sentence!r} → {t.transcript!r}" for t in conv.turns
                                              if t.wer})) + ")" if any(t.wer for t in conv.turns) else "")
        + f". The clips end with {p50(conv.trailing) * 1000:.0f} ms (median) of quiet below {SILENCE_DBFS:g} dBFS, "
        f"which the VAD already counts toward its {es:g} s. Replies heard (with the quiet start of their "
        "synthesized audio, which is part of the downlink row): "
        + "; ".join(f"{text!r} ({conv.reply_lead.get(text, 0) * 1000:.0f} ms)" for text in sorted(conv.reply_lead))
        + "."
    )
    left_out = [t for t in conv.turns if not t.ok]
    if left_out or len(conv.turns) < turns_asked:
        lines.append("")
        lines.append(f"left out: {len(left_out) + turns_asked - len(conv.turns)} turn(s)")
        lines += [f"- {t.sentence!r}: {t.problem}" for t in left_out]
    lines.append("")
    lines.append(f"realtime bench took {elapsed:.1f} s in all")
    return "\n".join(lines)


def start_gateway(tmp: Path, targets: list[Target]) -> tuple[Target, str]:
    """Start the gateway for a realtime run in ``tmp`` (its peers offer only ``HOST``'s ICE
    candidates) under a fresh JWT secret, and append it to ``targets`` (the caller stops them with
    ``stop_all``). Returns the target, started but not yet ready, and a Virtual Banker JWT (1 hour)
    for ``TENANT``/``USER``."""
    from handlers.virtual_banker.security import mint_jwt

    secret = secrets.token_urlsafe(48)
    target = gateway_target(tmp, secret, {"REALTIME_HOST_ADDRESSES": json.dumps([HOST])})
    targets.append(target)
    start(target, tmp)
    return target, mint_jwt(TENANT, USER, secret, ttl_seconds=3600)


def main(argv: list[str] | None = None) -> int:
    """Run the conversation and print its tables. Exit status: 0, 1 (engine or server failure), 130."""
    del argv
    turns = int(os.environ.get("BENCH_REALTIME_TURNS") or TURNS)
    if turns < 1:
        print("bench: BENCH_REALTIME_TURNS must be at least 1", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    started_at = time.perf_counter()
    print(header(load))
    print()
    sys.stdout.flush()
    try:
        import aiortc  # noqa: F401
        import websockets  # noqa: F401

        from adapters.providers.espeak import EspeakTTS
    except ImportError as exc:
        print(f"skipped: {exc}")
        return 1
    if not EspeakTTS().available():
        print("skipped: libespeak-ng is not available (apt package espeak-ng); the caller speaks with it")
        return 1

    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="gateway-realtime-bench-") as tmp:
        try:
            target, jwt = start_gateway(Path(tmp), targets)
            progress(f"gateway on :{target.port}, {turns} turns")
            wait_ready(target)
            try:
                conv = asyncio.run(converse_until_signal(f"http://{HOST}:{target.port}", jwt, turns))
            except Interrupted:
                print("bench: interrupted", file=sys.stderr)
                return 130
            except (RuntimeError, TimeoutError, OSError) as exc:
                print(f"failed: {exc}\n\n--- server log ---\n{log_tail(target)}")
                return 1
            print(report(conv, turns, time.perf_counter() - started_at))
            return 0
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            stop_all(targets)


if __name__ == "__main__":
    for signum in STOP_SIGNALS:  # as bench.run does: SIGINT/SIGTERM/SIGHUP → KeyboardInterrupt → clean-up
        signal.signal(signum, _raise_keyboard_interrupt)
    sys.exit(main())
