"""ServiceAi Chatty Voice API handlers (specs/serviceai): one function per operationId."""

from handlers.serviceai.context import get_chatty_voice_ai_context
from handlers.serviceai.meta import get_api_version
from handlers.serviceai.realtime import consume_csrf_token, create_realtime_token, get_csrf_token
from handlers.serviceai.tools import execute_chatty_voice_tool, list_chatty_voice_tools
from handlers.serviceai.webrtc import exchange_realtime_webrtc_sdp


async def on_shutdown(services) -> None:
    """Close the realtime backend's HTTP client (re-created on the next mint)."""
    bundle = services.extensions.get("serviceai")
    if bundle is not None and bundle.realtime is not None:
        await bundle.realtime.aclose()


__all__ = [
    "consume_csrf_token",
    "create_realtime_token",
    "exchange_realtime_webrtc_sdp",
    "execute_chatty_voice_tool",
    "get_api_version",
    "get_chatty_voice_ai_context",
    "get_csrf_token",
    "list_chatty_voice_tools",
    "on_shutdown",
]
