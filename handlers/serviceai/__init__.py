"""ServiceAi Chatty Voice API handlers (specs/serviceai): one function per operationId.

``plugin`` is what the gateway reads: the envelope, the ``bearerAuth`` check, the bundle (:mod:`.bundle`).
"""

from handlers.plugin import ApiPlugin
from handlers.serviceai.bundle import API, ServiceaiBundle, build, on_shutdown
from handlers.serviceai.context import get_chatty_voice_ai_context
from handlers.serviceai.envelope import ServiceaiEnvelope
from handlers.serviceai.meta import get_api_version
from handlers.serviceai.realtime import consume_csrf_token, create_realtime_token, get_csrf_token
from handlers.serviceai.security import bearer_info
from handlers.serviceai.tools import execute_chatty_voice_tool, list_chatty_voice_tools
from handlers.serviceai.webrtc import exchange_realtime_webrtc_sdp

plugin: ApiPlugin[ServiceaiBundle] = ApiPlugin(
    name=API,
    envelope=ServiceaiEnvelope(),
    validation_status=400,
    build=build,
    security={"bearerAuth": bearer_info},
    on_shutdown=on_shutdown,
)

__all__ = [
    "consume_csrf_token",
    "create_realtime_token",
    "exchange_realtime_webrtc_sdp",
    "execute_chatty_voice_tool",
    "get_api_version",
    "get_chatty_voice_ai_context",
    "get_csrf_token",
    "list_chatty_voice_tools",
    "plugin",
]
