"""Realtime benchmark with a real browser as the caller: Debian's chromium, headless, its
microphone a WAV file, in a network namespace that has only a loopback interface.

``python -m bench.realtime_browser`` (or ``python -m bench.run --only realtime-browser``). Unless it
already runs where ``lo`` is the only network interface, it re-runs itself under ``unshare -rn``
(a user and network namespace: no route anywhere but 127.0.0.1, so ICE can only pair loopback
candidates) after bringing ``lo`` up. Everything below runs inside:

* **Server**: ``python -m gateway`` as in bench/realtime.py (SQLite in a temp dir, ICE host
  candidates 127.0.0.1).
* **Microphone**: one WAV (48 kHz mono) with :data:`LEAD_SECONDS` of silence, the warm-up sentence,
  then each turn's sentence (bench.realtime.SENTENCES, espeak-ng as the aiortc caller speaks them),
  each followed by :data:`GAP_SECONDS` of silence (the reply, ~5.5 s, plays in full before the next
  sentence). chromium plays it once as its fake capture device
  (``--use-fake-device-for-media-stream --use-file-for-fake-audio-capture=<wav>%noloop``): the
  turns follow the file's clock, not the server's ``idle``.
* **Caller**: a page driven by Playwright (``executable_path`` = the system chromium, nothing is
  downloaded), served at a URL of the gateway's origin by Playwright's request routing (a secure
  context for ``getUserMedia``; chromium counts a routed document as a public address space, so its
  Local Network Access check, which would block that page's WebSocket to 127.0.0.1, is off). It
  opens ``GET /v1/realtime/{sessionId}?token=…``, sends an offer with all candidates
  (``--allow-loopback-in-peer-connection``: chromium otherwise never offers loopback; mDNS
  host-name hiding off so the server can read the address), applies the answer. Chromium's own
  audio stack handles the media: Opus, its NetEq jitter buffer, AEC off.
* **Timing**, in the page (``performance.now()``), from an AudioWorklet that posts the RMS of every
  20 ms of the *local* microphone track and of the *remote* (reply) track: **mic done** is the end
  of the last loud block (≥ -40 dBFS) of a sentence; **client latency** is from there to the first
  loud block of the remote track. Both are seen at the same point (Web Audio, after capture and
  after NetEq + decoding respectively), so the capture path's own delay is not counted, just as
  the aiortc caller counts from the frame handed to its sender. Signaling events are timestamped
  on arrival (WebSocket) for the same breakdown as bench/realtime.py.

Nothing is asserted; the tables are printed. ``BENCH_REALTIME_TURNS`` sets the number of counted
turns (default 10; each takes about 12.5 s of file). Exit status 0, 1 (chromium/playwright/
espeak-ng missing, no namespace, server or page failure), 130 on interruption.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

from bench.realtime import (
    SENTENCES,
    SILENCE_DBFS,
    WARMUP_SENTENCE,
    end_silence,
    llm_engine,
    min_end_silence,
    p50,
    p90,
    p95,
    start_gateway,
    table,
    version,
)
from bench.run import (
    HOST,
    STOP_SIGNALS,
    TENANT,
    USER,
    Target,
    _raise_keyboard_interrupt,
    log_tail,
    stop_all,
    wait_ready,
)

TURNS = 10
LEAD_SECONDS = 4.0  # silence before the warm-up sentence: page load, offer/answer, ICE
GAP_SECONDS = 10.0  # silence after each sentence: end silence + recognition + the ~5.5 s reply + margin
RATE = 48000
SILENCE = 10 ** (SILENCE_DBFS / 20)  # RMS on Web Audio's [-1, 1] scale
SPEECH_GAP = 0.5  # quiet inside one sentence is shorter than this (s): longer ends it
PAGE_PATH = "/__bench_realtime_caller.html"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks",
]

PAGE = """<!doctype html><meta charset="utf-8"><title>realtime bench caller</title>
<script>
window.marks = [];  // [t, "mic"|"remote", rms] every 20 ms per track
window.events = [];  // [t, message] signaling messages as they arrive
window.failure = null;
const WORKLET = `
class Level extends AudioWorkletProcessor {
  constructor() { super(); this.sum = 0; this.n = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      for (let i = 0; i < ch.length; i++) this.sum += ch[i] * ch[i];
      this.n += ch.length;
      if (this.n >= sampleRate / 50) { this.port.postMessage(Math.sqrt(this.sum / this.n)); this.sum = 0; this.n = 0; }
    }
    return true;
  }
}
registerProcessor("level", Level);`;

