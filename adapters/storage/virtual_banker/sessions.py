"""Virtual Banker sessions and tenant configuration: persistence only, no HTTP, no policy."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from adapters.storage.database import Database, TtlCache
from adapters.storage.virtual_banker.tables import VbSession, VbTenant
from core.mapping import json_copy


def token_hash(token: str) -> str:
    """SHA-256 hex digest of an opaque high-entropy token (what is stored instead of the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionRecord:
    """A stored session, detached from the ORM."""

    session_id: str
    tenant_id: str
    user_id: str
    portal_context: dict[str, Any] | None
    config: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        """True when neither ended nor expired at ``now``."""
        return self.ended_at is None and self.expires_at > now


def _record(row: VbSession) -> SessionRecord:
    return SessionRecord(
        row.session_id,
        row.tenant_id,
        row.user_id,
        copy.deepcopy(row.portal_context),
        copy.deepcopy(row.config),
        row.created_at,
        row.expires_at,
        row.ended_at,
    )


_SESSIONS = VbSession.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table classes
_SESSION_BY_ID = select(_SESSIONS).where(_SESSIONS.c.session_id == bindparam("session_id"))


def _record_of_row(row: Any) -> SessionRecord:
    return SessionRecord(row.session_id, row.tenant_id, row.user_id, row.portal_context, row.config, row.created_at,
                         row.expires_at, row.ended_at)


class VbSessionStore:
    """Sessions keyed by id and by token hash; every read is filtered by liveness at ``now``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        session_id: str,
        tenant_id: str,
        user_id: str,
        token: str,
        portal_context: dict[str, Any] | None,
        config: dict[str, Any],
        created_at: datetime,
        expires_at: datetime,
    ) -> SessionRecord:
        """Insert a session; the token is stored hashed. Returns the stored record."""

        def work(s: Session) -> SessionRecord:
            row = VbSession(
                session_id=session_id,
                tenant_id=tenant_id,
                user_id=user_id,
                token_hash=token_hash(token),
                portal_context=portal_context,
                config=config,
                created_at=created_at,
                expires_at=expires_at,
            )
            s.add(row)
            s.flush()
            return _record(row)

        return await self.db.write(work)

    async def get_live(self, session_id: str, now: datetime) -> SessionRecord | None:
        """The session if it exists and is live at ``now``, else None."""

        def work(s: Session) -> SessionRecord | None:
            # read on every authenticated request: a Core select (no ORM identity map, unit of
            # work or instance state) costs a fraction of Session.get
            row = s.connection().execute(_SESSION_BY_ID, {"session_id": session_id}).first()
            record = _record_of_row(row) if row else None
            return record if record and record.is_live(now) else None

        return await self.db.read(work)

    async def find_live_by_token(self, token: str, now: datetime) -> SessionRecord | None:
        """The live session whose current ephemeral token is ``token``, else None."""

        def work(s: Session) -> SessionRecord | None:
            row = s.exec(orm_select(VbSession).where(VbSession.token_hash == token_hash(token))).first()
            record = _record(row) if row else None
            return record if record and record.is_live(now) else None

        return await self.db.read(work)

    async def list_live(self, tenant_id: str, user_id: str, now: datetime) -> list[SessionRecord]:
        """Live sessions of one tenant's user, oldest first."""

        def work(s: Session) -> list[SessionRecord]:
            rows = s.exec(
                orm_select(VbSession)
                .where(VbSession.tenant_id == tenant_id, VbSession.user_id == user_id)
                .where(col(VbSession.ended_at).is_(None), col(VbSession.expires_at) > now)
                .order_by(col(VbSession.created_at), col(VbSession.session_id))
            ).all()
            return [_record(r) for r in rows]

        return await self.db.run(work)

    async def end(self, session_id: str, now: datetime) -> SessionRecord | None:
        """Mark a live session ended at ``now``; None when it was not live."""

        def work(s: Session) -> SessionRecord | None:
            row = s.get(VbSession, session_id, with_for_update=True)
            if row is None or not _record(row).is_live(now):
                return None
            row.ended_at = now
            s.add(row)
            s.flush()
            return _record(row)

        return await self.db.run(work)

    async def rotate_token(self, session_id: str, new_token: str, expires_at: datetime,
                           now: datetime) -> SessionRecord | None:
        """Replace the token hash of a live session and set its ``expires_at`` (the old token
        stops working at once). Returns the updated record; None when it was not live at ``now``."""

        def work(s: Session) -> SessionRecord | None:
            row = s.get(VbSession, session_id, with_for_update=True)
            if row is None or not _record(row).is_live(now):
                return None
            row.token_hash = token_hash(new_token)
            row.expires_at = expires_at
            s.add(row)
            s.flush()
            return _record(row)

        return await self.db.run(work)


#: Seconds a tenant's overrides are served from memory; changes made by another process (the
#: ``manage tenant-config`` command) apply within this time, this process's own at once.
TENANT_CACHE_SECONDS = 1.0


class VbTenantStore:
    """Per-tenant configuration overrides (read on every request: cached for
    :data:`TENANT_CACHE_SECONDS`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: TtlCache[str, dict[str, Any]] = TtlCache(TENANT_CACHE_SECONDS)

    async def get_overrides(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's stored overrides, ``{}`` when none (a copy: callers may change it)."""
        cached = self._cache.get(tenant_id)
        if cached is None:

            def work(s: Session) -> dict[str, Any]:
                row = s.get(VbTenant, tenant_id)
                return copy.deepcopy(row.config) if row else {}

            cached = await self.db.read(work)
            self._cache.put(tenant_id, cached)
        return json_copy(cached)

    async def set_overrides(self, tenant_id: str, config: dict[str, Any], now: datetime) -> None:
        """Replace the tenant's overrides."""

        def work(s: Session) -> None:
            row = s.get(VbTenant, tenant_id)
            if row is None:
                row = VbTenant(tenant_id=tenant_id, config=config, updated_at=now)
            else:
                row.config = config
                row.updated_at = now
            s.add(row)

        self._cache.invalidate(tenant_id)
        await self.db.run(work)
        self._cache.invalidate(tenant_id)
