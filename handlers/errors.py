"""The one exception handlers raise for a contract-documented error.

The gateway turns an :class:`ApiError` into the calling API's own error envelope
(Virtual Banker ``ErrorResponse``, Virstack ``ErrorResponse``, ServiceAi
``ErrorEnvelope``, Vertebro ``{detail}``), so handlers never build envelopes.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error response: HTTP ``status``, machine-readable ``code``, human ``message``.

    ``details`` is optional structured data (any JSON value; the API's envelope decides what
    of it to show); ``headers`` are added to the response.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def parse_request(model, data: Any):
    """Validate a request body with a generated pydantic model.

    connexion validates the JSON Schema but not every ``format`` (e.g. ``uri``); the model
    does. A failure here is the client's: 400 ``VALIDATION_ERROR`` (the gateway renders it in
    the API's envelope and status), never a 500.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ApiError(400, "VALIDATION_ERROR", f"{where}: {first.get('msg')}",
                       details={"errors": [{"loc": list(e.get("loc", ())), "msg": e.get("msg")}
                                           for e in exc.errors()[:10]]}) from None
