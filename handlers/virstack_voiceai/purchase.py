"""Buying a number for purchasePhoneNumber: carrier purchase, then the shared provisioning."""

from __future__ import annotations

from adapters.storage.virstack_voiceai.sip import PhoneNumberRecord
from adapters.telephony.base import AgentDispatch
from adapters.telephony.carriers import CarrierError, CarrierNotConfigured, Carriers
from generated.models.virstack_voiceai import BuyPhoneNumberBody
from handlers.errors import ApiError
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.provisioning import NumberPlan, provision_number


def carriers() -> Carriers:
    """The carrier clients (Twilio, Telnyx) of this server, built once from the settings."""
    v = bundle()
    if "carriers" not in v.cache:
        s = v.settings
        v.cache["carriers"] = Carriers(twilio_account_sid=s.twilio_account_sid, twilio_auth_token=s.twilio_auth_token,
                                       telnyx_api_key=s.telnyx_api_key)
    found: Carriers = v.cache["carriers"]
    return found


async def purchase(org_id: str, body: BuyPhoneNumberBody, dispatch: AgentDispatch) -> PhoneNumberRecord:
    """Buy a number in ``body.area_code`` (3 digits) from ``body.provider`` and provision it
    (:func:`~handlers.virstack_voiceai.provisioning.provision_number`: inbound trunk named
    ``<number> (<provider>)``, dispatch rule ``<number> inbound``). 400 when the area code is not
    3 digits, the carrier is not configured (naming the setting) or has no number there; 503
    when the carrier fails; provisioning errors as :func:`provision_number`."""
    area_code = body.area_code.strip()
    if not (area_code.isdigit() and len(area_code) == 3):
        raise ApiError(400, "VALIDATION_ERROR", "area_code: a 3-digit US area code is required")
    try:
        bought = await carriers().buy_number(str(body.provider), area_code)
    except CarrierNotConfigured as exc:
        raise ApiError(400, "PROVIDER_NOT_CONFIGURED", str(exc)) from None
    except CarrierError as exc:
        if exc.no_numbers:
            raise ApiError(400, "NO_NUMBERS_AVAILABLE", str(exc)) from None
        raise ApiError(503, "CARRIER_UNAVAILABLE", str(exc)) from None
    plan = NumberPlan(number=bought.number, trunk_name=f"{bought.number} ({bought.provider})",
                      rule_name=f"{bought.number} inbound", provider=bought.provider,
                      inbound_agent_id=body.inbound_agent_id, outbound_agent_id=body.outbound_agent_id,
                      nickname=body.nickname)
    return await provision_number(org_id, plan, dispatch)
