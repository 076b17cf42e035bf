"""EspeakTTS against the real libespeak-ng: rates, timing, voices, streaming, concurrency."""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest

from adapters.providers import espeak
from adapters.providers.base import AudioChunk, Synthesis, TextToSpeech, VoiceSettings
from adapters.providers.espeak import EspeakTTS, resample, resolve_voice, split_sentences, words_per_minute

pytestmark = pytest.mark.skipif(not espeak.available(), reason="libespeak-ng not installed")

SENTENCE_21 = (
    "Thank you for calling the bank, your card has been frozen and a new one will arrive within five working days."
)
TWELVE = [
    "Good morning and welcome to the bank.",
    "Your balance is available in the app.",
    "Would you like to transfer money today?",
    "I can help you with payments and cards.",
    "Please tell me what you need!",
    "Our branches open at nine in the morning.",
    "Cards can be frozen at any time.",
    "Loans are reviewed within two days.",
    "Is there anything else I can do?",
    "Thank you for calling us.",
    "We value your feedback.",
    "Goodbye and have a nice day.",
]
RATES = (16000, 22050, 44100)
JITTER_S = 0.1  # espeak-ng's call-to-call duration jitter for one short text (observed ≤ 0.06 s)
EN = VoiceSettings(voice_id="en-us")


@pytest.fixture(scope="module")
def tts() -> EspeakTTS:
    return EspeakTTS()


def _rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x)))


def _native(text: str, identifier: str = "gmw/en-US", wpm: int = 175, end_pause: bool = False) -> espeak._Raw:
    with espeak._LOCK:
        return espeak._get_engine().synth(text, identifier, wpm, end_pause)


def test_is_a_text_to_speech(tts):
    assert isinstance(tts, TextToSpeech)
    assert tts.name == "espeak-ng"
    assert tts.available() is True
    langs = tts.voices()
    assert {"en-us", "en-gb", "en", "ru", "de"} <= set(langs)
    assert langs == sorted(langs)


def test_native_rate_and_raw_events_increase():
    """The library reports 22050 Hz; phoneme and word events arrive in time order with the
    sample index agreeing with the millisecond position."""
    raw = _native(SENTENCE_21)
    assert raw.sample_rate == 22050
    events = [e for e in raw.events if e.kind in (espeak.espeakEVENT_PHONEME, espeak.espeakEVENT_WORD)]
    assert len(events) > 40
    positions = [e.audio_position_ms for e in events]
    assert positions == sorted(positions)
    assert positions[-1] > positions[0]
    for e in events:
        assert abs(e.sample * 1000 / raw.sample_rate - e.audio_position_ms) <= 1.0
    total_ms = len(raw.pcm) / 2 / raw.sample_rate * 1000
    assert max(positions) <= total_ms + 1


@pytest.mark.parametrize("rate", RATES)
async def test_synthesize_rates(tts, rate):
    s = await tts.synthesize(SENTENCE_21, EN, rate)
    assert isinstance(s, Synthesis)
    assert s.sample_rate == rate
    assert len(s.pcm) % 2 == 0
    assert len(s.pcm) / 2 / rate == s.duration
    assert 4.0 < s.duration < 10.0  # 21 words at 175 wpm ≈ 7 s
    assert _rms(s.pcm) > 500  # not silence (int16 full scale 32767)
    peak = np.abs(np.frombuffer(s.pcm, dtype="<i2")).max()
    assert 3000 < peak <= 32767


def test_one_synthesis_rendered_at_every_rate_has_one_duration():
    """Resampling keeps the duration: from one native synthesis, 16000/22050/44100 Hz output
    lasts the same to within one output sample (well under 1 ms)."""
    raw = _native(SENTENCE_21)
    n = len(raw.pcm) // 2
    durations = {}
    for rate in RATES:
        synthesis, _ = espeak._render(raw, SENTENCE_21, rate)
        assert len(synthesis.pcm) // 2 == math.ceil(n * rate / raw.sample_rate)
        assert synthesis.duration == len(synthesis.pcm) / 2 / rate
        assert synthesis.phonemes[-1].end == synthesis.duration
        durations[rate] = synthesis.duration
    assert durations[22050] == n / 22050
    assert max(durations.values()) - min(durations.values()) < 0.001


async def test_public_durations_across_rates_agree(tts):
    """Separate calls differ only by espeak's own call-to-call jitter (pause and pitch-cycle
    alignment, see the module docstring); the exact check is the single-synthesis test above."""
    durations = [(await tts.synthesize(SENTENCE_21, EN, rate)).duration for rate in RATES]
    assert max(durations) - min(durations) < JITTER_S + 0.01 * max(durations)


