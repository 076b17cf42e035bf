"""ServiceAi version handshake: getApiVersion."""

from __future__ import annotations

from generated.models.serviceai import ApiVersion
from handlers.results import Reply
from handlers.serviceai.versioning import (
    UPGRADE_HINT_HEADER,
    api_version,
    min_client_version,
    request_handshake,
    with_hint,
)


async def get_api_version() -> ApiVersion | Reply:
    """``GET /api/version`` (getApiVersion, no authentication) → 200 :class:`ApiVersion`
    ``{apiVersion, minClientVersion}``: the contract version this server implements (1.1.24) and
    the ``SERVICEAI_MIN_CLIENT_VERSION`` setting.

    Never 426: any client older than minClientVersion (whatever its major) gets
    ``X-Upgrade-Available: <minClientVersion>`` (then the answer is a ``Reply`` carrying it) and
    can compare the body itself. 400 when ``X-Client-Version`` is not a semver.
    """
    outcome = request_handshake()
    headers = outcome.headers
    if outcome.refusal is not None:  # reported, not refused: the hint names the version to get
        headers = {UPGRADE_HINT_HEADER: min_client_version()}
    return with_hint(ApiVersion(apiVersion=api_version(), minClientVersion=min_client_version()), headers)
