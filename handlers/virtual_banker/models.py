"""The generated models whose ``format: byte`` fields carry binary audio, with that field as text.

datamodel-codegen (``tools/generate.py``) types an OpenAPI ``string`` with ``format: byte``
(base64) as pydantic ``Base64Str``: validation base64-decodes the text and requires the
decoded bytes to be UTF-8, and dumping base64-encodes the value again. Audio is not UTF-8, so
``TranscribeRequest.audio_data`` rejects every real recording and ``SynthesisResult.audio_data``
cannot hold one. The subclasses below are those generated classes with that one field typed as
the contract's base64 text (``str``); the handlers encode it with :func:`base64.b64encode` and
decode it strictly. An instance is still the generated class the contract's schema names.

Delete this module (use the generated classes directly, the field then being bytes) once the
generator maps ``format: byte`` to ``Base64Bytes`` (``--type-mappings string+byte=binary``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from generated.models.virtual_banker import SynthesisResponse, SynthesisResult, TranscribeRequest


class TranscribeJson(TranscribeRequest):
    """transcribeAudio's JSON body: ``audio_data`` base64 text, ``language``, ``include_words``."""

    audio_data: Annotated[str, Field(description="Base64-encoded audio data")]


class SynthesisAudio(SynthesisResult):
    """synthesizeSpeech's data: ``audio_data`` base64 text of the audio in ``format``."""

    audio_data: Annotated[str | None, Field(description="Base64-encoded audio data")] = None


class SynthesisEnvelope(SynthesisResponse):
    """synthesizeSpeech's JSON body ``{success, data: SynthesisAudio, timestamp}``."""

    data: SynthesisAudio | None = None
