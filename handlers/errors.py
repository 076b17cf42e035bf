"""The one exception handlers raise for a contract-documented error.

The gateway turns an :class:`ApiError` into the calling API's own error envelope
(Virtual Banker ``ErrorResponse``, Virstack ``ErrorResponse``, ServiceAi
``ErrorEnvelope``, Vertebro ``{detail}``), so handlers never build envelopes.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error response: HTTP ``status``, machine-readable ``code``, human ``message``.

    ``details`` is optional structured data; ``headers`` are added to the response.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
