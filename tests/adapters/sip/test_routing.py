"""LiveKit inbound routing as a pure function: trunk choice, rule priority, room names, conflicts."""

from __future__ import annotations

import pytest

from adapters.sip.routing import (
    InboundCall,
    RoutingError,
    Rule,
    Trunk,
    conflicting_rules,
    conflicting_trunks,
    match_rule,
    match_trunk,
    route_inbound_call,
    rule_priority,
)

CALL = InboundCall(called_number="+14155551234", calling_number="+15105550000", source_ip="203.0.113.7")


def fixed() -> str:
    return "RANDOM"


def test_called_number_selects_its_trunk_over_the_default():
    specific = Trunk("ST_specific", "org-a", ("+14155551234",))
    default = Trunk("ST_default", "org-b")
    other = Trunk("ST_other", "org-a", ("+14155559999",))
    assert match_trunk([default, other, specific], CALL) is specific


def test_numbers_are_normalised_with_a_plus():
    trunk = Trunk("ST_a", "org", ("14155551234",))
    assert match_trunk([trunk], CALL) is trunk


def test_default_trunk_when_no_number_matches():
    default = Trunk("ST_default", "org")
    assert match_trunk([Trunk("ST_x", "org", ("+1999",)), default], CALL) is default
    assert match_trunk([Trunk("ST_x", "org", ("+1999",))], CALL) is None


def test_conflicting_trunks_are_rejected():
    with pytest.raises(RoutingError) as exc:
        match_trunk([Trunk("ST_a", "o", ("+14155551234",)), Trunk("ST_b", "o", ("+14155551234",))], CALL)
    assert exc.value.reason == "conflict"
    with pytest.raises(RoutingError):
        match_trunk([Trunk("ST_a", "o"), Trunk("ST_b", "o")], CALL)


def test_allowed_numbers_and_addresses_filter_trunks():
    locked = Trunk("ST_locked", "o", ("+14155551234",), allowed_numbers=("+19995550000",))
    assert match_trunk([locked], CALL) is None
    by_ip = Trunk("ST_ip", "o", ("+14155551234",), allowed_addresses=("198.51.100.0/24",))
    assert match_trunk([by_ip], CALL) is None
    assert match_trunk([Trunk("ST_ip2", "o", ("+14155551234",), allowed_addresses=("203.0.113.0/24",))], CALL)
    assert match_trunk([Trunk("ST_ip3", "o", ("+14155551234",), allowed_addresses=("203.0.113.7",))], CALL)


def test_rule_priority_follows_livekit():
    direct_pin = Rule("a", "o", "direct", pin="1234", room_name="r")
    individual_pin = Rule("b", "o", "individual", pin="1234")
    direct = Rule("c", "o", "direct", room_name="r")
    individual = Rule("d", "o", "individual")
    callee = Rule("e", "o", "callee")
    with_numbers = Rule("f", "o", "individual", inbound_numbers=("+15105550000",))
    order = sorted([callee, individual, direct, individual_pin, direct_pin], key=rule_priority)
    assert [r.rule_id for r in order] == ["a", "b", "c", "d", "e"]
    assert rule_priority(with_numbers) < rule_priority(individual)
    assert rule_priority(individual) == 1101


def test_specific_rules_beat_default_rules():
    trunk = Trunk("ST_a", "org-a", ("+14155551234",))
    wildcard = Rule("SDR_any", "org-a", "direct", room_name="lobby")  # better priority, but no trunk
    specific = Rule("SDR_specific", "org-a", "individual", trunk_ids=("ST_a",), room_prefix="in")
    assert match_rule(trunk, [wildcard, specific], CALL) is specific


def test_default_rules_stay_in_their_organization():
    trunk = Trunk("ST_b", "org-b", ("+14155551234",))
    foreign = Rule("SDR_a", "org-a", "individual", room_prefix="a")
    with pytest.raises(RoutingError) as exc:
        match_rule(trunk, [foreign], CALL)
    assert exc.value.reason == "no_rule"
    own = Rule("SDR_b", "org-b", "individual", room_prefix="b")
    assert match_rule(trunk, [foreign, own], CALL) is own


