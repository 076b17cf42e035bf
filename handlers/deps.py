"""The adapters handlers use, built once by the gateway at start-up and installed here."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.ratelimit import RateLimiter
from adapters.storage.database import Database
from adapters.storage.vb_sessions import VbSessionStore, VbTenantStore
from core.settings import Settings


@dataclass
class Services:
    """Everything a handler may call: settings and adapter instances."""

    settings: Settings
    db: Database
    vb_sessions: VbSessionStore
    vb_tenants: VbTenantStore
    limiter: RateLimiter

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Create the adapters for ``settings`` (no I/O beyond opening the database engine)."""
        db = Database(settings.database_url)
        return cls(
            settings=settings,
            db=db,
            vb_sessions=VbSessionStore(db),
            vb_tenants=VbTenantStore(db),
            limiter=RateLimiter(settings.redis_url),
        )

    def close(self) -> None:
        self.db.dispose()


_current: Services | None = None


def install(services: Services | None) -> None:
    """Make ``services`` the ones handlers see (the gateway calls this at start-up)."""
    global _current
    _current = services


def services() -> Services:
    """The installed services. Raises RuntimeError before the gateway installed them."""
    if _current is None:
        raise RuntimeError("handlers.deps.install() has not been called")
    return _current
