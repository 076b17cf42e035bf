"""SiteLLM Vertebro Voice API handlers (specs/vertebro-voice): one function per operationId.

``plugin`` is what the gateway reads: the FastAPI-style envelope, the ``HTTPBasic`` check, the
bundle (:mod:`.bundle`) and its background work (the audio-cache cleaner and the voice training
worker, :mod:`adapters.storage.vertebro_voice.workers`; jobs interrupted by a restart resume).
"""

from handlers.plugin import ApiPlugin
from handlers.vertebro_voice.analytics import get_project_analytics
from handlers.vertebro_voice.bundle import API, VertebroVoice, build, on_shutdown, on_startup
from handlers.vertebro_voice.dialog import detect_intent, generate_dialog_response
from handlers.vertebro_voice.envelope import VertebroEnvelope
from handlers.vertebro_voice.security import basic_info
from handlers.vertebro_voice.sessions import delete_session, get_session, get_session_history, start_session
from handlers.vertebro_voice.speech import get_audio, recognize_speech, synthesize_speech
from handlers.vertebro_voice.training import (
    delete_voice_sample,
    get_training_status,
    list_training_jobs,
    list_voice_samples,
    start_training,
    upload_voice_samples,
)
from handlers.vertebro_voice.ws import voice_web_socket

plugin: ApiPlugin[VertebroVoice] = ApiPlugin(
    name=API,
    envelope=VertebroEnvelope(),
    validation_status=422,
    build=build,
    security={"HTTPBasic": basic_info},
    on_startup=on_startup,
    on_shutdown=on_shutdown,
)


__all__ = [
    "delete_session",
    "delete_voice_sample",
    "detect_intent",
    "generate_dialog_response",
    "get_audio",
    "get_project_analytics",
    "get_session",
    "get_session_history",
    "get_training_status",
    "list_training_jobs",
    "list_voice_samples",
    "plugin",
    "recognize_speech",
    "start_session",
    "start_training",
    "synthesize_speech",
    "upload_voice_samples",
    "voice_web_socket",
]
