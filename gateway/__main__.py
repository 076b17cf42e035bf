"""``python -m gateway``: serve on HOST:PORT (default 127.0.0.1:8081) with uvicorn."""

from __future__ import annotations

import uvicorn

from core.settings import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "gateway.app:create_app", factory=True, host=settings.host, port=settings.port, log_level=settings.log_level,
        access_log=settings.access_log,
        ws_ping_interval=settings.ws_ping_interval,  # WebSocket protocol-level pings (WS_PING_INTERVAL)
    )


if __name__ == "__main__":
    main()
