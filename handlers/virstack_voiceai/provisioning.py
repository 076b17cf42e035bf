"""Provisioning a phone number on the telephony backend, shared by importPhoneNumber and
purchasePhoneNumber: one sequence (inbound trunk, optional outbound trunk, dispatch rule,
registration) that undoes what it created when a step fails, and the answer to a backend failure."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.storage.virstack_voiceai.sip import Conflict, PhoneNumberRecord
from adapters.telephony.base import AgentDispatch, TelephonyConflict, TelephonyError, TelephonyRejected
from core.clock import utcnow
from handlers.errors import ApiError
from handlers.virstack_voiceai.bundle import bundle

ROOM_PREFIX = "call-"  # rooms of provisioned numbers: call-_<caller>_<random>


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


@dataclass(frozen=True)
class OutboundRoute:
    """An outbound trunk to provision beside the inbound one: its name and SIP termination URI."""

    name: str
    address: str


@dataclass(frozen=True)
class NumberPlan:
    """What :func:`provision_number` sets up for ``number``.

    ``trunk_name`` / ``rule_name`` name the inbound trunk and the dispatch rule; ``auth_username``
    / ``auth_password`` are the SIP digest credentials of both trunks (None: none); ``outbound``
    adds an outbound trunk (imported numbers); the registration binds ``inbound_agent_id`` /
    ``outbound_agent_id`` and records ``provider`` and ``nickname``.
    """

    number: str
    trunk_name: str
    rule_name: str
    provider: str
    inbound_agent_id: str
    outbound_agent_id: str | None = None
    nickname: str | None = None
    auth_username: str | None = None
    auth_password: str | None = None
    outbound: OutboundRoute | None = None


async def provision_number(org_id: str, plan: NumberPlan, dispatch: AgentDispatch) -> PhoneNumberRecord:
    """Provision ``plan.number`` for the organization and register it (``provisioned``: deleting
    the number removes the trunks and rule again).

    Creates an inbound trunk serving the number, then (``plan.outbound``) an outbound trunk to its
    termination URI, then an individual dispatch rule on the inbound trunk (rooms
    ``call-_<caller>_<random>``, ``dispatch`` names the agent worker), then the registration. When
    a step fails, what was created is removed and the error is answered: 409 the number is taken
    (registration or backend conflict), 400 the backend rejected a value, 503 it is unreachable.
    """
    v = bundle()
    created: list[tuple[str, str]] = []
    try:
        inbound = await v.telephony.create_inbound_trunk(org_id, name=plan.trunk_name, numbers=[plan.number],
                                                         auth_username=plan.auth_username,
                                                         auth_password=plan.auth_password)
        created.append(("trunk", inbound.trunk_id))
        outbound_trunk_id = None
        if plan.outbound is not None:
            outbound = await v.telephony.create_outbound_trunk(org_id, name=plan.outbound.name,
                                                               address=plan.outbound.address, numbers=[plan.number],
                                                               auth_username=plan.auth_username,
                                                               auth_password=plan.auth_password)
            created.append(("trunk", outbound.trunk_id))
            outbound_trunk_id = outbound.trunk_id
        rule = await v.telephony.create_dispatch_rule(org_id, name=plan.rule_name, trunk_ids=[inbound.trunk_id],
                                                      room_prefix=ROOM_PREFIX, metadata={"number": plan.number},
                                                      dispatch=dispatch)
        created.append(("rule", rule.rule_id))
        return await v.sip.add_number(org_id=org_id, number=plan.number, trunk_id=inbound.trunk_id,
                                      outbound_trunk_id=outbound_trunk_id, dispatch_rule_id=rule.rule_id,
                                      inbound_agent_id=plan.inbound_agent_id,
                                      outbound_agent_id=plan.outbound_agent_id, provider=plan.provider,
                                      nickname=plan.nickname, now=utcnow(), provisioned=True)
    except (Conflict, TelephonyError) as exc:
        await undo_provisioning(org_id, created)
        if isinstance(exc, Conflict):
            raise ApiError(409, "CONFLICT", str(exc)) from None
        raise telephony_error(exc) from None