async function meter(ctx, stream, name) {
  const node = new AudioWorkletNode(ctx, "level");
  node.port.onmessage = (e) => window.marks.push([performance.now(), name, e.data]);
  const mute = ctx.createGain();
  mute.gain.value = 0;
  ctx.createMediaStreamSource(stream).connect(node).connect(mute).connect(ctx.destination);
}

async function call(wsUrl) {
  try {
    const ctx = new AudioContext({sampleRate: 48000});
    await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([WORKLET], {type: "text/javascript"})));
    await ctx.resume();
    const mic = await navigator.mediaDevices.getUserMedia(
      {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
    await meter(ctx, mic, "mic");
    const pc = new RTCPeerConnection();
    window.pc = pc;
    mic.getTracks().forEach((t) => pc.addTrack(t, mic));
    pc.createDataChannel("events");
    pc.ontrack = (e) => {
      const stream = e.streams[0] || new MediaStream([e.track]);
      const audio = new Audio();  // chromium feeds Web Audio a remote track only while an element plays it
      audio.muted = true;
      audio.srcObject = stream;
      audio.play();
      meter(ctx, stream, "remote");
    };
    const ws = new WebSocket(wsUrl);
    window.ws = ws;
    const ready = new Promise((resolve, reject) => {
      ws.onmessage = async (m) => {
        const message = JSON.parse(m.data);
        window.events.push([performance.now(), message]);
        if (message.type === "ready") resolve();
        if (message.type === "answer") await pc.setRemoteDescription({type: "answer", sdp: message.sdp});
        if (message.type === "error" || message.type === "closed") window.failure = JSON.stringify(message);
      };
      ws.onerror = () => reject(new Error("websocket error"));
    });
    await ready;
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise((resolve) => {
        pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
        setTimeout(resolve, 5000);
      });
    }
    ws.send(JSON.stringify({type: "offer", sdp: pc.localDescription.sdp}));
  } catch (e) {
    window.failure = String(e && e.stack || e);
  }
}
</script>"""


#: chromium's statistics of the reply audio it received (RTCInboundRtpStreamStats)
STATS = """async () => {
  const out = {};
  (await window.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.delay = r.jitterBufferDelay; out.emitted = r.jitterBufferEmittedCount;
      out.target = r.jitterBufferTargetDelay; out.minimum = r.jitterBufferMinimumDelay;
    }
  });
  return out;
}"""


def progress(message: str) -> None:
    print(f"bench: realtime (chromium) — {message}", file=sys.stderr, flush=True)


def loopback_only() -> bool:
    """True when ``lo`` is this network namespace's only interface."""
    try:  # /proc/self/net follows the network namespace (/sys/class/net follows the sysfs mount)
        lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    except OSError:
        return False
    return [line.split(":", 1)[0].strip() for line in lines] == ["lo"]


