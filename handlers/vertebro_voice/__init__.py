"""SiteLLM Vertebro Voice API handlers (specs/vertebro-voice): one function per operationId.

Background work (started by the gateway's lifespan): the audio-cache cleaner and the voice
training worker (:mod:`adapters.vertebro_workers`); jobs interrupted by a restart resume.
"""

from handlers.vertebro_voice.analytics import get_project_analytics
from handlers.vertebro_voice.dialog import detect_intent, generate_dialog_response
from handlers.vertebro_voice.sessions import delete_session, get_session, get_session_history, start_session
from handlers.vertebro_voice.speech import get_audio, recognize_speech, synthesize_speech
from handlers.vertebro_voice.state import vertebro
from handlers.vertebro_voice.training import (
    delete_voice_sample,
    get_training_status,
    list_training_jobs,
    list_voice_samples,
    start_training,
    upload_voice_samples,
)
from handlers.vertebro_voice.ws import voice_web_socket


async def on_startup(services) -> None:
    """Start the audio-cache cleaner and the training worker (which resumes interrupted jobs)."""
    bundle = vertebro(services)
    bundle.make_workers()
    bundle.cleaner.start()
    bundle.worker.start()


async def on_shutdown(services) -> None:
    """Stop the background tasks; running jobs stay persisted in their state and resume later."""
    bundle = vertebro(services)
    if bundle.worker is not None:
        await bundle.worker.stop()
    if bundle.cleaner is not None:
        await bundle.cleaner.stop()


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
    "on_shutdown",
    "on_startup",
    "recognize_speech",
    "start_session",
    "start_training",
    "synthesize_speech",
    "upload_voice_samples",
    "voice_web_socket",
]