def test_resample_exact_lengths_and_identity():
    rng = np.random.default_rng(7)
    for n in (1, 2, 441, 22050, 58905):
        pcm = (rng.standard_normal(n) * 3000).astype("<i2").tobytes()
        assert resample(pcm, 22050, 22050) == pcm
        for rate in (8000, 16000, 24000, 44100, 48000):
            out = resample(pcm, 22050, rate)
            assert len(out) // 2 == math.ceil(n * rate / 22050)
    assert resample(b"", 22050, 16000) == b""
    with pytest.raises(ValueError):
        resample(b"\0", 22050, 16000)
    # A tone keeps its frequency and level through the resampler.
    t = np.arange(22050) / 22050
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2").tobytes()
    out = np.frombuffer(resample(tone, 22050, 16000), dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440) < 2
    assert abs(_rms(resample(tone, 22050, 16000)) - _rms(tone)) < 0.05 * _rms(tone)


async def test_speed_21_words_well_under_a_second(tts):
    assert len(SENTENCE_21.split()) == 21
    await tts.synthesize(SENTENCE_21, EN, 22050)  # warm up
    for rate in RATES:
        t0 = time.perf_counter()
        s = await tts.synthesize(SENTENCE_21, EN, rate)
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.25, f"{elapsed:.3f}s for {s.duration:.2f}s of audio at {rate} Hz"
        assert s.duration / elapsed > 20  # far faster than real time


async def test_phonemes_are_monotonic_and_cover_the_audio(tts):
    s = await tts.synthesize(SENTENCE_21, EN, 16000)
    ph = s.phonemes
    assert ph[0].start >= 0.0 and ph[0].start < 0.1
    for a, b in zip(ph, ph[1:], strict=False):
        assert a.end == b.start
    for p in ph:
        assert 0.0 <= p.start < p.end <= s.duration
    assert ph[-1].end == s.duration
    non_pause = [p for p in ph if not p.phoneme.startswith("_")]
    assert 21 * 2 <= len(non_pause) <= 21 * 8
    assert all(p.phoneme and len(p.phoneme.encode()) <= 8 for p in ph)
    assert ph[-1].phoneme.startswith("_")  # espeak ends the text with a pause


async def test_word_timings(tts):
    s, words = await tts.synthesize_with_words(SENTENCE_21, EN, 22050)
    tokens = [w.strip(",.") for w in SENTENCE_21.split()]
    # espeak may fuse a phrase into one word event ("has been" → "has"); the rest match in order
    got = [w.word for w in words]
    assert 18 <= len(got) <= 21
    it = iter(tokens)
    assert all(any(word == t for t in it) for word in got)
    assert got[0] == "Thank" and got[-1] == "days"
    for a, b in zip(words, words[1:], strict=False):
        assert a.start <= a.end <= b.start
    assert words[-1].end <= s.duration
    # Non-ASCII text: positions are characters, not bytes.
    text = "Здравствуйте! Как у вас дела?"
    _, words = await tts.synthesize_with_words(text, VoiceSettings(language="ru-RU"), 16000)
    assert [w.word for w in words] == ["Здравствуйте", "Как", "у", "вас", "дела"]


def test_voice_resolution():
    assert resolve_voice(VoiceSettings(voice_id="en-us")) == "gmw/en-US"
    assert resolve_voice(VoiceSettings(voice_id="EN-GB")) == "gmw/en"
    assert resolve_voice(VoiceSettings(voice_id="ru")) == "zle/ru"
    assert resolve_voice(VoiceSettings(voice_id="de")) == "gmw/de"
    assert resolve_voice(VoiceSettings(voice_id="gmw/en-US")) == "gmw/en-US"
    assert resolve_voice(VoiceSettings(voice_id="English (America)")) == "gmw/en-US"
    eleven = "21m00Tcm4TlvDq8ikWAM"
    assert resolve_voice(VoiceSettings(voice_id=eleven)) == "gmw/en-US"
    assert resolve_voice(VoiceSettings()) == "gmw/en-US"
    assert resolve_voice(VoiceSettings(voice_id=eleven, language="en-US")) == "gmw/en-US"
    assert resolve_voice(VoiceSettings(voice_id=eleven, language="en_GB")) == "gmw/en"
    assert resolve_voice(VoiceSettings(voice_id=eleven, language="ru-RU")) == "zle/ru"
    assert resolve_voice(VoiceSettings(voice_id=eleven, language="de-AT")) == "gmw/de"
    assert resolve_voice(VoiceSettings(voice_id=eleven, language="xx-YY")) == "gmw/en-US"


async def test_unknown_voice_falls_back_and_russian_differs(tts):
    text = "Hello, my friend. Thank you very much."
    fallback = await tts.synthesize(text, VoiceSettings(voice_id="21m00Tcm4TlvDq8ikWAM"), 22050)
    english = await tts.synthesize(text, EN, 22050)
    assert [p.phoneme for p in fallback.phonemes] == [p.phoneme for p in english.phonemes]
    assert abs(fallback.duration - english.duration) < JITTER_S + 0.01 * english.duration

    russian = await tts.synthesize(text, VoiceSettings(voice_id="21m00Tcm4TlvDq8ikWAM", language="ru-RU"), 22050)
    assert _rms(russian.pcm) > 500
    assert [p.phoneme for p in russian.phonemes] != [p.phoneme for p in english.phonemes]
    assert russian.pcm != english.pcm
    # Cyrillic text in the Russian voice uses Russian-only phonemes (palatalised consonants).
    ru = await tts.synthesize("Съешь же ещё этих мягких французских булок.", VoiceSettings(language="ru-RU"), 16000)
    assert any(p.phoneme.endswith(";") for p in ru.phonemes)


