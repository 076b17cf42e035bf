"""``python -m gateway``: serve on HOST:PORT (default 127.0.0.1:8081) with uvicorn."""

from __future__ import annotations

import uvicorn

from core.settings import get_settings
from gateway.header_limit import protocol_for


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "gateway.app:create_app", factory=True, host=settings.host, port=settings.port, log_level=settings.log_level,
        ws_ping_interval=settings.ws_ping_interval,  # WebSocket protocol-level pings (WS_PING_INTERVAL)
        http=protocol_for(settings),  # 431 past MAX_HEADER_BYTES, decided while the head arrives
    )


if __name__ == "__main__":
    main()
