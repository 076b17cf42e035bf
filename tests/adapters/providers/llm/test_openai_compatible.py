"""The OpenAI-compatible client (adapters/providers/llm/openai_compatible.py) on a MockTransport (no network)."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from adapters.providers.llm import ChatMessage, LLMError, OpenAICompatibleLanguageModel
from tests.adapters.providers.llm.helpers import BASE, DENTAL_CALL, KEY, POST_CALL_SCHEMA, assert_complete


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError):
        OpenAICompatibleLanguageModel("ftp://x", KEY, "m")
    with pytest.raises(ValueError):
        OpenAICompatibleLanguageModel(BASE, KEY, "")


# ---- OpenAI-compatible: chat ------------------------------------------------------------------


class Recorder:
    """Scripted replies in order; records requests and JSON bodies."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    @property
    def body(self) -> dict:
        return json.loads(self.requests[-1].content)


def completion(content, **extra) -> httpx.Response:
    message = {"role": "assistant", "content": content, **extra}
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        },
    )


def online(rec: Recorder, key: str | None = KEY, **kw) -> OpenAICompatibleLanguageModel:
    return OpenAICompatibleLanguageModel(BASE, key, "gpt-4o-mini", transport=rec.transport, **kw)


async def test_chat_request_shape_and_parsing():
    rec = Recorder(completion("  Our branches open at 9.  "))
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "When do you open?")]
    reply = await online(rec).chat(messages, max_tokens=50, temperature=0.7)
    assert reply == "  Our branches open at 9.  "
    req = rec.requests[0]
    assert req.method == "POST" and str(req.url) == f"{BASE}/chat/completions"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.headers["Content-Type"] == "application/json"
    assert rec.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "When do you open?"}],
        "max_tokens": 50,
        "temperature": 0.7,
    }


async def test_chat_without_key_sends_no_authorization_and_accepts_content_parts():
    rec = Recorder(completion([{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]))
    assert await online(rec, key=None).chat([ChatMessage("user", "hi")]) == "Hello there"
    assert "Authorization" not in rec.requests[0].headers
    assert "response_format" not in rec.body


@pytest.mark.parametrize(
    ("response", "status", "fragment"),
    [
        (
            httpx.Response(
                401, json={"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}}
            ),
            401,
            "check LLM_API_KEY",
        ),
        (
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"message": "Rate limit reached"}}),
            429,
            "rate limited",
        ),
        (httpx.Response(500, text=f"upstream exploded, key={KEY}"), 500, "HTTP 500"),
        (httpx.Response(503, text=""), 503, "HTTP 503"),
    ],
)
async def test_http_errors_map_to_llm_error_without_the_key(response, status, fragment):
    rec = Recorder(response)
    with pytest.raises(LLMError) as err:
        await online(rec).chat([ChatMessage("user", "hi")])
    assert err.value.status == status
    assert fragment in str(err.value)
    assert KEY not in str(err.value) and KEY not in repr(err.value.args)
    if status == 429:
        assert err.value.retry_after == 7.0


def _raise(exc_type, message):
    def reply(request):
        raise exc_type(message, request=request)

    return reply


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (_raise(httpx.ReadTimeout, "timed out"), "did not answer within 2 s"),
        (_raise(httpx.ConnectError, f"connection refused for token {KEY}"), "request failed: ConnectError"),
    ],
)
async def test_transport_failures_map_to_llm_error(reply, fragment):
    rec = Recorder(reply)
    with pytest.raises(LLMError) as err:
        await online(rec, timeout=2).chat([ChatMessage("user", "hi")])
    assert fragment in str(err.value) and KEY not in str(err.value)
    assert err.value.status is None and err.value.__cause__ is None


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(200, text="<html>gateway</html>"), "not JSON"),
        (httpx.Response(200, json={"choices": []}), "unexpected response"),
        (httpx.Response(200, json={"object": "list"}), "unexpected response"),
        (httpx.Response(200, json={"error": {"message": "model overloaded"}}), "model overloaded"),
        (completion(None, refusal="I can't help with that"), "refused"),
        (completion(42), "unexpected response"),
    ],
)
async def test_bad_bodies_map_to_llm_error(response, fragment):
    with pytest.raises(LLMError, match=fragment):
        await online(Recorder(response)).chat([ChatMessage("user", "hi")])


