"""LiveKit's inbound SIP routing, as a pure function over trunks and dispatch rules.

An inbound call (called number, calling number, source address, optional PIN) is routed the
way a LiveKit SIP service routes it:

1. **Trunk.** Only inbound trunks whose ``allowed_numbers`` admit the calling number and whose
   ``allowed_addresses`` (IPs or CIDRs) admit the source address are considered. A trunk that
   lists the called number wins; two such trunks are a conflict (error). Otherwise the single
   *default* trunk (one with no ``numbers``) is used; two default trunks are a conflict. No
   trunk at all is allowed - then only rules without trunk ids can match.
2. **Dispatch rule.** Rules restricted to other calling numbers (``inbound_numbers``) drop out;
   PIN filtering as LiveKit does it (a sent PIN keeps only rules with that PIN; "no PIN" keeps
   only open rules). Rules naming the matched trunk ("specific") are preferred to rules naming
   no trunk ("default"). Within a set, rules are first checked for conflicts (same trunk +
   number + PIN) and then ordered by LiveKit's priority: PIN-protected before open; direct,
   then individual (caller), then callee; a rule without ``inbound_numbers`` gets +1000; ties by
   room name/prefix.
3. **Room.** Individual rule: ``<prefix>_<caller>_<random>``; callee rule: the called number,
   ``<prefix>_<called>`` with a prefix, plus ``_<random>`` when randomized; direct rule: its
   room name. With ``hide_phone_number`` the caller is reduced to its last 4 digits and the
   participant identity is a hash.

Multi-tenancy (this server's addition): a rule without trunk ids is the default of *its own
organization* only - it never captures calls arriving on another organization's trunk.
Numbers are compared after normalisation (a missing leading ``+`` is added).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

RULE_DIRECT = "direct"
RULE_INDIVIDUAL = "individual"
RULE_CALLEE = "callee"
_BASE_PRIORITY = {RULE_DIRECT: 0, RULE_INDIVIDUAL: 1, RULE_CALLEE: 2}
_ALPHABET = string.ascii_letters + string.digits


class RoutingError(Exception):
    """The call cannot be routed. ``reason``: ``conflict`` (ambiguous configuration),
    ``no_rule`` (nothing matched) or ``pin_required``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Trunk:
    """An inbound trunk: ``numbers`` it serves (empty = default trunk) and who may use it."""

    trunk_id: str
    org_id: str
    numbers: tuple[str, ...] = ()
    allowed_numbers: tuple[str, ...] = ()
    allowed_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    rule_id: str
    org_id: str
    rule_type: str = RULE_INDIVIDUAL
    trunk_ids: tuple[str, ...] = ()
    inbound_numbers: tuple[str, ...] = ()
    room_prefix: str = ""
    room_name: str = ""
    pin: str = ""
    randomize: bool = False
    hide_phone_number: bool = False
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundCall:
    called_number: str
    calling_number: str
    source_ip: str | None = None
    pin: str | None = None
    no_pin: bool = False
    sip_call_id: str = ""


@dataclass(frozen=True)
class Route:
    """Where the call goes: trunk (may be None), rule, room and the caller's participant."""

    trunk: Trunk | None
    rule: Rule
    room_name: str
    participant_identity: str
    participant_name: str
    attributes: dict[str, str]


def normalize_number(number: str) -> str:
    if not number:
        return ""
    return number if number.startswith("+") else "+" + number


def _address_allowed(source_ip: str | None, masks: Sequence[str]) -> bool:
    if not masks or not source_ip:
        return True
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return True  # LiveKit: an unparsable source address is not filtered
    for mask in masks:
        try:
            if "/" in mask:
                if address in ipaddress.ip_network(mask, strict=False):
                    return True
            elif address == ipaddress.ip_address(mask):
                return True
        except ValueError:
            continue
    return False


def _number_allowed(number: str, allowed: Sequence[str]) -> bool:
    if not allowed:
        return True
    number = normalize_number(number)
    return any(number == normalize_number(a) for a in allowed)


def match_trunk(trunks: Iterable[Trunk], call: InboundCall) -> Trunk | None:
    """The trunk for ``call`` (LiveKit MatchTrunk). Raises RoutingError('conflict')."""
    selected: Trunk | None = None
    defaults: list[Trunk] = []
    called = normalize_number(call.called_number)
    for trunk in trunks:
        if not _number_allowed(call.calling_number, trunk.allowed_numbers):
            continue
        if not _address_allowed(call.source_ip, trunk.allowed_addresses):
            continue
        if not trunk.numbers:
            defaults.append(trunk)
            continue
        if any(normalize_number(n) == called for n in trunk.numbers):
            if selected is not None and selected.trunk_id != trunk.trunk_id:
                raise RoutingError("conflict", f"Multiple SIP trunks matched for {call.called_number!r}")
            selected = trunk
    if selected is not None:
        return selected
    if len(defaults) > 1:
        raise RoutingError("conflict", f"Multiple default SIP trunks matched for {call.called_number!r}")
    return defaults[0] if defaults else None


