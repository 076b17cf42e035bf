"""Provisioning a phone number on the telephony backend (trunk + dispatch rule), shared by
importPhoneNumber and purchasePhoneNumber: undoing a half-done provisioning, and the answer to a
backend failure."""

from __future__ import annotations

from adapters.telephony.base import TelephonyConflict, TelephonyError, TelephonyRejected
from handlers.errors import ApiError
from handlers.virstack_voiceai.bundle import bundle


def telephony_error(exc: TelephonyError) -> ApiError:
    """The answer to a backend failure: 409 conflict, 400 rejected, else 503 unavailable."""
    if isinstance(exc, TelephonyConflict):
        return ApiError(409, "CONFLICT", str(exc))
    if isinstance(exc, TelephonyRejected):
        return ApiError(400, "TELEPHONY_REJECTED", str(exc))
    return ApiError(503, "TELEPHONY_UNAVAILABLE", str(exc))


async def undo_provisioning(org_id: str, created: list[tuple[str, str]]) -> None:
    """Remove what a failed provisioning had created (``[("trunk"|"rule", id), …]``, best effort,
    newest first)."""
    v = bundle()
    for kind, ident in reversed(created):
        try:
            if kind == "trunk":
                await v.telephony.delete_trunk(org_id, ident)
            else:
                await v.telephony.delete_dispatch_rule(org_id, ident)
        except TelephonyError:
            pass
