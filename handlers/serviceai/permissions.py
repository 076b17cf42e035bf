"""Per-tool permissions of Chatty Voice.

A user has a ``role`` (a preset of permissions) plus any number of extra granted
permissions; the effective set is their union. Every tool names the one permission it
needs (``navigate`` needs none beyond the ``chatty-voice`` entitlement). A call without the
permission answers 200 ``{success: false, code: "PERMISSION_DENIED", error}``.
"""

from __future__ import annotations

from typing import Any

PERMISSIONS: dict[str, str] = {
    "entities:read": "look up customers, jobs, sites and other records",
    "jobs:write": "move jobs between workflow stages",
    "tickets:read": "list tickets",
    "tickets:write": "create tickets",
    "notes:read": "list notes",
    "notes:write": "create notes",
    "knowledge:read": "search the knowledge base",
}

_VIEWER = ("entities:read", "tickets:read", "notes:read", "knowledge:read")
_MEMBER = _VIEWER + ("tickets:write", "notes:write")
_MANAGER = _MEMBER + ("jobs:write",)

ROLES: dict[str, tuple[str, ...]] = {
    "viewer": _VIEWER,
    "member": _MEMBER,
    "manager": _MANAGER,
    "admin": tuple(PERMISSIONS),
}
DEFAULT_ROLE = "member"


def effective_permissions(token_info: dict[str, Any]) -> frozenset[str]:
    """The caller's role preset plus its explicitly granted permissions (unknown role → none)."""
    return frozenset(ROLES.get(token_info.get("role") or "", ())) | frozenset(token_info.get("permissions") or ())
