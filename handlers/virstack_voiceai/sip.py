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
from generated.models.virstack_voiceai import CreateDispatchRuleBody, CreateTrunkBody, UpdatePhoneNumberBody
from handlers.errors import ApiError, parse_request
from handlers.virstack_voiceai.common import not_found, ok, ts
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.provisioning import telephony_error, undo_provisioning
from handlers.virstack_voiceai.purchase import purchase

IMPORT_ROOM_PREFIX = "call-"


def trunk_json(t: TrunkRecord) -> dict[str, Any]:
    """A trunk as returned by the API: never its password."""
    return {"trunk_id": t.trunk_id, "name": t.name, "kind": t.kind, "numbers": t.numbers,
            "auth_username": t.auth_username, "address": t.address, "created_at": ts(t.created_at)}


def rule_json(r: RuleRecord) -> dict[str, Any]:
    return {"dispatch_rule_id": r.rule_id, "name": r.name, "rule_type": r.rule_type, "trunk_ids": r.trunk_ids,
            "room_prefix": r.room_prefix, "metadata": r.metadata, "created_at": ts(r.created_at)}


def pretty(number: str) -> str:
    """``+14155551234`` → ``(415) 555-1234`` (North American numbers); others unchanged."""
    if len(number) == 12 and number.startswith("+1") and number[1:].isdigit():
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def number_json(n: PhoneNumberRecord, agents: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": n.id, "number": n.number, "phone_number": n.number,
                           "phone_number_pretty": pretty(n.number), "outbound_agent_id": n.outbound_agent_id,
                           "provider": n.provider, "is_active": n.is_active, "created_at": ts(n.created_at),
                           "updated_at": ts(n.updated_at)}
    for key in ("trunk_id", "dispatch_rule_id", "inbound_agent_id", "nickname", "outbound_trunk_id"):
        value = getattr(n, key)
        if value is not None:
            out[key] = value
    if agents is not None:
        out["inbound_agent"] = agents.get(n.inbound_agent_id) if n.inbound_agent_id else None
        out["outbound_agent"] = agents.get(n.outbound_agent_id) if n.outbound_agent_id else None
    return out


async def _agent_exists(org_id: str, agent_id: str | None) -> None:
    if agent_id is not None and await bundle().agents.get(org_id, agent_id) is None:
        raise not_found("Agent", agent_id)


async def _agent_summaries(org_id: str, numbers: list[PhoneNumberRecord]) -> dict[str, dict[str, Any]]:
    v = bundle()
    out: dict[str, dict[str, Any]] = {}
    for agent_id in {a for n in numbers for a in (n.inbound_agent_id, n.outbound_agent_id) if a}:
        agent = await v.agents.get(org_id, agent_id)
        if agent is not None:
            out[agent_id] = {"agent_id": agent.agent_id,
                             "agent_name": agent.settings.get("identity", {}).get("agent_name"),
                             "is_published": agent.is_published, "version": agent.version}
    return out


async def _dispatch(org_id: str) -> AgentDispatch:
    org = await bundle().accounts.get_organization(org_id)
    return AgentDispatch(agent_name=org.agent_server_name if org else "", metadata={"organization_id": org_id})


# ---------------------------------------------------------------- trunks


