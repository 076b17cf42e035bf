"""Virstack TTS utilities: generateFillerTranscript, generateTtsAudio, generateTtsAudioFullPrompt.

Engines, in order: the named cloud provider (``gemini`` with ``GEMINI_API_KEY``, ``grok`` with
``XAI_API_KEY``); otherwise the built-in offline engine (espeak-ng, ``bundle().providers.
tts("mock")``), unless ``VIRSTACK_TTS_STRICT`` is on - then 503 naming the missing key. The
audio answers are WAV (RIFF, mono 16-bit PCM) and carry ``X-TTS-Engine`` naming the engine.

Filler transcripts come from the named provider's chat model when its key is set (Gemini and
xAI speak the OpenAI chat-completions protocol), else from ``LLM_BASE_URL`` when configured,
else from an offline template chosen by the tool (honest: ``engine: offline-template``).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from adapters.providers import audio as codec
from adapters.providers.base import ProviderError, ProviderNotConfigured, VoiceSettings
from adapters.providers.cloud.prompted_tts import GeminiTTS, XaiTTS
from adapters.providers.executor import EngineBusy
from adapters.providers.llm import ChatMessage, LLMError, OpenAICompatibleLanguageModel
from generated.models.virstack_voiceai import (
    FillerTranscript,
    FillerTranscriptEnvelope,
    GenerateAudioBody,
    GenerateAudioFullPromptBody,
    GenerateTranscriptBody,
)
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import ok

OFFLINE_RATE = 24000
CHAT_ENDPOINTS = {
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/openai", "gemini-2.0-flash", "GEMINI_API_KEY"),
    "grok": ("https://api.x.ai/v1", "grok-3-mini", "XAI_API_KEY"),
}
MAX_TEXT = 5000

# Offline filler lines by tool and language (the template engine's whole vocabulary).
FILLERS = {
    "transfer_call": {"en": "One moment please, I'm transferring you now.",
                      "es": "Un momento por favor, le estoy transfiriendo.",
                      "fr": "Un instant s'il vous plaît, je vous transfère.",
                      "de": "Einen Moment bitte, ich verbinde Sie jetzt."},
    "end_call": {"en": "Thank you for calling. Have a great day!",
                 "es": "Gracias por llamar. ¡Que tenga un buen día!",
                 "fr": "Merci de votre appel. Bonne journée !",
                 "de": "Vielen Dank für Ihren Anruf. Einen schönen Tag noch!"},
    "send_sms": {"en": "Sure, I'm sending you a text message right now.",
                 "es": "Claro, le envío un mensaje de texto ahora mismo.",
                 "fr": "Bien sûr, je vous envoie un SMS tout de suite.",
                 "de": "Gerne, ich schicke Ihnen gleich eine SMS."},
    "": {"en": "Let me check that for you, one moment.",
         "es": "Permítame comprobarlo, un momento.",
         "fr": "Laissez-moi vérifier cela, un instant.",
         "de": "Lassen Sie mich das kurz prüfen, einen Moment."},
}
ENTHUSIASTIC = re.compile(r"\b(enthusias\w*|excit\w*|energetic|upbeat|cheer\w*)\b", re.I)


def _key(provider: str) -> str | None:
    """The API key of cloud provider ``provider`` (gemini / grok), if configured."""
    settings = bundle().settings
    return settings.gemini_api_key if provider == "gemini" else settings.xai_api_key


def _strict_missing(provider: str) -> ApiError:
    """503 naming the setting ``provider`` needs (strict mode forbids the offline fallback)."""
    setting = "GEMINI_API_KEY" if provider == "gemini" else "XAI_API_KEY"
    return ApiError(503, "PROVIDER_NOT_CONFIGURED",
                    f"provider {provider!r} is not configured: set {setting} (VIRSTACK_TTS_STRICT forbids the "
                    f"offline fallback)", details={"provider": provider, "setting": setting})


def offline_filler(tool_name: str, language: str, prompt: str) -> str:
    """The offline template line for ``tool_name`` in ``language`` (English when the language has
    none), prefixed with "Absolutely!" when an English ``prompt`` asks for enthusiasm."""
    table = FILLERS.get(tool_name) or FILLERS[""]
    line = table.get(language.split("-")[0].lower()) or table["en"]
    if ENTHUSIASTIC.search(prompt) and language.startswith("en"):
        line = "Absolutely! " + line
    return line


async def generate_filler_transcript(body: GenerateTranscriptBody, token_info: dict[str, Any]) -> Reply:  # noqa: ARG001
    """``POST /v1/tts/generate-transcript`` (generateFillerTranscript) → 200 ``FillerTranscriptEnvelope``
    (``data: {transcript, provider, engine, language_code}``): one short line the agent can say while
    ``tool_name`` runs,
    in ``language_code``, in the voice of ``agent_persona``, following ``prompt``. 503 when the
    language model fails or (strict mode) the provider's key is missing."""
    provider = str(body.provider)  # StrEnum, or the plain default string "gemini"
    language = body.language_code.strip() or "en"
    messages = [
        ChatMessage("system", f"{body.agent_persona}\nYou write ONE very short filler sentence (under 15 words) "
                              f"a voice agent says while the tool `{body.tool_name}` runs. Reply in language "
                              f"`{language}` with the sentence only, no quotes."),
        ChatMessage("user", body.prompt),
    ]
    model = None
    if _key(provider):
        base_url, model_name, _setting = CHAT_ENDPOINTS[provider]
        model = OpenAICompatibleLanguageModel(base_url, _key(provider), model_name)
    elif bundle().settings.virstack_tts_strict:
        raise _strict_missing(provider)
    else:
        shared = bundle().providers.llm()
        if getattr(shared, "generative", False):
            model = shared
    if model is None:
        text, engine = offline_filler(body.tool_name, language, body.prompt), "offline-template"
    else:
        try:
            text = (await model.chat(messages, max_tokens=60, temperature=0.7)).strip().strip('"')
        except (LLMError, ProviderError) as exc:
            raise ApiError(503, "PROVIDER_UNAVAILABLE", f"language model failed: {exc}") from None
        engine = f"{provider}-chat" if _key(provider) else model.name
    data = FillerTranscript(transcript=text, provider=provider, engine=engine, language_code=language)
    return ok(FillerTranscriptEnvelope, data, 200, "Transcript generated")


