"""Virstack SIP: createSipTrunk, listSipTrunks, deleteSipTrunk, createDispatchRule,
listDispatchRules, deleteDispatchRule, purchasePhoneNumber, listPhoneNumbers, importPhoneNumber,
getPhoneNumber, updatePhoneNumber, deletePhoneNumber.

Trunks and rules go through the telephony backend (``TELEPHONY_BACKEND``); numbers are
registrations of the organization binding a number to its trunks, dispatch rule and agents.
Inbound calls to a number are routed with LiveKit's semantics (adapters/sip/routing.py)
and answered by the number's ``inbound_agent_id``.
"""

from __future__ import annotations

from typing import Any

from adapters.storage.virstack_voiceai.sip import Conflict, PhoneNumberRecord, RuleRecord, TrunkRecord
from adapters.telephony.base import AgentDispatch, TelephonyError
from core.clock import utcnow
from generated.models.virstack_voiceai import (
    AgentSummary,
    BuyPhoneNumberBody,
    CreateDispatchRuleBody,
    CreatePhoneNumberBody,
    CreateTrunkBody,
    DispatchRuleDeleted,
    DispatchRuleDeletedEnvelope,
    DispatchRuleEnvelope,
    DispatchRuleListEnvelope,
    DispatchRuleResponse,
    ImportPhoneNumberBody,
    PhoneNumberDeleted,
    PhoneNumberDeletedEnvelope,
    PhoneNumberEnvelope,
    PhoneNumberListEnvelope,
    PhoneNumberResponse,
    PurchasePhoneNumberBody,
    SipTrunkEnvelope,
    SipTrunkListEnvelope,
    SipTrunkResponse,
    TrunkDeleted,
    TrunkDeletedEnvelope,
    UpdatePhoneNumberBody,
)
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import moment, not_found, ok
from handlers.virstack_voiceai.provisioning import (
    NumberPlan,
    OutboundRoute,
    provision_number,
    telephony_error,
    undo_provisioning,
)
from handlers.virstack_voiceai.purchase import purchase


def trunk_response(t: TrunkRecord) -> SipTrunkResponse:
    """A trunk as the SIP operations answer it (``SipTrunkResponse``): never its password."""
    return SipTrunkResponse(trunk_id=t.trunk_id, name=t.name, kind=t.kind, numbers=t.numbers,
                            auth_username=t.auth_username, address=t.address, created_at=moment(t.created_at))


def rule_response(r: RuleRecord) -> DispatchRuleResponse:
    """A dispatch rule (``DispatchRuleResponse``)."""
    return DispatchRuleResponse(dispatch_rule_id=r.rule_id, name=r.name, rule_type=r.rule_type, trunk_ids=r.trunk_ids,
                                room_prefix=r.room_prefix, metadata=r.metadata, created_at=moment(r.created_at))


def pretty(number: str) -> str:
    """``+14155551234`` → ``(415) 555-1234`` (North American numbers); others unchanged."""
    if len(number) == 12 and number.startswith("+1") and number[1:].isdigit():
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def number_response(n: PhoneNumberRecord, agents: dict[str, AgentSummary]) -> PhoneNumberResponse:
    """A registered number (``PhoneNumberResponse``) with summaries of its bound agents from
    ``agents`` (``{agent_id: AgentSummary}``, see :func:`agent_summaries`; null when unbound)."""
    return PhoneNumberResponse.model_validate({  # by alias: the contract's field is `_id`
        "_id": n.id, "number": n.number, "phone_number": n.number, "phone_number_pretty": pretty(n.number),
        "outbound_agent_id": n.outbound_agent_id, "provider": n.provider, "is_active": n.is_active,
        "created_at": moment(n.created_at), "updated_at": moment(n.updated_at), "trunk_id": n.trunk_id,
        "dispatch_rule_id": n.dispatch_rule_id, "inbound_agent_id": n.inbound_agent_id, "nickname": n.nickname,
        "outbound_trunk_id": n.outbound_trunk_id,
        "inbound_agent": agents.get(n.inbound_agent_id) if n.inbound_agent_id else None,
        "outbound_agent": agents.get(n.outbound_agent_id) if n.outbound_agent_id else None})


async def _agent_exists(org_id: str, agent_id: str | None) -> None:
    """404 when ``agent_id`` (if given) is not an agent of the organization."""
    if agent_id is not None and await bundle().agents.get(org_id, agent_id) is None:
        raise not_found("Agent", agent_id)