def test_rules_for_other_callers_and_pins():
    trunk = Trunk("ST_a", "o", ("+14155551234",))
    for_other_caller = Rule("SDR_1", "o", "individual", trunk_ids=("ST_a",), inbound_numbers=("+1000",))
    pinned = Rule("SDR_2", "o", "individual", trunk_ids=("ST_a",), pin="42", room_prefix="p")
    open_rule = Rule("SDR_3", "o", "individual", trunk_ids=("ST_a",), room_prefix="o")
    assert match_rule(trunk, [for_other_caller, pinned, open_rule], CALL) is pinned
    no_pin = InboundCall(CALL.called_number, CALL.calling_number, no_pin=True)
    assert match_rule(trunk, [pinned, open_rule], no_pin) is open_rule
    with_pin = InboundCall(CALL.called_number, CALL.calling_number, pin="42")
    assert match_rule(trunk, [pinned, open_rule], with_pin) is pinned
    with pytest.raises(RoutingError) as exc:
        route_inbound_call([trunk], [pinned], CALL)
    assert exc.value.reason == "pin_required"


def test_conflicting_rules_are_rejected():
    trunk = Trunk("ST_a", "o", ("+14155551234",))
    one = Rule("SDR_1", "o", "individual", trunk_ids=("ST_a",))
    two = Rule("SDR_2", "o", "callee", trunk_ids=("ST_a",))
    assert conflicting_rules([one, two]) == (one, two)
    with pytest.raises(RoutingError) as exc:
        match_rule(trunk, [one, two], CALL)
    assert exc.value.reason == "conflict"
    assert conflicting_rules([one, Rule("SDR_3", "o", trunk_ids=("ST_b",))]) is None


def test_trunk_conflicts_at_creation():
    assert conflicting_trunks([Trunk("a", "o", ("+1",)), Trunk("b", "o", ("+2",))]) is None
    clash = conflicting_trunks([Trunk("a", "o", ("+1",)), Trunk("b", "o", ("1", "+2"))])
    assert clash and {clash[0].trunk_id, clash[1].trunk_id} == {"a", "b"}
    assert conflicting_trunks([Trunk("a", "o"), Trunk("b", "p")])  # two defaults
    # the same number, but restricted to different callers, is fine (LiveKit AllowedNumbers)
    assert conflicting_trunks([Trunk("a", "o", ("+1",), ("+5",)), Trunk("b", "o", ("+1",), ("+6",))]) is None


def test_room_names_and_participant():
    trunk = Trunk("ST_a", "o", ("+14155551234",))
    individual = Rule("SDR_1", "o", "individual", trunk_ids=("ST_a",), room_prefix="inbound-")
    route = route_inbound_call([trunk], [individual], CALL, random_suffix=fixed)
    assert route.room_name == "inbound-_+15105550000_RANDOM"
    assert route.participant_identity == "sip_+15105550000"
    assert route.attributes["sip.trunkPhoneNumber"] == "+14155551234"
    callee = Rule("SDR_2", "o", "callee", trunk_ids=("ST_a",), room_prefix="line", randomize=True)
    assert route_inbound_call([trunk], [callee], CALL, random_suffix=fixed).room_name == "line_+14155551234_RANDOM"
    direct = Rule("SDR_3", "o", "direct", trunk_ids=("ST_a",), room_name="conference")
    assert route_inbound_call([trunk], [direct], CALL).room_name == "conference"
    hidden = Rule("SDR_4", "o", "individual", trunk_ids=("ST_a",), room_prefix="h", hide_phone_number=True)
    route = route_inbound_call([trunk], [hidden], CALL, random_suffix=fixed)
    assert route.room_name == "h_0000_RANDOM" and "sip.phoneNumber" not in route.attributes
    assert route.participant_identity.startswith("sip_") and "5105550000" not in route.participant_identity


def test_no_rules_at_all():
    with pytest.raises(RoutingError) as exc:
        route_inbound_call([Trunk("ST_a", "o", ("+14155551234",))], [], CALL)
    assert exc.value.reason == "no_rule"
