"""Vertebro Voice ``HTTPBasic``: users and argon2 password hashes.

Users come from ``VERTEBRO_BASIC_USERS`` (JSON ``{user: hash}``) and from the database
(``python -m handlers.vertebro_voice.manage add-user``); a settings entry wins. Hashes are
argon2id (``manage hash-password``). A verified ``user:password`` pair is remembered in memory
(keyed by a keyed BLAKE2 digest, never the password) so argon2 runs once per credential, not
per request. The WebSocket handshake uses :func:`authenticate_header` (connexion's security
does not run for WebSockets).

An unknown user costs the same work as a known one with a wrong password (issue 13 item 4): both
stores are always read, and argon2 verifies the password against a dummy hash made with the
same parameters, so neither the answer nor its timing tells which usernames exist. Digests and
usernames are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from adapters.storage.database import StorageUnavailable
from core.passwords import DUMMY_HASH
from handlers.errors import ApiError
from handlers.vertebro_voice.bundle import bundle

_hasher = PasswordHasher()
_KEY = secrets.token_bytes(32)
_verified: dict[bytes, str] = {}
_MAX_REMEMBERED = 10_000
#: Verified against when the user is unknown: same argon2 parameters as every real hash, and a
#: password nobody knows, so the work is a real argon2id verification that always fails.
_DUMMY_HASH = DUMMY_HASH


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for ``VERTEBRO_BASIC_USERS`` or the user store."""
    return _hasher.hash(password)


def _digest(username: str, password: str, stored_hash: str) -> bytes:
    material = f"{username}\x00{password}\x00{stored_hash}".encode()
    return hashlib.blake2b(material, key=_KEY, digest_size=32).digest()


async def verify(username: str, password: str) -> bool:
    """True when ``username`` exists and ``password`` matches its hash.

    The same work is done either way: the database is read even for a user named in
    ``VERTEBRO_BASIC_USERS``, and an unknown user's password is verified against a dummy argon2
    hash (always False). Raises ``StorageUnavailable`` when the database cannot be read.
    """
    vertebro = bundle()
    stored_db = await vertebro.users.password_hash(username)
    known = vertebro.settings.vertebro_basic_users.get(username) or stored_db
    stored = known or _DUMMY_HASH
    digest = _digest(username, password, stored)
    remembered = _verified.get(digest)
    if known and remembered is not None and hmac.compare_digest(remembered.encode(), username.encode()):
        return True

    def check() -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    if not await anyio.to_thread.run_sync(check) or not known:
        return False
    if len(_verified) >= _MAX_REMEMBERED:
        _verified.clear()
    _verified[digest] = username
    return True


async def basic_info(username: str, password: str, required_scopes=None) -> dict[str, Any] | None:  # noqa: ARG001
    """connexion HTTP Basic hook: ``{"sub": username}`` or None (→ 401 ``Unauthorized``)."""
    try:
        if not username or not await verify(username, password):
            return None
    except StorageUnavailable:
        raise ApiError(503, "mongo_unavailable", "The database is not reachable") from None
    return {"sub": username}


async def authenticate_header(authorization: str | None) -> str | None:
    """The user of an ``Authorization: Basic …`` header value, or None when it does not verify."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        return None
    return username if await verify(username, password) else None