async def agent_summaries(org_id: str, numbers: list[PhoneNumberRecord]) -> dict[str, AgentSummary]:
    """``{agent_id: AgentSummary}`` of the agents ``numbers`` are bound to (agents since deleted
    are left out)."""
    v = bundle()
    out: dict[str, AgentSummary] = {}
    for agent_id in {a for n in numbers for a in (n.inbound_agent_id, n.outbound_agent_id) if a}:
        agent = await v.agents.get(org_id, agent_id)
        if agent is not None:
            out[agent_id] = AgentSummary(agent_id=agent.agent_id,
                                         agent_name=agent.settings.get("identity", {}).get("agent_name"),
                                         is_published=agent.is_published, version=agent.version)
    return out


async def _number_reply(org_id: str, record: PhoneNumberRecord, status: int, message: str) -> Reply:
    """``PhoneNumberEnvelope`` of one number, with its agent summaries."""
    return ok(PhoneNumberEnvelope, number_response(record, await agent_summaries(org_id, [record])), status, message)


async def _dispatch(org_id: str) -> AgentDispatch:
    """The dispatch of the organization's agent worker into the rooms of inbound calls."""
    org = await bundle().accounts.get_organization(org_id)
    return AgentDispatch(agent_name=org.agent_server_name if org else "", metadata={"organization_id": org_id})


# ---------------------------------------------------------------- trunks


