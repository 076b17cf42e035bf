"""ServiceAi users, their opaque bearer tokens and single-use CSRF tokens: persistence only.

Tokens are high-entropy random strings; only their SHA-256 hex digest is stored, so a
database leak does not reveal usable credentials. Times are aware UTC datetimes. Every store
method raises ``StorageUnavailable`` (adapters/storage/database.py) when the database fails.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.serviceai.tables import ServiceaiApiToken, ServiceaiCsrfToken, ServiceaiUser

API_TOKEN_PREFIX = "sai_"


def token_hash(token: str) -> str:
    """SHA-256 hex digest of an opaque token (what is stored instead of the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UserRecord:
    """A stored user, detached from the ORM."""

    user_id: str
    organization_id: str
    display_name: str | None
    role: str
    entitlements: tuple[str, ...]
    permissions: tuple[str, ...]
    disabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TokenRecord:
    """A stored API token (never the token itself)."""

    token_id: str
    user_id: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now`` (aware UTC)."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _user(row: ServiceaiUser) -> UserRecord:
    return UserRecord(row.user_id, row.organization_id, row.display_name, row.role, tuple(row.entitlements),
                      tuple(row.permissions), row.disabled, row.created_at, row.updated_at)


def _token(row: ServiceaiApiToken) -> TokenRecord:
    return TokenRecord(row.token_id, row.user_id, row.label, row.created_at, row.expires_at, row.revoked_at,
                       row.last_used_at)


class ServiceaiUserStore:
    """Users and their API tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert_user(
        self,
        *,
        user_id: str,
        organization_id: str,
        now: datetime,
        display_name: str | None = None,
        role: str | None = None,
        entitlements: list[str] | None = None,
        permissions: list[str] | None = None,
        disabled: bool | None = None,
    ) -> UserRecord:
        """Create ``user_id`` or update it; ``None`` arguments keep the stored value (on creation:
        role ``member``, no entitlements, no permissions, enabled)."""

        def work(s: Session) -> UserRecord:
            row = s.get(ServiceaiUser, user_id, with_for_update=True)
            if row is None:
                row = ServiceaiUser(user_id=user_id, organization_id=organization_id, created_at=now, updated_at=now)
            row.organization_id = organization_id
            if display_name is not None:
                row.display_name = display_name
            if role is not None:
                row.role = role
            if entitlements is not None:
                row.entitlements = sorted(set(entitlements))
            if permissions is not None:
                row.permissions = sorted(set(permissions))
            if disabled is not None:
                row.disabled = disabled
            row.updated_at = now
            s.add(row)
            s.flush()
            return _user(row)

        return await self.db.run(work)

    async def get_user(self, user_id: str) -> UserRecord | None:
        """The stored user, or None."""
        def work(s: Session) -> UserRecord | None:
            row = s.get(ServiceaiUser, user_id)
            return _user(row) if row else None

        return await self.db.run(work)

    async def mint_token(self, user_id: str, now: datetime, *, label: str | None = None,
                         expires_at: datetime | None = None) -> tuple[str, TokenRecord]:
        """A new bearer token for an existing user: ``(token, record)``. The token is returned
        once and stored only hashed. Raises LookupError when the user does not exist."""
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)

        def work(s: Session) -> TokenRecord:
            if s.get(ServiceaiUser, user_id) is None:
                raise LookupError(f"no ServiceAi user {user_id!r}")
            row = ServiceaiApiToken(token_id=f"tok_{secrets.token_hex(8)}", token_hash=token_hash(token),
                                    user_id=user_id, label=label, created_at=now, expires_at=expires_at)
            s.add(row)
            s.flush()
            return _token(row)

        return token, await self.db.run(work)

    async def authenticate(self, token: str, now: datetime) -> tuple[UserRecord, TokenRecord] | None:
        """The enabled user and live token behind ``token``, else None. Records the use time
        (at most once a minute per token, to keep reads cheap)."""

        def work(s: Session) -> tuple[UserRecord, TokenRecord] | None:
            row = s.exec(select(ServiceaiApiToken).where(ServiceaiApiToken.token_hash == token_hash(token))).first()
            if row is None or not _token(row).is_live(now):
                return None
            user = s.get(ServiceaiUser, row.user_id)
            if user is None or user.disabled:
                return None
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                row.last_used_at = now
                s.add(row)
            return _user(user), _token(row)

        return await self.db.run(work)

    async def list_tokens(self, user_id: str) -> list[TokenRecord]:
        """Every token of ``user_id`` (live, expired and revoked), oldest first."""
        def work(s: Session) -> list[TokenRecord]:
            rows = s.exec(select(ServiceaiApiToken).where(ServiceaiApiToken.user_id == user_id)
                          .order_by(col(ServiceaiApiToken.created_at))).all()
            return [_token(r) for r in rows]

        return await self.db.run(work)

    async def revoke_token(self, token_id: str, now: datetime) -> bool:
        """Revoke one token by id; False when unknown or already revoked."""

        def work(s: Session) -> bool:
            row = s.get(ServiceaiApiToken, token_id, with_for_update=True)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = now
            s.add(row)
            return True

        return await self.db.run(work)


class ServiceaiCsrfStore:
    """CSRF tokens: bound to a user, short-lived, consumed at most once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def mint(self, user_id: str, now: datetime, ttl: timedelta) -> tuple[str, datetime]:
        """A new token for ``user_id`` valid until ``now + ttl``: ``(token, expires_at)``.
        Expired tokens of every user are purged in the same transaction."""
        token = secrets.token_urlsafe(32)
        expires_at = now + ttl

        def work(s: Session) -> None:
            s.exec(delete(ServiceaiCsrfToken).where(col(ServiceaiCsrfToken.expires_at) <= now))
            s.add(ServiceaiCsrfToken(token_hash=token_hash(token), user_id=user_id, created_at=now,
                                     expires_at=expires_at))

        await self.db.run(work)
        return token, expires_at

    async def consume(self, user_id: str, token: str, now: datetime) -> bool:
        """True exactly once for a token minted for ``user_id`` and not yet expired at ``now``;
        False for unknown, foreign, expired or already used tokens. Atomic: of two concurrent
        calls with the same token at most one succeeds."""

        def work(s: Session) -> bool:
            result = s.exec(
                update(ServiceaiCsrfToken)
                .where(col(ServiceaiCsrfToken.token_hash) == token_hash(token))
                .where(col(ServiceaiCsrfToken.user_id) == user_id)
                .where(col(ServiceaiCsrfToken.used_at).is_(None))
                .where(col(ServiceaiCsrfToken.expires_at) > now)
                .values(used_at=now)
            )
            return result.rowcount == 1

        return await self.db.run(work)

    async def count_live(self, user_id: str, now: datetime) -> int:
        """Unused, unexpired tokens of ``user_id`` (for tests and operators)."""

        def work(s: Session) -> int:
            rows = s.exec(select(ServiceaiCsrfToken).where(ServiceaiCsrfToken.user_id == user_id)
                          .where(col(ServiceaiCsrfToken.used_at).is_(None))
                          .where(ServiceaiCsrfToken.expires_at > now)).all()
            return len(rows)

        return await self.db.run(work)
