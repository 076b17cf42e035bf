"""Virtual Banker's one success convention (seed 000, specs/virtual-banker).

Every JSON success is a generated ``*Response`` envelope ``{success: true, data, timestamp}``
(``timestamp`` = now, RFC 3339 to the second), built by the handler from its generated models:

- 200 answers return the model itself (``return SessionResponse(...)``);
- the three creations (createSession, createVoiceSession, registerVoiceWebhook) answer 201:
  ``return created(SessionResponse(...))``;
- non-JSON answers (raw audio, audio streams, SSE) are Starlette ``Response`` objects.

getHealth is the one JSON body outside the envelope (``HealthResponse``: status, services,
timestamp). ``@rate_limited`` adds the ``X-RateLimit-*`` headers to whichever form is returned.
"""

from __future__ import annotations

from datetime import datetime

from core.clock import utcnow
from generated.models.virtual_banker import BaseResponse
from handlers.results import Reply


def now() -> datetime:
    """The envelope ``timestamp``: the current UTC time, to the second."""
    return utcnow().replace(microsecond=0)


def created(envelope: BaseResponse) -> Reply:
    """``envelope`` as a ``201 Created`` answer (the contract's status for a creation)."""
    return Reply(envelope, 201)
