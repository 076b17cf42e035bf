"""Utterance detection on real synthesized speech."""

import asyncio

from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.realtime.vad import FRAME_BYTES, SpeechStarted, Utterance, UtteranceDetector


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
    assert kinds == [SpeechStarted, Utterance]
    utterance = events[1]
    assert abs(utterance.duration - len(speech) / 32000) < 1.0
    assert 0.2 < events[0].at < 0.9 and utterance.end > utterance.start


def test_silence_and_blips_are_ignored():
    detector = UtteranceDetector()
    assert detector.feed(bytes(32000 * 3)) == []
    assert detector.flush() is None


def test_two_sentences_with_a_long_pause_are_two_utterances():
    pcm = speech16k("Hello there.") + bytes(32000) + speech16k("Goodbye now.") + bytes(32000)
    detector = UtteranceDetector(end_silence=0.5)
    events = detector.feed(pcm)
    assert [type(e) for e in events] == [SpeechStarted, Utterance, SpeechStarted, Utterance]


def test_flush_returns_open_utterance():
    detector = UtteranceDetector()
    detector.feed(speech16k("Hello there, how are you?"))
    assert detector.in_speech
    assert isinstance(detector.flush(), Utterance)
    assert len(bytes(FRAME_BYTES)) == 960
