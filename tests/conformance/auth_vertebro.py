"""Credentials for Vertebro Voice operations in the conformance run: a Basic user stored with
the API's own user store (as ``python -m handlers.vertebro_voice.manage add-user`` does), made an
admin (``manage grant-admin``) so that every project the run names is the user's own."""

from __future__ import annotations

import base64

import anyio

from handlers.vertebro_voice.security import hash_password

USER, PASSWORD = "conformance", "conformance-password-0123456789"


def headers(app, settings) -> dict[str, str]:
    """``Authorization: Basic …`` for ``vertebro.*`` operations."""
    from core.clock import utcnow

    anyio.run(app.bundles["vertebro-voice"].users.put, USER, hash_password(PASSWORD), utcnow())
    anyio.run(app.bundles["vertebro-voice"].access.grant_admin, USER, utcnow())
    return {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
