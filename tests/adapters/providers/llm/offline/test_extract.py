"""Offline extraction (adapters/providers/llm/offline/extract.py and the modules it uses): realistic calls,
schema features, and a property-based check that every answer validates."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.providers.llm import LLMError, OfflineLanguageModel
from tests.adapters.providers.llm.helpers import (
    DENTAL_CALL,
    POST_CALL_SCHEMA,
    RU_CALL,
    RU_SCHEMA,
    SALES_CALL,
    SUPPORT_CALL,
    SUPPORT_SCHEMA,
    assert_complete,
    run,
)


async def test_offline_extract_dental_booking_call():
    result = await OfflineLanguageModel().extract(DENTAL_CALL, POST_CALL_SCHEMA)
    jsonschema.validate(result, POST_CALL_SCHEMA)
    assert_complete(result, POST_CALL_SCHEMA)
    assert result["phone_number"] == "555-123-4567"
    assert result["email"] == "john.carter@example.com"
    assert result["customer_name"] == "John Carter"
    assert result["agent_name"] == "Anna"
    assert result["customer"] == {"first_name": "John", "last_name": "Carter", "phone": "555-123-4567"}
    assert result["appointment_booked"] is True
    assert result["customer_satisfied"] is True
    assert result["callback_requested"] is False and result["escalated"] is False
    assert result["appointment_time"] == "Friday at 3 pm"
    assert result["duration_minutes"] == 45 and result["price"] == 120
    assert result["sentiment"] == "positive" and result["category"] == "appointment"
    assert result["rating"] >= 4
    assert "toothache" in result["call_reason"]
    assert "toothache" in result["topics"] and "appointment" in result["topics"]
    assert result["language"] == "en"
    sentences = [s.strip() for s in re.split(r"(?:Customer|Agent): ", result["summary"]) if s.strip()]
    assert 2 <= len(sentences) <= 3
    for sentence in sentences:  # extractive: every sentence is from the transcript
        assert sentence in DENTAL_CALL
    assert "toothache" in result["summary"] and "booked" in result["summary"]


async def test_offline_extract_unresolved_support_call_with_negations():
    result = await OfflineLanguageModel().extract(SUPPORT_CALL, SUPPORT_SCHEMA)
    jsonschema.validate(result, SUPPORT_SCHEMA)
    assert_complete(result, SUPPORT_SCHEMA)
    assert result["issue_resolved"] is False  # "still not working"
    assert result["customer_satisfied"] is False  # "frustrated", "unacceptable"
    assert result["callback_requested"] is True and result["escalated"] is True
    assert result["account_number"] == "AC-77812"
    assert result["callback_phone"] == "+1 (415) 555-0199"
    assert result["agent_name"] == "Mike"
    assert result["sentiment"] == "negative" and result["category"] == "technical_issue"
    assert result["callback_within_hours"] == 24
    assert result["repeat_calls"] == 3  # "the third time"
    assert result["csat"] <= 2
    assert any("not working" in c for c in result["complaints"])
    assert result["next_steps"] and "escalate" in result["next_steps"][0]
    assert "internet" in result["summary"] or "escalate" in result["summary"]


async def test_offline_extract_russian_call():
    result = await OfflineLanguageModel().extract(RU_CALL, RU_SCHEMA)
    jsonschema.validate(result, RU_SCHEMA)
    assert result["customer_name"] == "Иван Петров" and result["agent_name"] == "Ольга"
    assert result["phone"] == "+7 916 123-45-67"
    assert result["card_blocked"] is True and result["fraud_suspected"] is False
    assert result["customer_satisfied"] is True and result["sentiment"] == "positive"
    assert result["reissue_days"] == 5  # "за пять дней"
    assert result["fee"] == 500
    assert result["language"] == "ru"
    assert "карту" in result["summary"]


async def test_offline_extract_arrays_enums_and_entities():
    text = (
        "Customer: Hi, I have two questions. Can I pay my bill online? And why was I charged twice? "
        "You can email me at mary.jones@mail.example.org or at mj@work.example.com. "
        "Agent: You can pay online at https://pay.example.com. "
        "We will refund the duplicate charge of $30 by 2024-06-14."
    )
    schema = {
        "type": "object",
        "properties": {
            "emails": {"type": "array", "items": {"type": "string"}},
            "questions": {"type": "array", "items": {"type": "string"}},
            "topics": {"type": "array", "items": {"type": "string", "enum": ["billing", "refund", "shipping"]},
                       "uniqueItems": True},
            "refund_issued": {"type": "boolean"},
            "refund_amount": {"type": "number", "minimum": 0},
            "refund_date": {"type": "string", "format": "date"},
            "payment_link": {"type": "string"},
            "question_count": {"type": "integer"},
            "priority": {"type": "string", "enum": ["low", "medium", "high"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        },
    }  # fmt: skip
    result = await OfflineLanguageModel().extract(text, schema)
    jsonschema.validate(result, schema)
    assert result["emails"] == ["mary.jones@mail.example.org", "mj@work.example.com"]
    assert result["questions"] == ["Can I pay my bill online?", "And why was I charged twice?"]
    assert set(result["topics"]) == {"billing", "refund"}
    assert result["refund_issued"] is True and result["refund_amount"] == 30
    assert result["refund_date"] == "2024-06-14"
    assert result["payment_link"] == "https://pay.example.com"
    assert result["question_count"] == 2  # "two questions"
    assert result["priority"] == "low"  # nothing matches: the first value
    assert 1 <= len(result["tags"]) <= 3


async def test_offline_extract_sales_call_people_company_and_dates():
    schema = {
        "type": "object",
        "properties": {
            "prospect_name": {"type": "string"}, "sales_rep": {"type": "string"}, "company": {"type": "string"},
            "interested": {"type": "boolean"}, "team_size": {"type": "integer"}, "budget": {"type": "number"},
            "price_per_month": {"type": "number"}, "demo_scheduled": {"type": "boolean"},
            "demo_date": {"type": "string"}, "competitor_mentioned": {"type": "boolean"},
            "action_items": {"type": "array", "items": {"type": "object", "properties": {
                "task": {"type": "string"}, "due": {"type": "string"}}}},
        },
    }  # fmt: skip
    result = await OfflineLanguageModel().extract(SALES_CALL, schema)
    jsonschema.validate(result, schema)
    assert result["prospect_name"] == "Sarah Miller"  # named by the other party: "Is this Sarah Miller?"
    assert result["sales_rep"] == "Tom" and result["company"] == "CloudCo"
    assert result["interested"] is True and result["demo_scheduled"] is True
    assert result["competitor_mentioned"] is False
    assert (result["team_size"], result["budget"]) == (8, 300)
    assert result["demo_date"] == "next Tuesday"
    assert {"task": SALES_CALL.splitlines()[4].removeprefix("Sales: "), "due": "Thursday"} in result["action_items"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I lost my card yesterday.", {"card_blocked": False, "email_sent": False, "wants_newsletter": False}),
        (
            "I've sent you the email. I don't want the newsletter.",
            {"card_blocked": False, "email_sent": True, "wants_newsletter": False},
        ),
        (
            "Your card is now blocked. Yes, sign me up, I want the newsletter.",
            {"card_blocked": True, "email_sent": False, "wants_newsletter": True},
        ),
        ("The card was not blocked, sorry.", {"card_blocked": False, "email_sent": False, "wants_newsletter": False}),
        ("Was your card blocked?", {"card_blocked": False, "email_sent": False, "wants_newsletter": False}),
    ],
)
async def test_offline_extract_generic_booleans_need_the_predicate_and_respect_negation(text, expected):
    schema = {"type": "object", "properties": {k: {"type": "boolean"} for k in expected}}
    assert await OfflineLanguageModel().extract(text, schema) == expected


async def test_offline_extract_enum_fallback_prefers_a_catch_all_value():
    schema = {"type": "object", "properties": {"intent": {"enum": ["sales", "support", "other"]}}}
    assert await OfflineLanguageModel().extract("Lorem ipsum dolor.", schema) == {"intent": "other"}


async def test_offline_extract_empty_text_still_fills_every_field():
    result = await OfflineLanguageModel().extract("", POST_CALL_SCHEMA)
    jsonschema.validate(result, POST_CALL_SCHEMA)
    assert_complete(result, POST_CALL_SCHEMA)
    assert result["appointment_booked"] is False and result["phone_number"] == "" and result["topics"] == []


async def test_offline_extract_refs_anyof_and_constraints():
    schema = {
        "$defs": {"person": {"type": "object", "properties": {"name": {"type": "string"},
                                                              "email": {"type": ["string", "null"]}}}},
        "type": "object",
        "properties": {
            "caller": {"$ref": "#/$defs/person"},
            "note": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 12}]},
            "code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{5}$"},
            "seats": {"type": "integer", "minimum": 1, "maximum": 8, "multipleOf": 2},
            "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "kind": {"const": "call"},
            "flags": {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "uniqueItems": True},
            "short": {"type": "string", "minLength": 40},
        },
        "required": ["caller", "code"],
    }  # fmt: skip
    text = "Hello, this is Mr. Brown, brown@example.net. My ticket is AB-12345 and we need 5 seats. Thanks."
    result = await OfflineLanguageModel().extract(text, schema)
    jsonschema.validate(result, schema)
    assert_complete(result, schema)
    assert result["caller"] == {"name": "Brown", "email": "brown@example.net"}
    assert result["code"] == "AB-12345"
    assert result["seats"] in (4, 6) and 0 < result["score"] < 1
    assert result["kind"] == "call" and sorted(result["flags"]) == [False, True]
    assert len(result["note"]) <= 12 and len(result["short"]) >= 40


async def test_offline_extract_unsatisfiable_constraint_is_llm_error():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]{4}$"}}}
    with pytest.raises(LLMError, match="code"):
        await OfflineLanguageModel().extract("no digits here", schema)


# ---- offline extract: property-based --------------------------------------------------------------

_NAMES = st.one_of(
    st.sampled_from([
        "summary", "customer_name", "agent_name", "phone", "email", "appointment_booked", "customer_satisfied",
        "issue_resolved", "sentiment", "count", "price", "duration_minutes", "appointment_date", "tags", "topics",
        "questions", "action_items", "account_number", "language", "reason", "first_name", "url", "rating",
    ]),
    st.from_regex(r"[a-z][a-zA-Z_]{0,12}", fullmatch=True),
    st.from_regex(r"[а-я]{1,8}", fullmatch=True),
)  # fmt: skip
_WORDS = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), min_size=1, max_size=12)


def _string_schema():
    base = st.fixed_dictionaries({"type": st.just("string")}, optional={"description": _WORDS})
    lengths = st.tuples(st.integers(0, 6), st.integers(0, 30)).map(
        lambda t: {"minLength": t[0], "maxLength": t[0] + t[1]}
    )
    return st.one_of(base, st.tuples(base, lengths).map(lambda t: {**t[0], **t[1]}))


def _number_schema():
    def bounds(t):
        kind, lo, span, mode, step = t
        schema: dict = {"type": kind}
        if mode == 1:
            schema.update(minimum=lo, maximum=lo + span)
        elif mode == 2:
            schema.update(exclusiveMinimum=lo, maximum=lo + span + 1)
        elif mode == 3:
            schema.update(minimum=lo)
        elif mode == 4:
            schema.update(exclusiveMaximum=lo)
        if step and kind == "integer":
            schema.update(multipleOf=step, minimum=lo, maximum=lo + span + 2 * step)
            schema.pop("exclusiveMinimum", None), schema.pop("exclusiveMaximum", None)
        if step and kind == "number":
            schema.update(multipleOf=0.5)
            schema.pop("exclusiveMinimum", None), schema.pop("exclusiveMaximum", None)
        return schema

    return st.tuples(st.sampled_from(["integer", "number"]), st.integers(-50, 50), st.integers(0, 20),
                     st.integers(0, 4), st.sampled_from([0, 0, 1, 2, 5])).map(bounds)  # fmt: skip


_ENUM = st.lists(st.one_of(_WORDS, st.sampled_from(["positive", "negative", "neutral", "booked", "other"])),
                 min_size=1, max_size=5, unique=True).map(lambda v: {"type": "string", "enum": v})  # fmt: skip
_SCALARS = st.one_of(_string_schema(), _number_schema(), st.just({"type": "boolean"}), _ENUM,
                     st.just({"type": ["string", "null"]}))  # fmt: skip


def _array_of(items):
    def build(t):
        item, lo, extra, unique = t
        schema = {"type": "array", "items": item, "minItems": lo, "maxItems": lo + extra}
        capacity = (
            2
            if item.get("type") == "boolean"
            else len(item["enum"]) if "enum" in item else 99 if item == {"type": "string"} else 0
        )  # how many distinct values can exist
        if unique and capacity:
            schema["uniqueItems"] = True
            schema["minItems"] = min(lo, capacity)
            schema["maxItems"] = max(schema["maxItems"], schema["minItems"])
        return schema

    return st.tuples(items, st.integers(0, 2), st.integers(0, 3), st.booleans()).map(build)


def _object_of(children):
    return st.tuples(st.dictionaries(_NAMES, children, min_size=1, max_size=5), st.booleans()).map(
        lambda t: {"type": "object", "properties": t[0], **({"required": sorted(t[0])} if t[1] else {})}
    )


_SCHEMAS = _object_of(st.recursive(_SCALARS, lambda ch: st.one_of(_array_of(ch), _object_of(ch)), max_leaves=8))
_LINES = st.sampled_from(DENTAL_CALL.splitlines() + SUPPORT_CALL.splitlines() + RU_CALL.splitlines() + [
    "Call me at 020 7946 0958 or write to a.b@c.io.", "We were 3 adults and two kids.", "It costs €49.99.",
    "I am not happy, this didn't work at all!", "Is it booked? No.", "", "   ", "???", "42", "-7.5 and 1,250,000",
])  # fmt: skip
_TEXTS = st.one_of(
    st.lists(_LINES, max_size=8).map("\n".join),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200),
    st.lists(st.one_of(_LINES, _WORDS), max_size=6).map(" ".join),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(schema=_SCHEMAS, text=_TEXTS)
def test_offline_extract_output_always_validates(schema, text):
    result = run(OfflineLanguageModel().extract(text, schema))
    jsonschema.validate(result, schema)
    assert_complete(result, schema)
    assert json.loads(json.dumps(result, allow_nan=False)) == result  # plain, finite JSON
    assert result == run(OfflineLanguageModel().extract(text, schema))  # deterministic
