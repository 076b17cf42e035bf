"""The local stand-ins for generated models whose base64 (``format: byte``) field carries audio."""

from __future__ import annotations

import base64

from generated.models.virtual_banker import SynthesisResponse, SynthesisResult, TranscribeRequest
from handlers.results import dump
from handlers.virtual_banker.models import SynthesisAudio, SynthesisEnvelope, TranscribeJson

AUDIO = bytes(range(256)) * 4  # not UTF-8, like every real recording


def test_binary_audio_survives_as_base64_text():
    encoded = base64.b64encode(AUDIO).decode("ascii")
    body = dump(SynthesisEnvelope(success=True, data=SynthesisAudio(audio_data=encoded, format="wav")))
    assert base64.b64decode(body["data"]["audio_data"], validate=True) == AUDIO
    assert TranscribeJson.model_validate({"audio_data": encoded}).audio_data == encoded


def test_they_are_the_generated_classes():
    assert issubclass(SynthesisEnvelope, SynthesisResponse) and issubclass(TranscribeJson, TranscribeRequest)
    assert issubclass(SynthesisAudio, SynthesisResult)
    assert set(TranscribeJson.model_fields) == set(TranscribeRequest.model_fields)
    assert set(SynthesisAudio.model_fields) == set(SynthesisResult.model_fields)