async def create_sip_trunk(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/sip/trunks`` (createSipTrunk) → 201 ``SipTrunkResponse`` (no password).

    An inbound trunk serving ``numbers`` (E.164; none = the organization's default trunk for
    every number), optionally with SIP digest credentials (password stored encrypted). 409 when a
    number is already served by another inbound trunk; 503 telephony backend unreachable."""
    req = parse_request(CreateTrunkBody, body or {})
    try:
        trunk = await bundle().telephony.create_inbound_trunk(
            token_info["org_id"], name=req.name or "", numbers=list(dict.fromkeys((body or {}).get("numbers") or [])),
            auth_username=req.auth_username or None, auth_password=req.auth_password or None)
    except Conflict as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    return ok(trunk_json(trunk), 201, "Trunk created")


async def list_sip_trunks(token_info: dict[str, Any]):
    """``GET /v1/sip/trunks`` (listSipTrunks) → 200 ``data`` array of the organization's trunks
    (inbound, and outbound ones created by number imports)."""
    return ok([trunk_json(t) for t in await bundle().sip.list_trunks(token_info["org_id"])], 200, "Trunks retrieved")


async def delete_sip_trunk(id_: str, token_info: dict[str, Any]):
    """``DELETE /v1/sip/trunks/{id}`` (deleteSipTrunk) → 200 ``data: {trunk_id}``; phone numbers
    using it lose the reference. 404 unknown or another organization's."""
    try:
        deleted = await bundle().telephony.delete_trunk(token_info["org_id"], id_)
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    if not deleted:
        raise not_found("SIP trunk", id_)
    return ok({"trunk_id": id_}, 200, "Trunk deleted")


# ---------------------------------------------------------------- dispatch rules


async def create_dispatch_rule(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/sip/dispatch-rules`` (createDispatchRule) → 201 ``DispatchRuleResponse``.

    An individual dispatch rule: each inbound call on ``trunk_ids`` (none = every trunk of the
    organization) gets its own room ``<room_prefix>_<caller>_<random>``, and the organization's
    agent worker is dispatched to it. 404 a trunk that is not the organization's; 409 a rule for
    the same trunks already exists."""
    req = parse_request(CreateDispatchRuleBody, body or {})
    org_id = token_info["org_id"]
    v = bundle()
    trunk_ids = list(dict.fromkeys(req.trunk_ids or []))
    for trunk_id in trunk_ids:
        trunk = await v.sip.get_trunk(org_id, trunk_id)
        if trunk is None or trunk.kind != "inbound":
            raise not_found("SIP trunk", trunk_id)
    try:
        rule = await v.telephony.create_dispatch_rule(org_id, name=req.name or "", trunk_ids=trunk_ids,
                                                      room_prefix=req.room_prefix or "", metadata=req.metadata or {},
                                                      dispatch=await _dispatch(org_id))
    except Conflict as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    return ok(rule_json(rule), 201, "Dispatch rule created")


async def list_dispatch_rules(token_info: dict[str, Any]):
    """``GET /v1/sip/dispatch-rules`` (listDispatchRules) → 200 ``data`` array of the organization's rules."""
    return ok([rule_json(r) for r in await bundle().sip.list_rules(token_info["org_id"])], 200,
              "Dispatch rules retrieved")


async def delete_dispatch_rule(id_: str, token_info: dict[str, Any]):
    """``DELETE /v1/sip/dispatch-rules/{id}`` (deleteDispatchRule) → 200 ``data: {dispatch_rule_id}``.
    404 unknown or another organization's."""
    try:
        deleted = await bundle().telephony.delete_dispatch_rule(token_info["org_id"], id_)
    except TelephonyError as exc:
        raise telephony_error(exc) from None
    if not deleted:
        raise not_found("Dispatch rule", id_)
    return ok({"dispatch_rule_id": id_}, 200, "Dispatch rule deleted")


# ---------------------------------------------------------------- phone numbers


async def _register_existing(org_id: str, body: dict[str, Any]) -> PhoneNumberRecord:
    v = bundle()
    number = body["number"]
    trunk = await v.sip.get_trunk(org_id, body["trunk_id"])
    if trunk is None or trunk.kind != "inbound":
        raise not_found("SIP trunk", body["trunk_id"])
    rule = await v.sip.get_rule(org_id, body["dispatch_rule_id"])
    if rule is None:
        raise not_found("Dispatch rule", body["dispatch_rule_id"])
    if rule.trunk_ids and trunk.trunk_id not in rule.trunk_ids:
        raise ApiError(400, "VALIDATION_ERROR",
                       f"dispatch_rule_id: rule {rule.rule_id} does not apply to trunk {trunk.trunk_id}")
    if await v.sip.number_taken(number):
        raise ApiError(409, "CONFLICT", f"Phone number {number} is already registered")
    try:
        await v.telephony.add_trunk_number(org_id, trunk.trunk_id, number)
        return await v.sip.add_number(org_id=org_id, number=number, trunk_id=trunk.trunk_id, outbound_trunk_id=None,
                                      dispatch_rule_id=rule.rule_id, inbound_agent_id=body["inbound_agent_id"],
                                      outbound_agent_id=body.get("outbound_agent_id"),
                                      provider=body.get("provider") or "twilio", nickname=body.get("nickname"),
                                      now=utcnow())
    except Conflict as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    except TelephonyError as exc:
        raise telephony_error(exc) from None


async def purchase_phone_number(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/sip/phone-numbers`` (purchasePhoneNumber) → 201 ``PhoneNumberResponse``.

    Two request shapes (the contract's anyOf):

    - ``{number, trunk_id, dispatch_rule_id, inbound_agent_id, …}`` registers a number the
      organization already has: the inbound trunk is made to serve it (LiveKit semantics) and
      the number is bound to the rule and agents.
    - ``{area_code, provider: twilio|telnyx, inbound_agent_id}`` buys a number from the carrier
      (needs its credentials: 400 naming the missing setting otherwise) and provisions an
      inbound trunk and dispatch rule for it.

    404 unknown trunk / rule / agent of the organization; 409 number already registered."""
    org_id = token_info["org_id"]
    await _agent_exists(org_id, body.get("inbound_agent_id"))
    await _agent_exists(org_id, body.get("outbound_agent_id"))
    if all(k in body for k in ("number", "trunk_id", "dispatch_rule_id")):
        record = await _register_existing(org_id, body)
    elif "area_code" in body and body.get("provider") in ("twilio", "telnyx"):
        record = await purchase(org_id, body, await _dispatch(org_id))
    else:
        raise ApiError(400, "VALIDATION_ERROR", "Send either number, trunk_id and dispatch_rule_id, or area_code "
                                                "and provider (twilio|telnyx)")
    return ok(number_json(record, await _agent_summaries(org_id, [record])), 201, "Phone number provisioned")


async def list_phone_numbers(token_info: dict[str, Any], active: str | None = None,
                             inbound_agent_id: str | None = None):
    """``GET /v1/sip/phone-numbers`` (listPhoneNumbers) → 200 ``data`` array, filtered by
    ``active`` (``true``/``false``) and ``inbound_agent_id``."""
    org_id = token_info["org_id"]
    numbers = await bundle().sip.list_numbers(org_id, None if active is None else active == "true", inbound_agent_id)
    agents = await _agent_summaries(org_id, numbers)
    return ok([number_json(n, agents) for n in numbers], 200, "Phone numbers retrieved")


async def import_phone_number(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/sip/phone-numbers/import`` (importPhoneNumber) → 201 ``PhoneNumberResponse``.

    A number of an external SIP provider / PBX: an inbound trunk serving the number (calls from
    the PBX, authenticated with ``sip_username``/``sip_password`` when given), an outbound trunk
    to ``termination_uri`` (for outbound calls from the number), and an individual dispatch rule
    (rooms ``call-_<caller>_<random>``) are provisioned; deleting the number removes them.
    404 unknown agent; 409 number already registered or served by another trunk."""
    v = bundle()
    org_id = token_info["org_id"]
    number = body["phone_number"]
    await _agent_exists(org_id, body["inbound_agent_id"])
    await _agent_exists(org_id, body.get("outbound_agent_id"))
    termination = body["termination_uri"].strip()
    if not termination:
        raise ApiError(400, "VALIDATION_ERROR", "termination_uri: must not be empty")
    if await v.sip.number_taken(number):
        raise ApiError(409, "CONFLICT", f"Phone number {number} is already registered")
    label = body.get("nickname") or number
    created: list[tuple[str, str]] = []
    try:
        inbound = await v.telephony.create_inbound_trunk(org_id, name=f"{label} inbound", numbers=[number],
                                                         auth_username=body.get("sip_username") or None,
                                                         auth_password=body.get("sip_password") or None)
        created.append(("trunk", inbound.trunk_id))
        outbound = await v.telephony.create_outbound_trunk(org_id, name=f"{label} outbound", address=termination,
                                                           numbers=[number],
                                                           auth_username=body.get("sip_username") or None,
                                                           auth_password=body.get("sip_password") or None)
        created.append(("trunk", outbound.trunk_id))
        rule = await v.telephony.create_dispatch_rule(org_id, name=f"{label} inbound", trunk_ids=[inbound.trunk_id],
                                                      room_prefix=IMPORT_ROOM_PREFIX, metadata={"number": number},
                                                      dispatch=await _dispatch(org_id))
        created.append(("rule", rule.rule_id))
        record = await v.sip.add_number(org_id=org_id, number=number, trunk_id=inbound.trunk_id,
                                        outbound_trunk_id=outbound.trunk_id, dispatch_rule_id=rule.rule_id,
                                        inbound_agent_id=body["inbound_agent_id"],
                                        outbound_agent_id=body.get("outbound_agent_id"), provider="custom",
                                        nickname=body.get("nickname"), now=utcnow(), provisioned=True)
    except (Conflict, TelephonyError) as exc:
        await undo_provisioning(org_id, created)
        if isinstance(exc, Conflict):
            raise ApiError(409, "CONFLICT", str(exc)) from None
        raise telephony_error(exc) from None
    return ok(number_json(record, await _agent_summaries(org_id, [record])), 201,
              "Phone number imported and provisioned")


async def get_phone_number(id_: str, token_info: dict[str, Any]):
    """``GET /v1/sip/phone-numbers/{id}`` (getPhoneNumber) → 200 ``PhoneNumberResponse`` with
    ``inbound_agent`` / ``outbound_agent`` summaries. 404 unknown."""
    org_id = token_info["org_id"]
    record = await bundle().sip.get_number(org_id, id_)
    if record is None:
        raise not_found("Phone number", id_)
    return ok(number_json(record, await _agent_summaries(org_id, [record])), 200, "Phone number retrieved")


async def update_phone_number(id_: str, body: dict[str, Any], token_info: dict[str, Any]):
    """``PUT /v1/sip/phone-numbers/{id}`` (updatePhoneNumber) → 200 ``PhoneNumberResponse``:
    agent bindings, nickname, is_active. 404 unknown number or agent."""
    parse_request(UpdatePhoneNumberBody, body or {})
    org_id = token_info["org_id"]
    v = bundle()
    if await v.sip.get_number(org_id, id_) is None:
        raise not_found("Phone number", id_)
    await _agent_exists(org_id, body.get("inbound_agent_id"))
    await _agent_exists(org_id, body.get("outbound_agent_id"))
    record = await v.sip.update_number(org_id, id_, body or {}, utcnow())
    if record is None:
        raise not_found("Phone number", id_)
    return ok(number_json(record, await _agent_summaries(org_id, [record])), 200, "Phone number updated")


async def delete_phone_number(id_: str, token_info: dict[str, Any]):
    """``DELETE /v1/sip/phone-numbers/{id}`` (deletePhoneNumber) → 200 ``data: {_id, number}``.
    Trunks and rule provisioned for it (import / purchase) are removed too. 404 unknown."""
    org_id = token_info["org_id"]
    record = await bundle().sip.delete_number(org_id, id_)
    if record is None:
        raise not_found("Phone number", id_)
    if record.provisioned:
        await undo_provisioning(org_id, [(k, i) for k, i in (("trunk", record.trunk_id), ("trunk", record.outbound_trunk_id),
                                                 ("rule", record.dispatch_rule_id)) if i])
    return ok({"_id": record.id, "number": record.number}, 200, "Phone number deleted")
