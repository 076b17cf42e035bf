"""ServiceAi version handshake: getApiVersion."""

from __future__ import annotations

from handlers.serviceai.versioning import UPGRADE_HINT_HEADER, api_version, min_client_version, request_handshake


async def get_api_version():
    """``GET /api/version`` (getApiVersion, no authentication) → 200 ``{apiVersion,
    minClientVersion}``: the contract version this server implements (1.1.24) and the
    ``SERVICEAI_MIN_CLIENT_VERSION`` setting.

    Never 426: any client older than minClientVersion (whatever its major) gets
    ``X-Upgrade-Available: <minClientVersion>`` and can compare the body itself. 400 when
    ``X-Client-Version`` is not a semver.
    """
    outcome = request_handshake()
    headers = outcome.headers
    if outcome.refusal is not None:  # reported, not refused: the hint names the version to get
        headers = {UPGRADE_HINT_HEADER: min_client_version()}
    return {"apiVersion": api_version(), "minClientVersion": min_client_version()}, 200, headers
