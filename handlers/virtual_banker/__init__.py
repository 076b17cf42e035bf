"""Virtual Banker API handlers (specs/virtual-banker): one function per operationId."""

from handlers.virtual_banker.health import get_health
from handlers.virtual_banker.realtime import webrtc_signaling
from handlers.virtual_banker.sessions import (
    create_session,
    end_session,
    end_session_post,
    get_session,
    list_sessions,
    refresh_token,
)
from handlers.virtual_banker.voice import (
    create_voice_session,
    get_visemes,
    get_voice_session_status,
    list_voice_providers,
    synthesize_speech,
    synthesize_speech_stream,
    transcribe_audio,
    transcribe_audio_stream,
)
from handlers.virtual_banker.webhooks import register_voice_webhook

__all__ = [
    "create_session",
    "create_voice_session",
    "end_session",
    "end_session_post",
    "get_health",
    "get_session",
    "get_visemes",
    "get_voice_session_status",
    "list_sessions",
    "list_voice_providers",
    "refresh_token",
    "register_voice_webhook",
    "synthesize_speech",
    "synthesize_speech_stream",
    "transcribe_audio",
    "transcribe_audio_stream",
    "webrtc_signaling",
]
