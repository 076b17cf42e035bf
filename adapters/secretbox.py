"""Symmetric encryption for secrets the server must be able to use again (webhook signing
secrets): Fernet (AES-128-CBC + HMAC-SHA256) from the ``cryptography`` package."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    """Encrypts/decrypts short secrets with a key derived from ``master_key`` (any string)."""

    def __init__(self, master_key: str) -> None:
        digest = hashlib.sha256(master_key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        """Ciphertext (URL-safe text) of ``secret``."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret inside ``sealed``. Raises ValueError if it was not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("secret was sealed with another key") from None