async def test_chat_argument_errors_are_value_errors():
    model = online(Recorder())
    for bad in ([], [ChatMessage("robot", "x")], [ChatMessage("user", None)], ["hi"]):  # type: ignore[list-item]
        with pytest.raises(ValueError):
            await model.chat(bad)
    with pytest.raises(ValueError):
        await model.chat([ChatMessage("user", "x")], max_tokens=0)
    with pytest.raises(ValueError):
        await model.chat([ChatMessage("user", "x")], temperature=3)


# ---- OpenAI-compatible: extract ---------------------------------------------------------------


def good_answer() -> dict:
    return {
        "summary": "John Carter booked a toothache appointment for Friday at 3 pm.",
        "customer_name": "John Carter", "agent_name": "Anna", "phone_number": "555-123-4567",
        "email": "john.carter@example.com", "call_reason": "Toothache", "appointment_booked": True,
        "appointment_time": "Friday 3 pm", "customer_satisfied": True, "callback_requested": False,
        "escalated": False, "duration_minutes": 45, "price": 120.0, "sentiment": "positive",
        "category": "appointment", "rating": 5, "topics": ["toothache", "appointment"],
        "customer": {"first_name": "John", "last_name": "Carter", "phone": "555-123-4567"}, "language": "en",
    }  # fmt: skip


async def test_extract_request_asks_for_json_with_the_schema():
    rec = Recorder(completion(json.dumps(good_answer())))
    result = await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA, instructions="Analyse this dental call.")
    assert result == good_answer()
    body = rec.body
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0.0 and body["model"] == "gpt-4o-mini"
    system, user = body["messages"]
    assert system["role"] == "system" and user == {"role": "user", "content": DENTAL_CALL}
    assert system["content"].startswith("Analyse this dental call.")
    assert json.dumps(POST_CALL_SCHEMA, ensure_ascii=False) in system["content"]
    assert "EVERY property" in system["content"]


async def test_extract_repairs_missing_and_invalid_fields_from_the_transcript(caplog):
    answer = good_answer()
    del answer["phone_number"]  # missing
    answer["rating"] = 11  # out of range
    answer["sentiment"] = "ecstatic"  # not in the enum
    answer["appointment_booked"] = "yes"  # wrong type
    answer["customer"] = {"first_name": "John", "last_name": 7}  # nested: one invalid, one missing
    answer["unexpected"] = "dropped"
    fenced = "```json\n" + json.dumps(answer) + "\n```"
    with caplog.at_level("INFO", logger="adapters.providers.llm"):
        result = await online(Recorder(completion(fenced))).extract(DENTAL_CALL, POST_CALL_SCHEMA)
    jsonschema.validate(result, POST_CALL_SCHEMA)
    assert_complete(result, POST_CALL_SCHEMA)
    assert result["phone_number"] == "555-123-4567"  # from the transcript, offline
    assert result["appointment_booked"] is True
    assert result["sentiment"] == "positive"
    assert 1 <= result["rating"] <= 5
    assert result["customer"] == {"first_name": "John", "last_name": "Carter", "phone": "555-123-4567"}
    assert result["summary"] == answer["summary"] and result["agent_name"] == "Anna"  # valid fields kept
    assert "unexpected" not in result
    assert "phone_number" in caplog.text and "customer/last_name" in caplog.text


async def test_extract_repairs_a_non_object_nested_value_and_prose_around_json():
    schema = {"type": "object", "properties": {"caller": {"type": "object", "properties": {
        "email": {"type": "string"}}}, "escalated": {"type": "boolean"}}}  # fmt: skip
    content = 'Sure! Here it is: {"caller": "unknown", "escalated": false} Hope this helps.'
    result = await online(Recorder(completion(content))).extract(DENTAL_CALL, schema)
    assert result == {"caller": {"email": "john.carter@example.com"}, "escalated": False}


@pytest.mark.parametrize("content", ["not json at all", "[1, 2, 3]", '{"summary": '])
async def test_extract_bad_json_is_llm_error(content):
    with pytest.raises(LLMError, match="not JSON|not an object"):
        await online(Recorder(completion(content))).extract(DENTAL_CALL, POST_CALL_SCHEMA)


async def test_extract_key_never_leaks_in_json_errors():
    with pytest.raises(LLMError) as err:
        await online(Recorder(completion(f"oops {KEY}"))).extract("text", POST_CALL_SCHEMA)
    assert KEY not in str(err.value) and "***" in str(err.value)
