"""Virtual Banker operator commands: ``python -m handlers.virtual_banker.manage token|tenant-config``.

- ``token --tenant T --user U [--ttl SECONDS]`` prints a Virtual Banker JWT signed with
  ``VIRTUAL_BANKER_JWT_SECRET`` (use it as ``Authorization: Bearer …`` and as ``auth_assertion``).
- ``tenant-config T '<json>'`` stores a tenant's configuration overrides (merged over the
  defaults), e.g. ``'{"policy": {"rate_limit_per_minute": 100}}'``.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from core.clock import utcnow
from core.settings import get_settings
from handlers.cli import api_bundle
from handlers.virtual_banker.bundle import API, build
from handlers.virtual_banker.security import mint_jwt


def main(argv: list[str] | None = None) -> int:
    """Run one operator command (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m handlers.virtual_banker.manage",
                                     description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="mint a development Virtual Banker JWT")
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    tenant = sub.add_parser("tenant-config", help="store a Virtual Banker tenant's configuration overrides")
    tenant.add_argument("tenant")
    tenant.add_argument("config", help="JSON object merged over the default configuration")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "token":
        print(mint_jwt(args.tenant, args.user, settings.virtual_banker_jwt_secret, args.ttl))
        return 0
    overrides = json.loads(args.config)
    if not isinstance(overrides, dict):
        parser.error("config must be a JSON object")
    with api_bundle(API, build) as bank:
        asyncio.run(bank.tenants.set_overrides(args.tenant, overrides, utcnow()))
    print(f"tenant {args.tenant}: overrides stored")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
