"""Buying a number for purchasePhoneNumber: carrier purchase, then trunk, rule and registration."""

from __future__ import annotations

from typing import Any

from adapters.storage.virstack_voiceai.sip import Conflict, PhoneNumberRecord
from adapters.telephony.base import AgentDispatch, TelephonyError
from adapters.telephony.carriers import CarrierError, CarrierNotConfigured, Carriers
from core.clock import utcnow
from handlers.errors import ApiError
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.provisioning import telephony_error, undo_provisioning

ROOM_PREFIX = "call-"


def carriers() -> Carriers:
    v = bundle()
    if "carriers" not in v.cache:
        s = v.settings
        v.cache["carriers"] = Carriers(twilio_account_sid=s.twilio_account_sid, twilio_auth_token=s.twilio_auth_token,
                                       telnyx_api_key=s.telnyx_api_key)
    return v.cache["carriers"]


async def purchase(org_id: str, body: dict[str, Any], dispatch: AgentDispatch) -> PhoneNumberRecord:
    """Buy a number in ``area_code`` from ``provider`` and provision it. 400 when the carrier is
    not configured (naming the setting) or has no number there; 503 when the carrier fails."""
    v = bundle()
    area_code = str(body["area_code"]).strip()
    if not (area_code.isdigit() and len(area_code) == 3):
        raise ApiError(400, "VALIDATION_ERROR", "area_code: a 3-digit US area code is required")
    try:
        bought = await carriers().buy_number(body["provider"], area_code)
    except CarrierNotConfigured as exc:
        raise ApiError(400, "PROVIDER_NOT_CONFIGURED", str(exc)) from None
    except CarrierError as exc:
        if exc.no_numbers:
            raise ApiError(400, "NO_NUMBERS_AVAILABLE", str(exc)) from None
        raise ApiError(503, "CARRIER_UNAVAILABLE", str(exc)) from None
    created: list[tuple[str, str]] = []
    try:
        trunk = await v.telephony.create_inbound_trunk(org_id, name=f"{bought.number} ({bought.provider})",
                                                       numbers=[bought.number], auth_username=None, auth_password=None)
        created.append(("trunk", trunk.trunk_id))
        rule = await v.telephony.create_dispatch_rule(org_id, name=f"{bought.number} inbound",
                                                      trunk_ids=[trunk.trunk_id], room_prefix=ROOM_PREFIX,
                                                      metadata={"number": bought.number}, dispatch=dispatch)
        created.append(("rule", rule.rule_id))
        return await v.sip.add_number(org_id=org_id, number=bought.number, trunk_id=trunk.trunk_id,
                                      outbound_trunk_id=None, dispatch_rule_id=rule.rule_id,
                                      inbound_agent_id=body["inbound_agent_id"],
                                      outbound_agent_id=body.get("outbound_agent_id"), provider=bought.provider,
                                      nickname=body.get("nickname"), now=utcnow(), provisioned=True)
    except (Conflict, TelephonyError) as exc:
        await undo_provisioning(org_id, created)
        if isinstance(exc, Conflict):
            raise ApiError(409, "CONFLICT", str(exc)) from None
        raise telephony_error(exc) from None
