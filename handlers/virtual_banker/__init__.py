"""Virtual Banker API handlers (specs/virtual-banker): one function per operationId."""

from handlers.virtual_banker.health import get_health
from handlers.virtual_banker.sessions import (
    create_session,
    end_session,
    end_session_post,
    get_session,
    list_sessions,
    refresh_token,
)

__all__ = ["create_session", "end_session", "end_session_post", "get_health", "get_session", "list_sessions",
           "refresh_token"]
