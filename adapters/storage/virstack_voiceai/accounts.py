"""Virstack organizations, users, API keys and revoked login tokens: persistence only.

Passwords are hashed with argon2id (``argon2-cffi``, its default parameters); API keys are
stored as the SHA-256 of the key (a 128-bit random secret, so a fast hash is enough); emails
are unique case-insensitively (stored lower-cased).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.virstack_voiceai.tables import VsApiKey, VsMeta, VsOrganization, VsRevokedToken, VsUser
from core.passwords import DUMMY_HASH

_hasher = PasswordHasher()
OPERATOR_ORG_KEY = "operator_org_id"
API_KEY_PREFIX = "vk-"


class EmailTaken(Exception):
    """The email (compared case-insensitively) already belongs to a user."""


@dataclass(frozen=True)
class OrganizationRecord:
    """An organization: id, name, its unique LiveKit agent worker name, creation time (UTC)."""

    org_id: str
    name: str
    agent_server_name: str
    created_at: datetime


@dataclass(frozen=True)
class UserRecord:
    """A user of an organization (email lower-cased, role admin|member); never the password hash."""

    user_id: str
    org_id: str
    email: str
    first_name: str
    last_name: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key's metadata: who created it, with which role, its label; never the key itself."""

    key_id: str
    org_id: str
    user_id: str
    role: str
    name: str | None
    created_at: datetime


def _org(row: VsOrganization) -> OrganizationRecord:
    return OrganizationRecord(row.org_id, row.name, row.agent_server_name, row.created_at)


def _user(row: VsUser) -> UserRecord:
    return UserRecord(row.user_id, row.org_id, row.email, row.first_name, row.last_name, row.role, row.created_at)


_KEYS = VsApiKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table classes
_KEY_BY_HASH = sa_select(_KEYS).where(_KEYS.c.key_hash == bindparam("key_hash"))