def _rate_from_pacing(pacing: str) -> float:
    """Offline speaking rate from the caller's pacing words: fast ×1.2, slow ×0.85, else 1."""
    words = pacing.lower()
    if any(w in words for w in ("very fast", "rapid", "quick", "fast", "energetic", "brisk")):
        return 1.2
    if any(w in words for w in ("slow", "calm", "relaxed", "measured", "deliberate")):
        return 0.85
    return 1.0


async def _speak(provider: str, prompt: str, transcript: str, voice_id: str, rate: float) -> Response:
    """WAV of ``prompt`` by the cloud provider, or of ``transcript`` by espeak-ng."""
    if len(transcript) > MAX_TEXT:
        raise ApiError(400, "VALIDATION_ERROR", f"transcript: at most {MAX_TEXT} characters")
    v = bundle()
    key = _key(provider)
    if not transcript.strip():  # nothing to say: an empty (header-only) WAV
        if not key and v.settings.virstack_tts_strict:
            raise _strict_missing(provider)
        return Response(codec.encode_wav(b"", OFFLINE_RATE), status_code=200, media_type="audio/wav",
                        headers={"X-TTS-Engine": provider if key else "espeak-ng"})
    if key:
        engine = GeminiTTS(key) if provider == "gemini" else XaiTTS(key)
        try:
            pcm, rate_hz = await engine.speak(prompt, voice_id)
        except ProviderNotConfigured as exc:
            raise ApiError(503, "PROVIDER_NOT_CONFIGURED", str(exc)) from None
        except ProviderError as exc:
            raise ApiError(503, "PROVIDER_UNAVAILABLE", f"{provider} text-to-speech failed: {exc}") from None
        finally:
            await engine.aclose()
        name = provider
    elif v.settings.virstack_tts_strict:
        raise _strict_missing(provider)
    else:
        try:
            synthesis = await bundle().providers.tts("mock").synthesize(transcript, VoiceSettings(rate=rate),
                                                                          OFFLINE_RATE)
        except EngineBusy as exc:  # the speech executor is full: nothing else waits behind it
            raise ApiError(503, "PROVIDER_UNAVAILABLE", f"offline speech engine busy: {exc}",
                           headers={"Retry-After": str(exc.retry_after)}) from None
        except (ProviderError, ValueError) as exc:
            raise ApiError(503, "PROVIDER_UNAVAILABLE", f"offline speech engine failed: {exc}") from None
        pcm, rate_hz, name = synthesis.pcm, synthesis.sample_rate, "espeak-ng"
    return Response(codec.encode_wav(pcm, rate_hz), status_code=200, media_type="audio/wav",
                    headers={"X-TTS-Engine": name})


async def generate_tts_audio(body: GenerateAudioBody, token_info: dict[str, Any]) -> Response:  # noqa: ARG001
    """``POST /v1/tts/generate-audio`` (generateTtsAudio) → 200 ``audio/wav`` of ``transcript``
    spoken as ``agent_name`` (``system_prompt`` sets the style for cloud voices; ``voice_id`` a
    prebuilt voice of the provider). Header ``X-TTS-Engine``. 503 per the module docstring."""
    provider = str(body.provider)  # StrEnum, or the plain default string "gemini"
    prompt = (f"{body.system_prompt}\nYou are {body.agent_name}. Say the following naturally, "
              f"exactly as written:\n{body.transcript}")
    return await _speak(provider, prompt, body.transcript, body.voice_id, 1.0)


async def generate_tts_audio_full_prompt(body: GenerateAudioFullPromptBody,
                                         token_info: dict[str, Any]) -> Response:  # noqa: ARG001
    """``POST /v1/tts/generate-audio-full-prompt`` (generateTtsAudioFullPrompt) → 200 ``audio/wav``.

    The cloud prompt is built from the caller's direction: audio profile, scene, director's
    note, pacing, then the transcript. The offline engine speaks the transcript only, with the
    speaking rate taken from ``pacing`` (fast ×1.2, slow ×0.85). Header ``X-TTS-Engine``."""
    provider = str(body.provider)  # StrEnum, or the plain default string "gemini"
    prompt = (f"# AUDIO PROFILE: {body.audio_profile}\n## THE SCENE: {body.the_scene}\n"
              f"### DIRECTOR'S NOTES\n{body.directors_note}\nPacing: {body.pacing}\n"
              f"#### TRANSCRIPT\n{body.transcript}")
    return await _speak(provider, prompt, body.transcript, body.voice_id, _rate_from_pacing(body.pacing))
