"""Telephony backends for Virstack: ``embedded`` (default) and ``livekit``; see base.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: adapters.storage.virstack_voiceai.sip imports adapters.sip.routing
    from adapters.storage.virstack_voiceai.sip import SipStore
    from adapters.telephony.base import Telephony

BACKENDS = ("embedded", "livekit")


def build_telephony(backend: str, *, sip: SipStore, url: str, api_key: str, api_secret: str) -> Telephony:
    """The backend named by ``TELEPHONY_BACKEND``. Raises ValueError for an unknown name."""
    if backend == "embedded":
        from adapters.telephony.embedded import EmbeddedTelephony

        return EmbeddedTelephony(sip, url=url, api_key=api_key, api_secret=api_secret)
    if backend == "livekit":
        from adapters.telephony.livekit import LiveKitTelephony

        return LiveKitTelephony(sip, url=url, api_key=api_key, api_secret=api_secret)
    raise ValueError(f"TELEPHONY_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")


__all__ = ["BACKENDS", "build_telephony"]
