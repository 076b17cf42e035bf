"""Per-tenant session configuration: documented defaults (seed 001's example) plus stored overrides."""

from __future__ import annotations

from typing import Any

from core.mapping import deep_merge
from core.settings import Settings


def default_config(settings: Settings) -> dict[str, Any]:
    """The configuration every tenant starts with (seed 001 "Create Session" response example).

    ``policy.max_session_duration_minutes`` and ``policy.rate_limit_per_minute`` come from
    ``VB_SESSION_DURATION_MINUTES`` (30) and ``VB_DEFAULT_RATE_LIMIT_PER_MINUTE`` (10).
    """
    return {
        "theme": {"primaryColor": "#0066cc"},
        "avatar_enabled": True,
        "greeting": "Hello! How can I help you today?",
        "allowed_tools": ["get_account_status", "create_ticket"],
        "policy": {
            "max_session_duration_minutes": settings.vb_session_duration_minutes,
            "rate_limit_per_minute": settings.vb_default_rate_limit_per_minute,
            "require_consent": True,
        },
    }


async def tenant_config(tenant_id: str) -> dict[str, Any]:
    """The effective configuration of ``tenant_id`` (defaults + its stored overrides)."""
    from handlers.virtual_banker.bundle import bundle

    s = bundle()
    return deep_merge(default_config(s.settings), await s.tenants.get_overrides(tenant_id))