def rule_priority(rule: Rule) -> int:
    """LiveKit's DispatchRulePriority: lower is preferred."""
    if rule.rule_type not in _BASE_PRIORITY:
        return 2**31 - 1
    priority = _BASE_PRIORITY[rule.rule_type] + (0 if rule.pin else 100)
    if not rule.inbound_numbers:
        priority += 1000
    return priority


def _room_key(rule: Rule) -> str:
    return rule.room_name if rule.rule_type == RULE_DIRECT else rule.room_prefix


def conflicting_rules(rules: Sequence[Rule]) -> tuple[Rule, Rule] | None:
    """Two rules sharing trunk + number + PIN (LiveKit ValidateDispatchRules), else None.
    A rule without trunks / numbers stands for "any" and collides only with other such rules."""
    seen: dict[tuple[str, str, str], Rule] = {}
    for rule in rules:
        for trunk in rule.trunk_ids or ("",):
            for number in rule.inbound_numbers or ("",):
                key = (rule.pin, trunk, normalize_number(number))
                if key in seen and seen[key].rule_id != rule.rule_id:
                    return seen[key], rule
                seen[key] = rule
    return None


def conflicting_trunks(trunks: Sequence[Trunk]) -> tuple[Trunk, Trunk] | None:
    """Two inbound trunks that would both claim a call (LiveKit ValidateTrunks), else None."""
    by_number: dict[str, dict[str, Trunk]] = {}
    for trunk in trunks:
        for number in trunk.numbers or ("",):
            inbound = by_number.setdefault(normalize_number(number), {})
            for allowed in trunk.allowed_numbers or ("",):
                key = normalize_number(allowed)
                other = inbound.get(key)
                if other is not None and other.trunk_id != trunk.trunk_id:
                    return other, trunk
                inbound[key] = trunk
    return None


def _select(rules: list[Rule]) -> Rule | None:
    if not rules:
        return None
    clash = conflicting_rules(rules)
    if clash:
        raise RoutingError("conflict", f"Conflicting SIP dispatch rules {clash[0].rule_id} and {clash[1].rule_id}")
    return sorted(rules, key=lambda r: (rule_priority(r), _room_key(r)))[0]


def match_rule(trunk: Trunk | None, rules: Iterable[Rule], call: InboundCall) -> Rule:
    """The dispatch rule for ``call`` arriving on ``trunk`` (LiveKit MatchDispatchRule)."""
    specific: list[Rule] = []
    default: list[Rule] = []
    any_rule = False
    for rule in rules:
        any_rule = True
        if rule.inbound_numbers and call.calling_number not in rule.inbound_numbers:
            continue
        if call.no_pin:
            if rule.pin:
                continue
        elif call.pin and (not rule.pin or rule.pin != call.pin):
            continue
        if not rule.trunk_ids:
            if trunk is None or rule.org_id == trunk.org_id:
                default.append(rule)
            continue
        if trunk is not None and trunk.trunk_id in rule.trunk_ids:
            specific.append(rule)
    if not any_rule:
        raise RoutingError("no_rule", "No SIP dispatch rules defined")
    best = _select(specific) or _select(default)
    if best is None:
        raise RoutingError("no_rule", f"No SIP dispatch rules matched for {call.called_number!r}")
    return best


def _random_suffix(n: int = 12) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def route_inbound_call(trunks: Iterable[Trunk], rules: Iterable[Rule], call: InboundCall,
                       random_suffix: Callable[[], str] = _random_suffix) -> Route:
    """Route one inbound call: trunk, rule, room name and the caller's participant.

    Raises :class:`RoutingError` for conflicts, when nothing matches, or when the matched rule
    wants a PIN the caller has not sent (``pin_required``).
    """
    trunk = match_trunk(list(trunks), call)
    rule = match_rule(trunk, list(rules), call)
    if rule.pin and not call.pin:
        raise RoutingError("pin_required", "This number requires a PIN")
    caller = call.calling_number
    identity = "sip_" + caller
    attributes = dict(rule.attributes)
    attributes["sip.callID"] = call.sip_call_id
    attributes["sip.trunkID"] = trunk.trunk_id if trunk else ""
    if rule.hide_phone_number:
        identity = "sip_" + hashlib.sha256(caller.encode()).hexdigest()[:16]
        caller = caller[-4:] if len(caller) > 4 else caller[-1:]
    else:
        attributes["sip.phoneNumber"] = call.calling_number
        attributes["sip.trunkPhoneNumber"] = call.called_number
    if rule.rule_type == RULE_INDIVIDUAL:
        room = f"{rule.room_prefix}_{caller}_{random_suffix()}"
    elif rule.rule_type == RULE_CALLEE:
        room = f"{rule.room_prefix}_{call.called_number}" if rule.room_prefix else call.called_number
        if rule.randomize:
            room += "_" + random_suffix()
    else:
        room = rule.room_name
    return Route(trunk=trunk, rule=rule, room_name=room, participant_identity=identity,
                 participant_name="Phone " + caller, attributes=attributes)