async def test_rate_changes_speed(tts):
    slow = await tts.synthesize(SENTENCE_21, VoiceSettings(voice_id="en-us", rate=0.7), 16000)
    normal = await tts.synthesize(SENTENCE_21, EN, 16000)
    fast = await tts.synthesize(SENTENCE_21, VoiceSettings(voice_id="en-us", rate=2.0), 16000)
    assert slow.duration > normal.duration * 1.2
    assert fast.duration < normal.duration * 0.7
    assert words_per_minute(1.0) == 175
    assert words_per_minute(0.1) == 80
    assert words_per_minute(10.0) == 450
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            words_per_minute(bad)


async def test_invalid_arguments(tts):
    for text in ("", "   \n\t", "\0"):
        with pytest.raises(ValueError, match="empty"):
            await tts.synthesize(text, EN, 16000)
        with pytest.raises(ValueError, match="empty"):
            async for _ in tts.stream(text, EN, 16000):
                pass
    with pytest.raises(ValueError):
        await tts.synthesize("hello", EN, 0)
    with pytest.raises(ValueError):
        await tts.synthesize("hello", VoiceSettings(rate=0.0), 16000)
    # NUL characters are dropped rather than truncating the text.
    s = await tts.synthesize("hello\0 world", EN, 16000)
    assert s.duration > 0.5


def test_split_sentences():
    assert split_sentences("One. Two!  Three?\nFour… Five") == ["One.", "Two!", "Three?", "Four…", "Five"]
    assert split_sentences('He said "stop." Then left.') == ['He said "stop."', "Then left."]
    assert split_sentences("3.14 is pi.") == ["3.14 is pi."]
    long = ", ".join(f"clause number {i} with some words" for i in range(30)) + "."
    pieces = split_sentences(long)
    assert len(pieces) > 1
    assert all(len(p) <= espeak.MAX_PIECE_CHARS for p in pieces)
    assert " ".join(pieces).split() == long.split()
    nospace = "x" * 450
    assert split_sentences(nospace) == ["x" * 200, "x" * 200, "x" * 50]


@pytest.mark.parametrize("rate", (16000, 44100))
async def test_stream_offsets_and_total_duration(tts, rate):
    text = " ".join(TWELVE)
    chunks = [c async for c in tts.stream(text, EN, rate)]
    assert len(chunks) == 12
    offset = 0.0
    for c in chunks:
        assert isinstance(c, AudioChunk)
        assert c.sample_rate == rate
        assert len(c.pcm) > 0 and len(c.pcm) % 2 == 0
        assert c.offset == pytest.approx(offset, abs=1e-9)
        offset += len(c.pcm) / 2 / rate
    one_shot = await tts.synthesize(text, EN, rate)
    # Same pauses as one-shot synthesis (without the between-sentence pause the stream would be
    # ≈ 3.3 s shorter): a few ms per boundary plus espeak's call-to-call jitter (~1 %).
    assert abs(offset - one_shot.duration) < 0.005 * 11 + 0.015 * one_shot.duration
    assert all(_rms(c.pcm) > 300 for c in chunks)


async def test_stream_first_chunk_arrives_before_full_synthesis(tts):
    text = " ".join(TWELVE)
    await tts.synthesize(text, EN, 16000)  # warm up
    full, first = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        await tts.synthesize(text, EN, 16000)
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        agen = tts.stream(text, EN, 16000)
        await agen.__anext__()
        first.append(time.perf_counter() - t0)
        await agen.aclose()
    assert min(first) < min(full) / 2, (first, full)


async def test_concurrent_synthesis_is_serialised_correctly(tts):
    jobs = [
        (
            f"Request number {i}. " + TWELVE[i],
            VoiceSettings(voice_id=("en-us", "ru", "en-gb", "de")[i % 4]),
            RATES[i % 3],
        )
        for i in range(8)
    ]
    expected = [await tts.synthesize(t, v, r) for t, v, r in jobs]
    results = await asyncio.gather(*(tts.synthesize(t, v, r) for t, v, r in jobs))
    for (_t, _v, r), got, want in zip(jobs, results, expected, strict=False):
        assert got.sample_rate == r
        assert got.duration == len(got.pcm) / 2 / r
        assert [p.phoneme for p in got.phonemes] == [p.phoneme for p in want.phonemes]
        assert abs(got.duration - want.duration) < JITTER_S + 0.02 * want.duration
        assert got.phonemes[-1].end == got.duration
        assert _rms(got.pcm) > 300
