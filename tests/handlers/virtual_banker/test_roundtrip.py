"""Round trip through the API: default TTS → default ASR over 20+ varied sentences.

Median word error rate (normalised for case, punctuation and numbers; adapters/providers/wer.py)
must stay at or below 0.15; every audio file must parse back with its declared rate and duration.
"""

from __future__ import annotations

import base64
import io
import statistics
import wave

from adapters.providers.wer import word_error_rate

SENTENCES = [
    "Good morning, how can I help you today?",
    "I would like to check the balance of my savings account.",
    "Please transfer two hundred dollars to my checking account.",
    "My debit card was stolen yesterday afternoon.",
    "Can you tell me the interest rate on a fixed deposit?",
    "I want to open a new account for my daughter.",
    "The payment should arrive within three business days.",
    "Could you please repeat that more slowly?",
    "What time does the nearest branch close on Saturday?",
    "I need a statement for the last six months.",
    "Thank you very much for your help.",
    "The weather is lovely this evening.",
    "Please update my home address and phone number.",
    "Is there a fee for international transfers?",
    "I forgot the password for online banking.",
    "Let me speak to a human agent, please.",
    "The meeting has been moved to next Tuesday.",
    "She bought fresh bread and apples at the market.",
    "How long does it take to get a new card?",
    "We are planning a trip to the mountains in July.",
    "Block the card immediately and send me a replacement.",
    "The train leaves the station at seven thirty.",
]


def test_round_trip_word_error_rate(client, vb_session):
    session_id, headers = vb_session
    rates = []
    for i, sentence in enumerate(SENTENCES):
        rate = (16000, 22050, 44100)[i % 3]
        r = client.post(f"/v1/voice/sessions/{session_id}/synthesize",
                        json={"text": sentence, "format": "wav", "sample_rate": rate}, headers=headers)
        data = r.json()["data"]
        wav = base64.b64decode(data["audio_data"])
        with wave.open(io.BytesIO(wav)) as w:
            assert w.getframerate() == rate == data["sample_rate"]
            assert w.getnframes() / rate == data["duration"] or abs(w.getnframes() / rate - data["duration"]) < 1e-6
        r = client.post(f"/v1/voice/sessions/{session_id}/transcribe",
                        files={"audio": ("s.wav", wav, "audio/wav")}, data={"language": "en-US"}, headers=headers)
        assert r.status_code == 200
        rates.append(word_error_rate(sentence, r.json()["data"]["text"]))
    assert statistics.median(rates) <= 0.15, rates
