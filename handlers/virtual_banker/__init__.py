"""Virtual Banker API handlers (specs/virtual-banker): one function per operationId.

``plugin`` is what the gateway reads: the envelope, the ``BearerAuth`` check, the bundle
(:mod:`.bundle`) and its background work (the webhook dispatcher).
"""

from handlers.plugin import ApiPlugin
from handlers.virtual_banker.bundle import API, VirtualBanker, build, on_shutdown, on_startup
from handlers.virtual_banker.envelope import VirtualBankerEnvelope
from handlers.virtual_banker.health import get_health
from handlers.virtual_banker.realtime import webrtc_signaling
from handlers.virtual_banker.security import bearer_info
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

plugin: ApiPlugin[VirtualBanker] = ApiPlugin(
    name=API,
    envelope=VirtualBankerEnvelope(),
    validation_status=400,
    build=build,
    security={"BearerAuth": bearer_info},
    on_startup=on_startup,
    on_shutdown=on_shutdown,
)

__all__ = [
    "plugin",
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
