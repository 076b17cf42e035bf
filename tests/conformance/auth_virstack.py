"""Credentials for Virstack operations in the conformance run.

None are minted here: without ``FUZZ_VIRSTACK_TOKEN``, ``tools.fuzz`` registers two organizations
over HTTP (registration is public) and uses an API key of each, exactly as it does against any
deployment; the first organization of the run's fresh database is the catalog admin. API keys
rather than login JWTs: the fuzzer also calls the open ``POST /users/logout``, which would revoke
a JWT for the rest of the run. What only a test knows is the LiveKit key and secret webhooks are
signed with.
"""

from __future__ import annotations


def fuzz_env(app, settings) -> dict[str, str]:  # noqa: ARG001
    """``FUZZ_VIRSTACK_LIVEKIT_KEY``/``_SECRET``: the run's LiveKit credentials (webhook signatures)."""
    return {"FUZZ_VIRSTACK_LIVEKIT_KEY": settings.livekit_api_key,
            "FUZZ_VIRSTACK_LIVEKIT_SECRET": settings.livekit_api_secret}
