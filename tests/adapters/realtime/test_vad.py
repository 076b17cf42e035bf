"""Utterance detection on real synthesized speech."""

import asyncio

from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.realtime.vad import FRAME_BYTES, FRAME_MS, SpeechPaused, SpeechStarted, Utterance, UtteranceDetector


def speech16k(text: str) -> bytes:
    synthesis = asyncio.run(EspeakTTS().synthesize(text, VoiceSettings(voice_id="en-us"), 16000))
    return synthesis.pcm


def test_one_utterance_between_silences():
    speech = speech16k("I would like to check my balance.")
    pcm = bytes(16000) + speech + bytes(32000)  # 0.5 s silence, speech, 1 s silence
    events = []
    detector = UtteranceDetector()
    for i in range(0, len(pcm), 640):  # 20 ms chunks, not aligned to the VAD's 30 ms frames
        events += detector.feed(pcm[i:i + 640])
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechPaused, Utterance]
    started, pause, utterance = events
    assert abs(utterance.duration - len(speech) / 32000) < 1.0
    assert 0.2 < started.at < 0.9 and utterance.end > utterance.start
    # The pause came with the speech's end, long before the end silence confirmed it; its audio is
    # the utterance minus the end silence still waited for, and the utterance names it.
    speech_end = 0.5 + len(speech) / 32000
    assert speech_end < pause.at < speech_end + 0.25, (speech_end, pause.at)
    assert utterance.end - pause.at >= 0.3
    assert utterance.pause_id == pause.pause_id and utterance.pcm.startswith(pause.pcm)
    assert 0.6 <= utterance.end_silence < 0.8  # webrtcvad's 0.6 s, plus the quiet frames it still called voiced


def test_silence_and_blips_are_ignored():
    detector = UtteranceDetector()
    assert detector.feed(bytes(32000 * 3)) == []
    assert detector.flush() is None


def test_two_sentences_with_a_long_pause_are_two_utterances():
    pcm = speech16k("Hello there.") + bytes(32000) + speech16k("Goodbye now.") + bytes(32000)
    detector = UtteranceDetector(end_silence=0.5)
    events = [e for e in detector.feed(pcm) if not isinstance(e, SpeechPaused)]
    assert [type(e) for e in events] == [SpeechStarted, Utterance, SpeechStarted, Utterance]


def test_flush_returns_open_utterance():
    detector = UtteranceDetector()
    detector.feed(speech16k("Hello there, how are you?"))
    assert detector.in_speech
    assert isinstance(detector.flush(), Utterance)
    assert len(bytes(FRAME_BYTES)) == 960


def test_sound_after_a_pause_makes_it_stale():
    """A pause inside an utterance (here a comma's) is reported, but the speech that follows it
    makes it stale: the utterance names only a pause that nothing audible followed."""
    pcm = speech16k("Well, let me think about it, I would like to check my balance.") + bytes(32000)
    detector = UtteranceDetector()
    events = []
    for i in range(0, len(pcm), 640):
        events += detector.feed(pcm[i:i + 640])
        if detector.open_pause is not None:
            assert detector.open_pause == max(e.pause_id for e in events if isinstance(e, SpeechPaused))
    pauses = [e for e in events if isinstance(e, SpeechPaused)]
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert len(utterances) == 1 and len(pauses) >= 2, [type(e).__name__ for e in events]
    assert utterances[0].pause_id == pauses[-1].pause_id  # the last one: only silence after it
    assert len(pauses[0].pcm) < len(pauses[-1].pcm)


def test_end_early_ends_after_the_shorter_silence():
    speech = speech16k("I would like to check my balance.")
    detector = UtteranceDetector(end_silence=0.6, min_end_silence=0.3)
    detector.feed(bytes(16000) + speech)  # (espeak pauses inside the sentence too)
    quiet = bytes(FRAME_BYTES)
    events: list = []
    while detector.open_pause is None:
        events = detector.feed(quiet)
    [pause] = events
    assert isinstance(pause, SpeechPaused) and detector.open_pause == pause.pause_id
    assert detector.end_early(pause.pause_id + 1) is None  # not the open pause: nothing changes
    assert detector.end_early(pause.pause_id) is None  # too early yet: a later feed ends it
    frames = 0
    while True:
        frames += 1
        ended = detector.feed(quiet)
        if ended:
            break
    [utterance] = ended
    assert isinstance(utterance, Utterance) and utterance.pause_id == pause.pause_id
    assert abs(utterance.end_silence - 0.3) < 1e-9 and frames * FRAME_MS < 300
    assert not detector.in_speech and detector.open_pause is None
    # Already enough quiet when the caller decides: end_early returns the utterance at once.
    events = detector.feed(speech + bytes(FRAME_BYTES * 12))
    pause = [e for e in events if isinstance(e, SpeechPaused)][-1]
    utterance = detector.end_early(pause.pause_id)
    assert isinstance(utterance, Utterance) and utterance.pause_id == pause.pause_id
    assert utterance.end_silence >= 0.3 and not detector.in_speech


def test_end_early_after_sound_is_refused():
    speech = speech16k("I would like to check my balance.")
    detector = UtteranceDetector()
    events = detector.feed(speech + bytes(FRAME_BYTES * 5))
    pause = [e for e in events if isinstance(e, SpeechPaused)][-1]
    assert detector.open_pause == pause.pause_id
    detector.feed(speech16k("and my savings."))  # speech again: the pause is stale
    assert detector.open_pause != pause.pause_id
    assert detector.end_early(pause.pause_id) is None and detector.in_speech