def in_namespace(argv: list[str]) -> int:
    """Re-run this module under ``unshare -rn`` with ``lo`` up; returns its exit status."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None or not Path(ip).exists():
        print("skipped: needs unshare (util-linux) and ip (iproute2) for a loopback-only network namespace")
        return 1
    inner = [sys.executable, "-m", "bench.realtime_browser", "--inside", *argv]
    script = f"{ip} link set lo up && exec \"$@\""
    return subprocess.call([unshare, "--user", "--map-root-user", "--net", "sh", "-c", script, "sh", *inner])


# --- the microphone file -------------------------------------------------------------------------


@dataclass
class Script:
    path: Path
    sentences: list[str]  # [warm-up, turn 1, …]
    starts: list[float]  # seconds into the file where each sentence starts
    durations: list[float]
    seconds: float


async def make_wav(path: Path, turns: int) -> Script:
    from tools.caller import speech_48k

    sentences = [WARMUP_SENTENCE] + [SENTENCES[i % len(SENTENCES)] for i in range(turns)]
    clips = {s: await speech_48k(s) for s in set(sentences)}
    pcm = bytearray(bytes(int(LEAD_SECONDS * RATE) * 2))
    starts, durations = [], []
    for sentence in sentences:
        starts.append(len(pcm) / 2 / RATE)
        durations.append(len(clips[sentence]) / 2 / RATE)
        pcm += clips[sentence] + bytes(int(GAP_SECONDS * RATE) * 2)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(pcm))
    return Script(path, sentences, starts, durations, len(pcm) / 2 / RATE)


# --- analysis --------------------------------------------------------------------------------------


@dataclass
class Turn:
    sentence: str
    mic_end: float = 0.0  # page time (ms) of the end of the sentence's last loud 20 ms block
    first_loud: float | None = None  # page time (ms) of the reply's first loud block
    t: dict[str, float] = field(default_factory=dict)  # first arrival of thinking, transcript, …
    metrics: dict = field(default_factory=dict)
    transcript: str = ""
    problem: str | None = None

    @property
    def client(self) -> float:
        assert self.first_loud is not None
        return self.first_loud - self.mic_end


def speech_segments(marks: list, name: str) -> list[tuple[float, float]]:
    """(start, end) page times (ms) of the loud stretches of track ``name``; quiet gaps shorter
    than SPEECH_GAP seconds do not split a stretch. ``end`` is the arrival of its last loud block."""
    segments: list[list[float]] = []
    for t, track, rms in marks:
        if track != name or rms < SILENCE:
            continue
        if segments and t - segments[-1][1] < SPEECH_GAP * 1000:
            segments[-1][1] = t
        else:
            segments.append([t, t])
    return [(a, b) for a, b in segments]


def analyse(script: Script, marks: list, events: list) -> tuple[Turn | None, list[Turn]]:
    """Split the page's records into the warm-up turn and the counted turns."""
    from adapters.providers.wer import word_error_rate

    spoken = speech_segments(marks, "mic")
    remote = [t for t, track, rms in marks if track == "remote" and rms >= SILENCE]
    turns: list[Turn] = []
    for i, sentence in enumerate(script.sentences):
        turn = Turn(sentence)
        turns.append(turn)
        if i >= len(spoken):
            turn.problem = "the sentence was not heard on the microphone track"
            continue
        turn.mic_end = spoken[i][1]
        until = spoken[i + 1][0] if i + 1 < len(spoken) else float("inf")
        turn.first_loud = next((t for t in remote if turn.mic_end < t < until), None)
        for t, message in events:
            if not spoken[i][0] < t < until:
                continue
            kind = message.get("type")
            key = message.get("state") if kind == "state" else kind
            if key in ("thinking", "speaking", "transcript", "reply", "metrics"):
                if key in turn.t and key in ("transcript", "metrics"):
                    turn.problem = f"second {key!r} (the VAD split the sentence)"
                turn.t.setdefault(key, t)
                if kind == "transcript":
                    turn.transcript = message.get("text", "")
                elif kind == "metrics":
                    turn.metrics = message
            elif kind == "barge_in":
                turn.problem = "barge_in"
        missing = [k for k in ("thinking", "transcript", "reply", "speaking", "metrics") if k not in turn.t]
        if turn.problem is None and missing:
            turn.problem = f"no {', '.join(missing)} (transcript {turn.transcript!r})"
        if turn.problem is None and turn.first_loud is None:
            turn.problem = "no loud reply frame before the next sentence"
        turn.metrics.setdefault("wer", word_error_rate(sentence, turn.transcript))
    return (turns[0] if turns else None), turns[1:]


