"""``python -m gateway``: serve on HOST:PORT (default 127.0.0.1:8081) with uvicorn."""

from __future__ import annotations

from typing import Any

import uvicorn

from core.settings import Settings, get_settings
from gateway.header_limit import protocol_for


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options this server runs with (tests start their live servers with them too):

    * ``http``: the httptools protocol answering 431 past ``MAX_HEADER_BYTES`` (gateway/header_limit.py);
    * ``ws_ping_interval``: WebSocket protocol-level pings (``WS_PING_INTERVAL`` seconds);
    * ``proxy_headers`` / ``forwarded_allow_ips``: ``X-Forwarded-For`` / ``X-Forwarded-Proto``
      replace the client address only on connections from ``FORWARDED_ALLOW_IPS`` (default: none).
      uvicorn's own default trusts 127.0.0.1, so on loopback any caller could pick its own client
      IP and escape per-IP limits.
    """
    trusted = [address.strip() for address in settings.forwarded_allow_ips.split(",") if address.strip()]
    return {
        "http": protocol_for(settings),
        "ws_ping_interval": settings.ws_ping_interval,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }


def main() -> None:
    settings = get_settings()
    uvicorn.run("gateway.app:create_app", factory=True, host=settings.host, port=settings.port,
                log_level=settings.log_level, **uvicorn_options(settings))


if __name__ == "__main__":
    main()
