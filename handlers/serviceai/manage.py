"""ServiceAi operator commands: ``python -m handlers.serviceai.manage <command>``.

- ``token --user U [--org O] [--entitlement chatty-voice] [--role R] [--permission P] [--label L] [--ttl-days N]``
  prints a new bearer token for U (only the token, for ``TOKEN=$(…)``). The user is created when
  missing (``--org`` is then required); ``--entitlement``/``--permission`` are ADDED to the user's,
  ``--role`` replaces it. Entitlements and permissions belong to the user, not the token.
- ``user --user U --org O [--name N] [--role R] [--entitlement E …] [--permission P …] [--disable|--enable]``
  creates or updates a user; given ``--entitlement``/``--permission`` lists REPLACE the stored ones
  (``--entitlement ''`` clears them).
- ``tokens --user U`` lists U's tokens (ids, labels, expiry, revocation; never the tokens).
- ``revoke TOKEN_ID`` revokes one token at once.
- ``import --org O FILE.json`` loads ``{"entities": [...], "knowledgeBase": [...], "workflowStages": [...]}``:
  entities ``{id?, type, name, reference?, stage?, attributes?}`` (same id → replaced), articles
  ``{id?, title, body, tags?}``, stages ``[{key, name, description?}]`` in order (replace the workflow).

Roles: viewer, member (default), manager, admin (see handlers/serviceai/permissions.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.clock import isoformat, utcnow
from handlers.cli import api_bundle
from handlers.serviceai.bundle import API, ServiceaiBundle, build
from handlers.serviceai.permissions import PERMISSIONS, ROLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handlers.serviceai.manage",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="mint a bearer token (creates the user when missing)")
    token.add_argument("--user", required=True)
    token.add_argument("--org", help="organisation (required when the user does not exist yet)")
    token.add_argument("--name", help="display name")
    token.add_argument("--role", choices=sorted(ROLES))
    token.add_argument("--entitlement", action="append", default=[], help="add an entitlement, e.g. chatty-voice")
    token.add_argument("--permission", action="append", default=[], choices=sorted(PERMISSIONS))
    token.add_argument("--label", help="what the token is for")
    token.add_argument("--ttl-days", type=float, help="expire after this many days (default: never)")

    user = sub.add_parser("user", help="create or update a user")
    user.add_argument("--user", required=True)
    user.add_argument("--org", required=True)
    user.add_argument("--name")
    user.add_argument("--role", choices=sorted(ROLES))
    user.add_argument("--entitlement", action="append", help="replace the entitlements ('' clears them)")
    user.add_argument("--permission", action="append", help="replace the extra permissions ('' clears them)")
    state = user.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true")
    state.add_argument("--enable", action="store_true")

    tokens = sub.add_parser("tokens", help="list a user's tokens")
    tokens.add_argument("--user", required=True)

    revoke = sub.add_parser("revoke", help="revoke one token by id")
    revoke.add_argument("token_id")

    load = sub.add_parser("import", help="load entities, knowledge base and workflow stages from JSON")
    load.add_argument("--org", required=True)
    load.add_argument("file", type=Path)
    return parser


def _clean(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [v for v in values if v]


async def _token(b: ServiceaiBundle, args: argparse.Namespace) -> str:
    now = utcnow()
    existing = await b.users.get_user(args.user)
    if existing is None and not args.org:
        raise SystemExit(f"user {args.user!r} does not exist: give --org to create it")
    org: str = args.org or (existing.organization_id if existing else "")
    await b.users.upsert_user(
        user_id=args.user, organization_id=org, now=now, display_name=args.name, role=args.role,
        entitlements=sorted(set(existing.entitlements if existing else ()) | set(_clean(args.entitlement) or [])),
        permissions=sorted(set(existing.permissions if existing else ()) | set(args.permission)),
    )
    expires = now + timedelta(days=args.ttl_days) if args.ttl_days else None
    token, _ = await b.users.mint_token(args.user, now, label=args.label, expires_at=expires)
    return token


async def _user(b: ServiceaiBundle, args: argparse.Namespace) -> str:
    for permission in _clean(args.permission) or []:
        if permission not in PERMISSIONS:
            raise SystemExit(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
    record = await b.users.upsert_user(
        user_id=args.user, organization_id=args.org, now=utcnow(), display_name=args.name, role=args.role,
        entitlements=_clean(args.entitlement), permissions=_clean(args.permission),
        disabled=True if args.disable else False if args.enable else None)
    return json.dumps({"user": record.user_id, "organization": record.organization_id, "role": record.role,
                       "entitlements": list(record.entitlements), "permissions": list(record.permissions),
                       "disabled": record.disabled})


async def _tokens(b: ServiceaiBundle, args: argparse.Namespace) -> str:
    rows = await b.users.list_tokens(args.user)
    return "\n".join(json.dumps({"id": t.token_id, "label": t.label, "created": isoformat(t.created_at),
                                 "expires": isoformat(t.expires_at) if t.expires_at else None,
                                 "revoked": isoformat(t.revoked_at) if t.revoked_at else None,
                                 "lastUsed": isoformat(t.last_used_at) if t.last_used_at else None})
                     for t in rows) or "(no tokens)"


async def _revoke(b: ServiceaiBundle, args: argparse.Namespace) -> str:
    if not await b.users.revoke_token(args.token_id, utcnow()):
        raise SystemExit(f"no live token {args.token_id!r}")
    return f"token {args.token_id} revoked"


async def import_data(b: ServiceaiBundle, org: str, data: dict[str, Any]) -> dict[str, int]:
    """Load entities, knowledge-base articles and workflow stages of ``org`` (see the module
    docstring for the shapes). Returns how many of each were stored."""
    now = utcnow()
    counts = {"entities": 0, "knowledgeBase": 0, "workflowStages": 0}
    if data.get("workflowStages") is not None:
        counts["workflowStages"] = len(await b.records.replace_stages(org, list(data["workflowStages"])))
    for item in data.get("entities") or []:
        await b.records.upsert_entity(organization_id=org, entity_id=item.get("id"),
                                      entity_type=str(item["type"]).lower(), name=str(item["name"]),
                                      reference=item.get("reference"), stage=item.get("stage"),
                                      attributes=item.get("attributes") or {}, now=now)
        counts["entities"] += 1
    for item in data.get("knowledgeBase") or []:
        await b.records.upsert_article(organization_id=org, article_id=item.get("id"), title=str(item["title"]),
                                       body=str(item["body"]), tags=list(item.get("tags") or []), now=now)
        counts["knowledgeBase"] += 1
    return counts


async def _import(b: ServiceaiBundle, args: argparse.Namespace) -> str:
    data = json.loads(args.file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit("the file must hold a JSON object")
    return json.dumps(await import_data(b, args.org, data))


COMMANDS = {"token": _token, "user": _user, "tokens": _tokens, "revoke": _revoke, "import": _import}


def main(argv: list[str] | None = None) -> int:
    """Run one command (see the module docstring) on this server's database; 0 on success, 1
    with ``error: …`` on stderr when the command fails (unknown user, foreign id, bad stage list)."""
    args = _parser().parse_args(argv)
    with api_bundle(API, build) as bundle:
        try:
            print(asyncio.run(COMMANDS[args.command](bundle, args)))
        except (LookupError, PermissionError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