def report(turns: list[Turn], warmup: Turn | None, connect_ms: float, elapsed: float, stats: dict) -> str:
    ok = [t for t in turns if t.problem is None]
    lines = []
    if warmup is not None and warmup.problem is None:
        lines.append(f"warm-up turn ({WARMUP_SENTENCE!r}, not counted; loads the Whisper model): client "
                     f"{warmup.client:.0f} ms.")
    lines.append(f"connected (page load → first reply-track frame) in {connect_ms:.0f} ms.\n")
    if not ok:
        lines.append("no usable turn:")
        lines += [f"- {t.sentence!r}: {t.problem}" for t in turns]
        return "\n".join(lines)

    def row(label: str, values: list[float], spans: str) -> list[str]:
        return [label, *(f"{q(values):.0f}" for q in (p50, p90, p95)), "ms", spans]

    rows = [
        row("**client latency**", [t.client for t in ok],
            "mic done (end of the sentence's last loud 20 ms on the local track) → first loud 20 ms of the reply"),
        row("**server latency**", [t.metrics["response_latency"] * 1000 for t in ok],
            "`metrics.response_latency`: end of utterance declared → first reply frame sent"),
        row("├ mic done → `thinking`", [t.t["thinking"] - t.mic_end for t in ok],
            "uplink (chromium's capture → Opus → the server) + the end silence (+ recognition when the end "
            "came from a complete sentence)"),
        row("│ ├ end silence (server)", [t.metrics.get("end_silence", 0) * 1000 for t in ok], "`metrics.end_silence`"),
        row("├ ASR", [t.t["transcript"] - t.t["thinking"] for t in ok], "`thinking` → `transcript`"),
        row("├ LLM", [t.t["reply"] - t.t["transcript"] for t in ok], "`transcript` → `reply`"),
        row("├ TTS", [t.t["speaking"] - t.t["reply"] for t in ok], "`reply` → `state: speaking`"),
        row("└ downlink", [t.client - (t.t["thinking"] - t.mic_end) - t.metrics["response_latency"] * 1000
                           for t in ok],
            "client − (mic done → `thinking`) − server: RTP, chromium's NetEq jitter buffer, decoding, Web Audio"),
    ]
    lines.append(f"### {len(ok)} of {len(turns)} turns (p50 = median, p90/p95 = 90th/95th percentile)\n")
    lines.append(table(["measure", "p50", "p90", "p95", "unit", "what it spans"], "lrrrll", rows))
    lines.append("")
    ahead = sum(bool(t.metrics.get("recognized_ahead")) for t in ok)
    wers = [t.metrics["wer"] for t in turns if t.transcript]
    lines.append(
        f"{ahead} of {len(ok)} transcripts recognised at the pause; "
        f"{statistics.fmean(t.metrics.get('recognitions', 1) for t in ok):.2f} recognitions per utterance; "
        f"WER median {p50(wers) if wers else float('nan'):.2f}, "
        f"mean {statistics.fmean(wers) if wers else float('nan'):.2f} against the spoken sentences."
    )
    if stats.get("emitted"):
        lines.append(
            "chromium's jitter buffer (NetEq) held the received audio "
            f"{stats['delay'] / stats['emitted'] * 1000:.0f} ms on average over the call "
            f"(`jitterBufferDelay / jitterBufferEmittedCount`; target "
            f"{stats.get('target', 0) / stats['emitted'] * 1000:.0f} ms): part of the downlink row."
        )
    left_out = [t for t in turns if t.problem is not None]
    if left_out:
        lines.append("")
        lines.append(f"left out: {len(left_out)} turn(s)")
        lines += [f"- {t.sentence!r}: {t.problem}" for t in left_out]
    lines.append("")
    lines.append(f"realtime bench (chromium) took {elapsed:.1f} s in all; load average at the end "
                 f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------------


def converse(base_url: str, jwt: str, script: Script, chromium: str) -> tuple[list, list, float, dict]:
    """Drive chromium through the whole file; returns its level marks, events, connect time (ms)
    and its inbound audio's jitter-buffer statistics."""
    import httpx
    from playwright.sync_api import sync_playwright

    response = httpx.post(f"{base_url}/v1/sessions", headers={"Authorization": f"Bearer {jwt}"}, timeout=10,
                          json={"tenant_id": TENANT, "user_id": USER, "auth_assertion": jwt})
    if response.status_code != 201:
        raise RuntimeError(f"createSession answered {response.status_code}: {response.text[:1000]}")
    session = response.json()["data"]
    ws_url = (f"{base_url.replace('http://', 'ws://')}/v1/realtime/{session['session_id']}"
              f"?token={session['ephemeral_token']}")
    flags = [*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={script.path}%noloop"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=flags)
        try:
            page = browser.new_page()
            page.route(f"{base_url}{PAGE_PATH}", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
            started = time.perf_counter()
            page.goto(f"{base_url}{PAGE_PATH}")
            page.evaluate("(url) => { call(url); }", ws_url)
            page.wait_for_function("window.failure !== null || window.marks.some(m => m[1] === 'remote')",
                                   timeout=30_000)
            failure = page.evaluate("window.failure")
            if failure:
                raise RuntimeError(f"the page failed: {failure}")
            connect_ms = (time.perf_counter() - started) * 1000
            progress(f"connected in {connect_ms:.0f} ms; the file plays for {script.seconds:.0f} s")
            deadline = time.monotonic() + script.seconds + 5
            while time.monotonic() < deadline:
                time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
                failure = page.evaluate("window.failure")
                if failure:
                    raise RuntimeError(f"the page failed: {failure}")
                count = page.evaluate("window.events.filter(e => e[1].type === 'metrics').length")
                progress(f"{count} of {len(script.sentences)} replies so far")
            marks = page.evaluate("window.marks")
            events = page.evaluate("window.events")
            stats = page.evaluate(STATS)
            page.evaluate("window.ws.send(JSON.stringify({type: 'bye'}))")
        finally:
            browser.close()
    return marks, events, connect_ms, stats


def header(load: float, chromium: str) -> str:
    try:
        chromium_version = subprocess.run([chromium, "--version"], capture_output=True, text=True,
                                          timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium_version = "?"
    return (
        "## Realtime with a browser caller: chromium over WebRTC in a loopback-only network namespace\n\n"
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), load average {load:.2f} at start; "
        f"{chromium_version}; Playwright {version('playwright')}; aiortc {version('aiortc')} (server)\n\n"
        f"server: `python -m gateway`, ICE on {HOST}; ASR faster-whisper tiny.en, TTS espeak-ng, LLM {llm_engine()}; "
        f"VAD end silence {end_silence():g} s ({min_end_silence():g} s after a complete sentence). caller: "
        f"chromium headless, its microphone a WAV of espeak-ng sentences ({GAP_SECONDS:g} s apart); "
        f"loud = {SILENCE_DBFS:g} dBFS or more per 20 ms."
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    inside = "--inside" in argv
    if inside:
        argv.remove("--inside")
    if not loopback_only():
        if inside:
            print("skipped: the namespace has interfaces other than lo")
            return 1
        return in_namespace(argv)
    turns = int(os.environ.get("BENCH_REALTIME_TURNS") or TURNS)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("skipped: chromium is not installed (Debian package chromium)")
        return 1
    try:
        import playwright  # noqa: F401

        from adapters.providers.espeak import EspeakTTS
    except ImportError as exc:
        print(f"skipped: {exc}")
        return 1
    if not EspeakTTS().available():
        print("skipped: libespeak-ng is not available (apt package espeak-ng)")
        return 1
    load = os.getloadavg()[0]
    started_at = time.perf_counter()
    print(header(load, chromium))
    print()
    sys.stdout.flush()

    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="gateway-realtime-browser-") as tmp:
        try:
            script = asyncio.run(make_wav(Path(tmp) / "microphone.wav", turns))
            target, jwt = start_gateway(Path(tmp), targets)
            progress(f"gateway on :{target.port}, {turns} turns")
            wait_ready(target)
            try:
                marks, events, connect_ms, stats = converse(f"http://{HOST}:{target.port}", jwt, script, chromium)
            except Exception as exc:  # noqa: BLE001 - reported with the server's log
                print(f"failed: {exc}\n\n--- server log ---\n{log_tail(target)}")
                return 1
            warmup, counted = analyse(script, marks, events)
            print(report(counted, warmup, connect_ms, time.perf_counter() - started_at, stats))
            return 0
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        finally:
            stop_all(targets)


if __name__ == "__main__":
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_keyboard_interrupt)
    sys.exit(main())