def _key(row: VsApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(row.key_id, row.org_id, row.user_id, row.role, row.name, row.created_at)


def normalize_email(email: str) -> str:
    """``email`` trimmed and lower-cased: the form emails are stored and compared in."""
    return email.strip().lower()


def api_key_hash(key: str) -> str:
    """The SHA-256 hex digest of a raw API key (the only form stored)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """``vk-`` + 32 random hex digits (128 bits)."""
    return API_KEY_PREFIX + secrets.token_hex(16)


def new_agent_server_name() -> str:
    """``agent-server-`` + 16 random lowercase alphanumerics (the org's LiveKit agent worker name)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "agent-server-" + "".join(secrets.choice(alphabet) for _ in range(16))


async def hash_password(password: str) -> str:
    """argon2id hash (runs in a worker thread: hashing is deliberately slow)."""
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the argon2id ``password_hash`` (checked in a worker thread)."""
    def check() -> bool:
        """The argon2 verification itself (blocking)."""
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


# A valid hash of a password nobody knows: login of an unknown email still costs one
# verification, so response time does not tell which emails exist.
_DUMMY_HASH = DUMMY_HASH


class AccountStore:
    """Organizations, users, API keys and the JWT denylist."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- organizations and users

    async def register(self, *, organization_name: str, first_name: str, last_name: str, email: str,
                       password: str, now: datetime) -> tuple[OrganizationRecord, UserRecord]:
        """Create an organization and its admin user. Raises :class:`EmailTaken`.

        The first organization registered on an install is recorded as the operator
        organization (its admins may edit the global provider catalog).
        """
        password_hash = await hash_password(password)
        email = normalize_email(email)

        def work(s: Session) -> tuple[OrganizationRecord, UserRecord]:
            if s.exec(select(VsUser).where(VsUser.email == email)).first() is not None:
                raise EmailTaken(email)
            org = VsOrganization(org_id=str(uuid.uuid4()), name=organization_name,
                                 agent_server_name=new_agent_server_name(), created_at=now)
            s.add(org)
            s.flush()
            user = VsUser(user_id=str(uuid.uuid4()), org_id=org.org_id, email=email, first_name=first_name,
                          last_name=last_name, password_hash=password_hash, role="admin", created_at=now)
            s.add(user)
            if s.get(VsMeta, OPERATOR_ORG_KEY) is None:
                s.add(VsMeta(key=OPERATOR_ORG_KEY, value=org.org_id))
            s.flush()
            return _org(org), _user(user)

        try:
            return await self.db.run(work)
        except IntegrityError:
            raise EmailTaken(email) from None

    async def add_member(self, *, org_id: str, first_name: str, last_name: str, email: str, password: str,
                         role: str, now: datetime) -> UserRecord:
        """Create a user in ``org_id``. Raises :class:`EmailTaken`."""
        password_hash = await hash_password(password)
        email = normalize_email(email)

        def work(s: Session) -> UserRecord:
            if s.exec(select(VsUser).where(VsUser.email == email)).first() is not None:
                raise EmailTaken(email)
            user = VsUser(user_id=str(uuid.uuid4()), org_id=org_id, email=email, first_name=first_name,
                          last_name=last_name, password_hash=password_hash, role=role, created_at=now)
            s.add(user)
            s.flush()
            return _user(user)

        try:
            return await self.db.run(work)
        except IntegrityError:
            raise EmailTaken(email) from None

    async def authenticate(self, email: str, password: str) -> UserRecord | None:
        """The user whose email and password match, else None (constant work either way)."""
        email = normalize_email(email)
        row = await self.db.run(lambda s: s.exec(select(VsUser).where(VsUser.email == email)).first())
        if row is None:
            await verify_password(_DUMMY_HASH, password)
            return None
        return _user(row) if await verify_password(row.password_hash, password) else None

    async def get_user(self, user_id: str) -> UserRecord | None:
        """The user ``user_id``, or None."""
        row = await self.db.run(lambda s: s.get(VsUser, user_id))
        return _user(row) if row else None

    async def list_members(self, org_id: str) -> list[UserRecord]:
        """The organization's users, oldest first (then by email)."""
        def work(s: Session) -> list[UserRecord]:
            rows = s.exec(select(VsUser).where(VsUser.org_id == org_id)
                          .order_by(col(VsUser.created_at), col(VsUser.email)))
            return [_user(r) for r in rows.all()]

        return await self.db.run(work)

    async def get_organization(self, org_id: str) -> OrganizationRecord | None:
        """The organization ``org_id``, or None."""
        row = await self.db.run(lambda s: s.get(VsOrganization, org_id))
        return _org(row) if row else None

    async def operator_org_id(self) -> str | None:
        """The install's operator organization: the first one registered (None before any)."""
        row = await self.db.run(lambda s: s.get(VsMeta, OPERATOR_ORG_KEY))
        return row.value if row else None

    # ---------------------------------------------------------------- API keys

    async def create_api_key(self, *, org_id: str, user_id: str, role: str, name: str | None,
                             now: datetime) -> tuple[ApiKeyRecord, str]:
        """A new key for ``org_id``: (record, the raw key - returned this once, stored only hashed)."""
        raw = new_api_key()

        def work(s: Session) -> ApiKeyRecord:
            row = VsApiKey(key_id=str(uuid.uuid4()), org_id=org_id, user_id=user_id, role=role, name=name,
                           key_hash=api_key_hash(raw), created_at=now)
            s.add(row)
            s.flush()
            return _key(row)

        return await self.db.run(work), raw

    async def find_api_key(self, raw: str) -> ApiKeyRecord | None:
        """The live key whose hash matches ``raw``."""
        digest = api_key_hash(raw)
        # read on every API-key request: a prepared Core select, no ORM session (rows have the table's attributes)
        row: Any = await self.db.fetch_one(_KEY_BY_HASH, {"key_hash": digest})
        return _key(row) if row else None

    async def revoke_api_key(self, org_id: str, key_id: str) -> bool:
        """Delete the key (it stops working at once); False when ``org_id`` has no such key."""

        def work(s: Session) -> bool:
            row = s.get(VsApiKey, key_id)
            if row is None or row.org_id != org_id:
                return False
            s.delete(row)
            return True

        return await self.db.run(work)

    # ---------------------------------------------------------------- JWT denylist

    async def revoke_token(self, jti: str, expires_at: datetime, now: datetime) -> None:
        """Deny ``jti`` until ``expires_at``; also forgets entries that have expired."""

        def work(s: Session) -> None:
            s.exec(delete(VsRevokedToken).where(col(VsRevokedToken.expires_at) < now))
            if s.get(VsRevokedToken, jti) is None:
                s.add(VsRevokedToken(jti=jti, expires_at=expires_at))

        await self.db.run(work)

    async def is_token_revoked(self, jti: str) -> bool:
        """Whether the login JWT with ``jti`` was revoked by logout."""
        return await self.db.run(lambda s: s.get(VsRevokedToken, jti) is not None)

    async def count_users(self) -> int:
        """The number of users of the install."""
        return await self.db.run(lambda s: s.exec(select(func.count()).select_from(VsUser)).one())
