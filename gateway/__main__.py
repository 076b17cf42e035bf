"""``python -m gateway``: serve on HOST:PORT (default 127.0.0.1:8081) with uvicorn.

``WORKERS=N`` starts N worker processes on the same port (uvicorn's supervisor: it restarts a
worker that dies and, on SIGINT/SIGTERM, stops them all, each finishing its in-flight requests
for up to ``GRACEFUL_SHUTDOWN_SECONDS``). Every worker runs the start-up work; what must happen
once (migrations, catalog seeding, generated secrets) is made safe for concurrent starts where
it is done (:meth:`adapters.storage.database.Database.migrate`, ``core.settings``).
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from core.settings import Settings, get_settings
from gateway.header_limit import protocol_for

#: The 431-answering protocol configured from the environment in each worker process (an import
#: string: worker processes are spawned, and a class made at run time cannot be sent to them).
PROTOCOL_FROM_ENVIRONMENT = "gateway.header_limit:EnvironmentProtocol"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options this server runs with (tests start their live servers with them too):

    * ``http``: the httptools protocol answering 431 past ``MAX_HEADER_BYTES`` (gateway/header_limit.py);
    * ``ws_ping_interval``: WebSocket protocol-level pings (``WS_PING_INTERVAL`` seconds);
    * ``proxy_headers`` / ``forwarded_allow_ips``: ``X-Forwarded-For`` / ``X-Forwarded-Proto``
      replace the client address only on connections from ``FORWARDED_ALLOW_IPS`` (default: none).
      uvicorn's own default trusts 127.0.0.1, so on loopback any caller could pick its own client
      IP and escape per-IP limits.
    * ``access_log``: uvicorn's per-request log (``ACCESS_LOG``, off: it is on the hot path).
    """
    trusted = [address.strip() for address in settings.forwarded_allow_ips.split(",") if address.strip()]
    return {
        "http": protocol_for(settings),
        "ws_ping_interval": settings.ws_ping_interval,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "access_log": settings.access_log,
    }


def check_process_model(settings: Settings) -> str | None:
    """Why ``settings`` cannot run as configured, or None.

    Several workers need Redis: the APIs' rate-limit budgets (per caller, per client IP, login
    throttles) are counted in Redis so that they hold across processes; in process memory each
    worker would grant the whole budget again.
    """
    if settings.workers > 1 and not settings.redis_url:
        return (f"WORKERS={settings.workers} needs REDIS_URL: rate limits must be counted in one place "
                "shared by every worker process (see docs/deploy.md)")
    return None


def main() -> None:
    """Run the server until SIGINT/SIGTERM; exit status 2 for a configuration that cannot work."""
    settings = get_settings()
    problem = check_process_model(settings)
    if problem:
        print(f"gateway: {problem}", file=sys.stderr)
        raise SystemExit(2)
    options = {**uvicorn_options(settings), "http": PROTOCOL_FROM_ENVIRONMENT}
    uvicorn.run("gateway.app:create_app", factory=True, host=settings.host, port=settings.port,
                log_level=settings.log_level, workers=settings.workers,
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds, **options)


if __name__ == "__main__":
    main()