async def create_sip_trunk(body: CreateTrunkBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/sip/trunks`` (createSipTrunk) → 201 ``SipTrunkEnvelope`` (no password).

    An inbound trunk serving ``numbers`` (E.164; none = the organization's default trunk for
    every number), optionally with SIP digest credentials (password stored encrypted). 409 when a
    number is already served by another inbound trunk; 503 telephony backend unreachable."""
    numbers = list(dict.fromkeys(n.root for n in body.numbers or []))
    try:
        trunk = await bundle().telephony.create_inbound_trunk(
            token_info["org_id"], name=body.name or "", numbers=numbers,
            auth_username=body.auth_username or None, auth_password=body.auth_password or None)
    except Conflict as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    return ok(SipTrunkEnvelope, trunk_response(trunk), 201, "Trunk created")


async def list_sip_trunks(token_info: dict[str, Any]) -> Reply:
    """``GET /v1/sip/trunks`` (listSipTrunks) → 200 ``SipTrunkListEnvelope``: the organization's
    trunks (inbound, and outbound ones created by number imports)."""
    trunks = await bundle().sip.list_trunks(token_info["org_id"])
    return ok(SipTrunkListEnvelope, [trunk_response(t) for t in trunks], 200, "Trunks retrieved")


async def delete_sip_trunk(id_: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/sip/trunks/{id}`` (deleteSipTrunk) → 200 ``TrunkDeletedEnvelope`` (``data:
    {trunk_id}``); phone numbers using it lose the reference. 404 unknown or another
    organization's; 503 telephony backend unreachable."""
    try:
        deleted = await bundle().telephony.delete_trunk(token_info["org_id"], id_)
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    if not deleted:
        raise not_found("SIP trunk", id_)
    return ok(TrunkDeletedEnvelope, TrunkDeleted(trunk_id=id_), 200, "Trunk deleted")


# ---------------------------------------------------------------- dispatch rules


async def create_dispatch_rule(body: CreateDispatchRuleBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/sip/dispatch-rules`` (createDispatchRule) → 201 ``DispatchRuleEnvelope``.

    An individual dispatch rule: each inbound call on ``trunk_ids`` (none = every trunk of the
    organization) gets its own room ``<room_prefix>_<caller>_<random>``, and the organization's
    agent worker is dispatched to it. 404 a trunk that is not the organization's; 409 a rule for
    the same trunks already exists; 503 telephony backend unreachable."""
    org_id = token_info["org_id"]
    v = bundle()
    trunk_ids = list(dict.fromkeys(t.root for t in body.trunk_ids or []))
    for trunk_id in trunk_ids:
        trunk = await v.sip.get_trunk(org_id, trunk_id)
        if trunk is None or trunk.kind != "inbound":
            raise not_found("SIP trunk", trunk_id)
    try:
        rule = await v.telephony.create_dispatch_rule(org_id, name=body.name or "", trunk_ids=trunk_ids,
                                                      room_prefix=body.room_prefix or "", metadata=body.metadata or {},
                                                      dispatch=await _dispatch(org_id))
    except Conflict as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    return ok(DispatchRuleEnvelope, rule_response(rule), 201, "Dispatch rule created")


async def list_dispatch_rules(token_info: dict[str, Any]) -> Reply:
    """``GET /v1/sip/dispatch-rules`` (listDispatchRules) → 200 ``DispatchRuleListEnvelope``: the
    organization's rules."""
    rules = await bundle().sip.list_rules(token_info["org_id"])
    return ok(DispatchRuleListEnvelope, [rule_response(r) for r in rules], 200, "Dispatch rules retrieved")


async def delete_dispatch_rule(id_: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/sip/dispatch-rules/{id}`` (deleteDispatchRule) → 200 ``DispatchRuleDeletedEnvelope``
    (``data: {dispatch_rule_id}``). 404 unknown or another organization's; 503 telephony backend
    unreachable."""
    try:
        deleted = await bundle().telephony.delete_dispatch_rule(token_info["org_id"], id_)
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    if not deleted:
        raise not_found("Dispatch rule", id_)
    return ok(DispatchRuleDeletedEnvelope, DispatchRuleDeleted(dispatch_rule_id=id_), 200, "Dispatch rule deleted")


# ---------------------------------------------------------------- phone numbers


async def _register_existing(org_id: str, body: CreatePhoneNumberBody) -> PhoneNumberRecord:
    """Register a number the organization already has on its inbound trunk ``body.trunk_id`` and
    rule ``body.dispatch_rule_id``: 404 either is not the organization's, 400 the rule does not
    apply to the trunk, 409 the number is registered; backend errors as :func:`telephony_error`."""
    v = bundle()
    number = body.number
    trunk = await v.sip.get_trunk(org_id, body.trunk_id)
    if trunk is None or trunk.kind != "inbound":
        raise not_found("SIP trunk", body.trunk_id)
    rule = await v.sip.get_rule(org_id, body.dispatch_rule_id)
    if rule is None:
        raise not_found("Dispatch rule", body.dispatch_rule_id)
    if rule.trunk_ids and trunk.trunk_id not in rule.trunk_ids:
        raise ApiError(400, "VALIDATION_ERROR",
                       f"dispatch_rule_id: rule {rule.rule_id} does not apply to trunk {trunk.trunk_id}")
    if await v.sip.number_taken(number):
        raise ApiError(409, "CONFLICT", f"Phone number {number} is already registered")
    try:
        await v.telephony.add_trunk_number(org_id, trunk.trunk_id, number)
        return await v.sip.add_number(org_id=org_id, number=number, trunk_id=trunk.trunk_id, outbound_trunk_id=None,
                                      dispatch_rule_id=rule.rule_id, inbound_agent_id=body.inbound_agent_id,
                                      outbound_agent_id=body.outbound_agent_id, provider=body.provider or "twilio",
                                      nickname=body.nickname, now=utcnow())
    except Conflict as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    except TelephonyError as exc:
        raise telephony_error(exc) from None


async def purchase_phone_number(body: PurchasePhoneNumberBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/sip/phone-numbers`` (purchasePhoneNumber) → 201 ``PhoneNumberEnvelope``.

    Two request shapes (the contract's anyOf; a body that fits both registers):

    - ``CreatePhoneNumberBody`` ``{number, trunk_id, dispatch_rule_id, inbound_agent_id, …}``
      registers a number the organization already has: the inbound trunk is made to serve it
      (LiveKit semantics) and the number is bound to the rule and agents.
    - ``BuyPhoneNumberBody`` ``{area_code, provider: twilio|telnyx, inbound_agent_id, …}`` buys a
      number from the carrier (needs its credentials: 400 naming the missing setting otherwise)
      and provisions an inbound trunk and dispatch rule for it.

    404 unknown trunk / rule / agent of the organization; 409 number already registered;
    503 telephony backend or carrier unreachable."""
    org_id = token_info["org_id"]
    shape = body.root
    await _agent_exists(org_id, shape.inbound_agent_id)
    await _agent_exists(org_id, shape.outbound_agent_id)
    if isinstance(shape, BuyPhoneNumberBody):
        record = await purchase(org_id, shape, await _dispatch(org_id))
    else:
        record = await _register_existing(org_id, shape)
    return await _number_reply(org_id, record, 201, "Phone number provisioned")


async def list_phone_numbers(token_info: dict[str, Any], active: str | None = None,
                             inbound_agent_id: str | None = None) -> Reply:
    """``GET /v1/sip/phone-numbers`` (listPhoneNumbers) → 200 ``PhoneNumberListEnvelope``, filtered
    by ``active`` (``true``/``false``) and ``inbound_agent_id``."""
    org_id = token_info["org_id"]
    numbers = await bundle().sip.list_numbers(org_id, None if active is None else active == "true", inbound_agent_id)
    agents = await agent_summaries(org_id, numbers)
    return ok(PhoneNumberListEnvelope, [number_response(n, agents) for n in numbers], 200, "Phone numbers retrieved")


async def import_phone_number(body: ImportPhoneNumberBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/sip/phone-numbers/import`` (importPhoneNumber) → 201 ``PhoneNumberEnvelope``.

    A number of an external SIP provider / PBX: an inbound trunk serving the number (calls from
    the PBX, authenticated with ``sip_username``/``sip_password`` when given), an outbound trunk
    to ``termination_uri`` (for outbound calls from the number), and an individual dispatch rule
    (rooms ``call-_<caller>_<random>``) are provisioned (:func:`provision_number`); deleting the
    number removes them. 400 empty termination URI; 404 unknown agent; 409 number already
    registered or served by another trunk; 503 telephony backend unreachable."""
    v = bundle()
    org_id = token_info["org_id"]
    number = body.phone_number
    await _agent_exists(org_id, body.inbound_agent_id)
    await _agent_exists(org_id, body.outbound_agent_id)
    termination = body.termination_uri.strip(" \t\n\r\f\v")  # the contract's pattern: ASCII whitespace
    if not termination:
        raise ApiError(400, "VALIDATION_ERROR", "termination_uri: must not be empty")
    if await v.sip.number_taken(number):
        raise ApiError(409, "CONFLICT", f"Phone number {number} is already registered")
    label = body.nickname or number
    plan = NumberPlan(number=number, trunk_name=f"{label} inbound", rule_name=f"{label} inbound", provider="custom",
                      inbound_agent_id=body.inbound_agent_id, outbound_agent_id=body.outbound_agent_id,
                      nickname=body.nickname, auth_username=body.sip_username or None,
                      auth_password=body.sip_password or None,
                      outbound=OutboundRoute(name=f"{label} outbound", address=termination))
    record = await provision_number(org_id, plan, await _dispatch(org_id))
    return await _number_reply(org_id, record, 201, "Phone number imported and provisioned")


async def get_phone_number(id_: str, token_info: dict[str, Any]) -> Reply:
    """``GET /v1/sip/phone-numbers/{id}`` (getPhoneNumber) → 200 ``PhoneNumberEnvelope`` with
    ``inbound_agent`` / ``outbound_agent`` summaries. 404 unknown."""
    org_id = token_info["org_id"]
    record = await bundle().sip.get_number(org_id, id_)
    if record is None:
        raise not_found("Phone number", id_)
    return await _number_reply(org_id, record, 200, "Phone number retrieved")


async def update_phone_number(id_: str, body: UpdatePhoneNumberBody, token_info: dict[str, Any]) -> Reply:
    """``PUT /v1/sip/phone-numbers/{id}`` (updatePhoneNumber) → 200 ``PhoneNumberEnvelope``: the
    fields sent (agent bindings, nickname, is_active) replace the stored ones. 404 unknown number
    or agent."""
    org_id = token_info["org_id"]
    v = bundle()
    if await v.sip.get_number(org_id, id_) is None:
        raise not_found("Phone number", id_)
    await _agent_exists(org_id, body.inbound_agent_id)
    await _agent_exists(org_id, body.outbound_agent_id)
    changes = body.model_dump(mode="json", exclude_unset=True, warnings=False)
    record = await v.sip.update_number(org_id, id_, changes, utcnow())
    if record is None:
        raise not_found("Phone number", id_)
    return await _number_reply(org_id, record, 200, "Phone number updated")


async def delete_phone_number(id_: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/sip/phone-numbers/{id}`` (deletePhoneNumber) → 200 ``PhoneNumberDeletedEnvelope``
    (``data: {_id, number}``). Trunks and rule provisioned for it (import / purchase) are removed
    too. 404 unknown."""
    org_id = token_info["org_id"]
    record = await bundle().sip.delete_number(org_id, id_)
    if record is None:
        raise not_found("Phone number", id_)
    if record.provisioned:
        parts = (("trunk", record.trunk_id), ("trunk", record.outbound_trunk_id), ("rule", record.dispatch_rule_id))
        await undo_provisioning(org_id, [(kind, ident) for kind, ident in parts if ident])
    deleted = PhoneNumberDeleted.model_validate({"_id": record.id, "number": record.number})  # by alias
    return ok(PhoneNumberDeletedEnvelope, deleted, 200, "Phone number deleted")
