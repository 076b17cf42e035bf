"""Phoneme → viseme table and the viseme track's guarantees (real espeak output + properties)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.providers import espeak
from adapters.providers.base import PhonemeEvent, VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.providers.visemes import (
    PHONEME_TO_VISEME,
    SILENCE_PHONEME,
    VISEMES,
    Viseme,
    viseme_for,
    visemes_from_phonemes,
)

needs_espeak = pytest.mark.skipif(not espeak.available(), reason="libespeak-ng not installed")

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "She sells sea shells by the sea shore, and the shells she sells are surely seashells.",
    "Judge Ginny measured the vision of the azure garage while chewing cheese.",
    "Why would a boy enjoy the toy? Hour after hour, our cow wandered outside the house.",
    "Yes, huge yellow onions were cooked in the pot, but not the book or the foot.",
    "Bird, word, heard, nurse, father, palm, car, thought, north, force, cure, poor, near, square, start.",
    "Kit, dress, trap, lot, strut, foot, fleece, face, price, choice, goat, mouth, goose, comma, letter, happy.",
    "Ring the bell, sing a song, think of the thing, and breathe the feather-light bath.",
    "What? Really! Wow... Hmm, okay. One, two, three, four, five, six, seven, eight, nine, ten.",
    "Tomorrow at 3:45 PM, Dr. Smith will visit 221B Baker Street with 1,000 euros.",
    "Little bottle, button, water, better, kitten, mountain, fire, hire, tower, our.",
    "Zebras, xylophones, quizzes, jazz, vex, ox, extra, exam, luxury, anxious, loch.",
    "Ahead, behind, hello, who, whom, whose, hue, human, hotel, usual, treasure.",
]
RUSSIAN = [
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "В чащах юга жил бы цитрус? Да, но фальшивый экземпляр!",
    "Широкая электрификация южных губерний даст мощный толчок подъёму сельского хозяйства.",
    "Щука, ёжик, юла, яблоко, эхо, цапля, чай, шум, жук, хлеб, гриб, пыль, мир, рыба.",
    "Подъезд, объём, семья, вьюга, льёт, день, конь, тень, ночь, вещь.",
    "Ваш баланс составляет двенадцать тысяч триста сорок пять рублей.",
]


def test_the_fifteen_visemes():
    assert VISEMES == ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
    assert set(PHONEME_TO_VISEME.values()) == set(VISEMES)


@pytest.mark.parametrize(
    "phoneme, viseme",
    [
        ("p", "PP"),
        ("b", "PP"),
        ("m", "PP"),
        ("f", "FF"),
        ("v", "FF"),
        ("T", "TH"),
        ("D", "TH"),
        ("t", "DD"),
        ("d", "DD"),
        ("t#", "DD"),
        ("k", "kk"),
        ("g", "kk"),
        ("N", "kk"),
        ("tS", "CH"),
        ("dZ", "CH"),
        ("S", "CH"),
        ("Z", "CH"),
        ("s", "SS"),
        ("z", "SS"),
        ("n", "nn"),
        ("l", "nn"),
        ("r", "RR"),
        ("a", "aa"),
        ("A:", "aa"),
        ("aI", "aa"),
        ("aU", "aa"),
        ("V", "aa"),
        ("@", "aa"),
        ("3:", "aa"),
        ("E", "E"),
        ("eI", "E"),
        ("e@", "E"),
        ("i:", "ih"),
        ("I", "ih"),
        ("i", "ih"),
        ("0", "oh"),
        ("O:", "oh"),
        ("oU", "oh"),
        ("OI", "oh"),
        ("u:", "ou"),
        ("U", "ou"),
        ("w", "ou"),
        ("_", "sil"),
        ("_:", "sil"),
        ("_!", "sil"),
        ("S;", "CH"),
        ("t;", "DD"),
        ("8", "oh"),
        ("y", "ih"),
        ("x", "kk"),
        ("ts", "SS"),
        ("ja", "aa"),
        ("ju", "ou"),
    ],
)
def test_table_entries(phoneme, viseme):
    assert PHONEME_TO_VISEME[phoneme] == viseme
    assert viseme_for(phoneme) == viseme


def test_unknown_mnemonics_fall_back_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="adapters.providers.visemes"):
        assert viseme_for("'t") == "DD"  # stress mark stripped
        assert viseme_for("k;#") == "kk"  # modifiers dropped
        assert viseme_for("Qx") in VISEMES
        assert viseme_for("zz9") == "SS"  # first-character class
        assert viseme_for("_x") == "sil"
        assert viseme_for("ʒ\u0301") in VISEMES
        assert viseme_for("''") == "sil"
    assert any("no viseme entry" in r.message for r in caplog.records)


async def _emitted(texts: list[str], voice: VoiceSettings) -> set[str]:
    tts = EspeakTTS()
    seen: set[str] = set()
    for text in texts:
        s = await tts.synthesize(text, voice, 16000)
        seen.update(p.phoneme for p in s.phonemes)
    return seen


@needs_espeak
@pytest.mark.parametrize(
    "texts, voice",
    [
        (ENGLISH, VoiceSettings(voice_id="en-us")),
        (ENGLISH, VoiceSettings(voice_id="en-gb")),
        (ENGLISH, VoiceSettings(voice_id="en-gb-x-rp")),
        (RUSSIAN, VoiceSettings(voice_id="ru")),
    ],
    ids=["en-us", "en-gb", "en-gb-x-rp", "ru"],
)
async def test_every_emitted_mnemonic_is_mapped_explicitly(texts, voice, caplog):
    seen = await _emitted(texts, voice)
    assert len(seen) > 35
    missing = sorted(p for p in seen if p not in PHONEME_TO_VISEME)
    assert missing == []
    with caplog.at_level(logging.WARNING, logger="adapters.providers.visemes"):
        assert {viseme_for(p) for p in seen} <= set(VISEMES)
    assert not caplog.records


@needs_espeak
async def test_real_synthesis_track():
    s = await EspeakTTS().synthesize(ENGLISH[0] + " " + ENGLISH[1], VoiceSettings(voice_id="en-us"), 16000)
    track = visemes_from_phonemes(s.phonemes, s.duration)
    _check_track(track, s.duration)
    assert track[0].viseme == "sil" and track[-1].viseme == "sil"
    assert track[0].start == 0.0 and track[-1].end == s.duration
    used = {v.viseme for v in track}
    assert {"PP", "FF", "DD", "kk", "SS", "aa", "ou"} <= used
    # one entry per phoneme (plus the leading silence espeak leaves before the first phoneme)
    real = [v for v in track if not (v.phoneme == SILENCE_PHONEME and v.start == 0.0 and v is track[0])]
    assert [v.phoneme for v in real] == [p.phoneme for p in s.phonemes]
    assert [(v.start, v.end) for v in real] == [(p.start, p.end) for p in s.phonemes]


def _check_track(track: list[Viseme], duration: float) -> None:
    if duration == 0:
        assert track == []
        return
    assert track, "non-empty for positive duration"
    assert track[0].start == 0.0
    assert track[-1].end == duration
    for v in track:
        assert v.viseme in VISEMES
        assert v.end > v.start
        assert isinstance(v.phoneme, str)
    for a, b in zip(track, track[1:], strict=False):
        assert a.end == b.start


def test_edges_and_gaps():
    ph = [PhonemeEvent("h", 0.1, 0.2), PhonemeEvent("@", 0.2, 0.3), PhonemeEvent("l", 0.5, 0.6)]
    track = visemes_from_phonemes(ph, 1.0)
    assert [(v.viseme, v.start, v.end, v.phoneme) for v in track] == [
        ("sil", 0.0, 0.1, "_"),
        ("kk", 0.1, 0.2, "h"),
        ("aa", 0.2, 0.3, "@"),
        ("sil", 0.3, 0.5, "_"),
        ("nn", 0.5, 0.6, "l"),
        ("sil", 0.6, 1.0, "_"),
    ]
    # a trailing espeak pause is extended to the end rather than followed by another silence
    track = visemes_from_phonemes([PhonemeEvent("a", 0.0, 0.4), PhonemeEvent("_:", 0.4, 0.5)], 0.8)
    assert [(v.viseme, v.start, v.end, v.phoneme) for v in track] == [("aa", 0.0, 0.4, "a"), ("sil", 0.4, 0.8, "_:")]
    # zero-length and out-of-range phonemes are dropped; identical neighbours are kept apart
    track = visemes_from_phonemes(
        [
            PhonemeEvent("p", 0.0, 0.1),
            PhonemeEvent("b", 0.1, 0.1),
            PhonemeEvent("b", 0.1, 0.2),
            PhonemeEvent("m", 0.2, 0.3),
            PhonemeEvent("k", 2.0, 3.0),
        ],
        0.3,
    )
    assert [(v.viseme, v.phoneme) for v in track] == [("PP", "p"), ("PP", "b"), ("PP", "m")]
    assert track[-1].end == 0.3
    assert visemes_from_phonemes([], 0.0) == []
    assert visemes_from_phonemes([], 0.5) == [Viseme("sil", 0.0, 0.5, "_")]
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            visemes_from_phonemes([], bad)


_MNEMONICS = st.sampled_from(sorted(PHONEME_TO_VISEME) + ["??", "zz9", "'a", "k;#", ""])
_TIMES = st.floats(min_value=-1.0, max_value=12.0, allow_nan=False, allow_infinity=False)


@st.composite
def _random_phonemes(draw):
    events = draw(st.lists(st.builds(PhonemeEvent, _MNEMONICS, _TIMES, _TIMES), max_size=40))
    duration = draw(st.one_of(st.just(0.0), st.floats(min_value=1e-4, max_value=10.0)))
    return events, duration


@st.composite
def _contiguous_phonemes(draw):
    cuts = sorted(set(draw(st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=2, max_size=40))))
    if len(cuts) < 2:
        cuts.append(cuts[0] + 0.5)
    names = draw(st.lists(_MNEMONICS, min_size=len(cuts) - 1, max_size=len(cuts) - 1))
    events = [PhonemeEvent(n, a, b) for n, a, b in zip(names, cuts, cuts[1:], strict=False)]
    extra = draw(st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=2.0)))
    return events, cuts[-1] + extra


@settings(max_examples=400, deadline=None)
@given(_random_phonemes())
def test_track_guarantees_on_arbitrary_input(case):
    events, duration = case
    track = visemes_from_phonemes(events, duration)
    _check_track(track, duration)
    inserted = [v for v in track if v.phoneme == SILENCE_PHONEME]
    assert len(track) - len(inserted) <= len(events)
    assert all(v.viseme == "sil" for v in inserted)


@settings(max_examples=300, deadline=None)
@given(_contiguous_phonemes())
def test_contiguous_input_is_kept_one_to_one(case):
    """Engine-shaped input (contiguous phonemes) keeps one entry per phoneme with its times;
    only a leading silence may be added and the end may be stretched to ``duration``."""
    events, duration = case
    track = visemes_from_phonemes(events, duration)
    _check_track(track, duration)
    lead = events[0].start >= 1e-6
    if lead:
        assert track[0] == Viseme("sil", 0.0, events[0].start, SILENCE_PHONEME)
    body = track[int(lead) : int(lead) + len(events)]
    assert [v.phoneme for v in body] == [e.phoneme for e in events]
    for k, (v, e) in enumerate(zip(body, events, strict=False)):
        assert v.start == (e.start if k or lead else 0.0)
        if k < len(events) - 1:
            assert v.end == e.end
    tail = track[int(lead) + len(events) :]
    assert len(tail) <= 1
    if tail:
        assert tail[0].viseme == "sil" and tail[0].phoneme == SILENCE_PHONEME and tail[0].end == duration
