"""Security functions for APIs whose handler package has none yet (every operation pending).

A request still needs credentials of the scheme's shape (so missing ones get 401), and
then reaches the operation's 501 handler. Replaced per API by ``handlers.<api>.security``.
"""

from __future__ import annotations

from typing import Any


def any_bearer(token: str) -> dict[str, Any] | None:
    """Accept any non-empty bearer token (pending operations only answer 501)."""
    return {"sub": None, "pending": True} if token else None


def any_basic(username: str, password: str) -> dict[str, Any] | None:  # noqa: ARG001
    """Accept any basic credentials with a user name (pending operations only answer 501)."""
    return {"sub": username, "pending": True} if username else None


def any_api_key(api_key: str, required_scopes: Any = None) -> dict[str, Any] | None:  # noqa: ARG001
    """Accept any non-empty API key (pending operations only answer 501)."""
    return {"sub": None, "pending": True} if api_key else None
