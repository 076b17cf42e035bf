"""Credentials for Vertebro Voice operations in the conformance run: two Basic users stored with
the API's own user store (as ``python -m handlers.vertebro_voice.manage add-user`` does). The
first is made an admin (``manage grant-admin``) so that every project the run names is its own;
the second is an ordinary user with no project, the peer of the object-level authorization
check: whatever the first creates, the second must get 404 for."""

from __future__ import annotations

import anyio

from core.clock import utcnow
from handlers.vertebro_voice.security import hash_password

USERS = (("conformance", "conformance-password-0123456789"), ("conformance-2", "conformance-password-9876543210"))


def _store(app) -> None:
    for user, password in USERS:
        anyio.run(app.bundles["vertebro-voice"].users.put, user, hash_password(password), utcnow())
    anyio.run(app.bundles["vertebro-voice"].access.grant_admin, USERS[0][0], utcnow())


def fuzz_env(app, settings) -> dict[str, str]:  # noqa: ARG001
    """``FUZZ_VERTEBRO_USER``/``_PASSWORD`` (and ``_2``) for ``tools.fuzz``: two stored Basic users."""
    _store(app)
    (u1, p1), (u2, p2) = USERS
    return {"FUZZ_VERTEBRO_USER": u1, "FUZZ_VERTEBRO_PASSWORD": p1,
            "FUZZ_VERTEBRO_USER_2": u2, "FUZZ_VERTEBRO_PASSWORD_2": p2}
