"""The OpenAI-compatible client (adapters/providers/llm/openai_compatible.py) on a MockTransport (no network)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from adapters.providers.llm import ChatMessage, LLMError, OpenAICompatibleLanguageModel
from tests.adapters.providers.llm.helpers import BASE, DENTAL_CALL, KEY, POST_CALL_SCHEMA


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


def bad_answer() -> dict:
    """good_answer() with every kind of schema problem: missing, out of range, not in the enum,
    wrong type, and in the nested object one invalid and one missing property."""
    answer = good_answer()
    del answer["phone_number"]
    answer["rating"] = 11
    answer["sentiment"] = "ecstatic"
    answer["appointment_booked"] = "yes"
    answer["customer"] = {"first_name": "John", "last_name": 7}
    return answer


async def test_extract_request_asks_for_json_with_the_schema():
    rec = Recorder(completion(json.dumps(good_answer())))
    result = await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA, instructions="Analyse this dental call.")
    assert result == good_answer()
    assert len(rec.requests) == 1
    body = rec.body
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0.0 and body["model"] == "gpt-4o-mini"
    system, user = body["messages"]
    assert system["role"] == "system" and user == {"role": "user", "content": DENTAL_CALL}
    assert system["content"].startswith("Analyse this dental call.")
    assert json.dumps(POST_CALL_SCHEMA, ensure_ascii=False) in system["content"]
    assert "EVERY property" in system["content"]


@pytest.mark.parametrize(
    "wrap",
    [
        lambda text: text,
        lambda text: "```json\n" + text + "\n```",
        lambda text: "Sure! Here it is: " + text + " Hope this helps.",
    ],
    ids=["plain", "fenced", "prose"],
)
async def test_extract_returns_a_valid_first_answer_as_is(wrap, caplog):
    rec = Recorder(completion(wrap(json.dumps(good_answer()))))
    with caplog.at_level("INFO", logger="adapters.providers.llm"):
        result = await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA)
    assert result == good_answer()
    assert type(result["price"]) is float and type(result["rating"]) is int  # the model's values, untouched
    assert len(rec.requests) == 1 and "asking once more" not in caplog.text


async def test_extract_retries_once_with_the_validation_error(caplog):
    first = json.dumps(bad_answer())
    rec = Recorder(completion(first), completion(json.dumps(good_answer())))
    with caplog.at_level("INFO", logger="adapters.providers.llm"):
        result = await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA)
    assert result == good_answer()  # the second answer, as the model wrote it
    assert len(rec.requests) == 2
    original = json.loads(rec.requests[0].content)["messages"]
    retry = rec.body
    assert retry["response_format"] == {"type": "json_object"} and retry["temperature"] == 0.0
    *conversation, answer, correction = retry["messages"]
    assert conversation == original
    assert answer == {"role": "assistant", "content": first}
    assert correction["role"] == "user"
    text = correction["content"]
    assert text.startswith("Your answer did not satisfy the schema: ")
    assert text.endswith("Reply with corrected JSON only.")
    for problem in (
        "rating: 11 is greater than the maximum of 5",
        "sentiment: 'ecstatic' is not one of ['positive', 'neutral', 'negative']",
        "appointment_booked: 'yes' is not of type 'boolean'",
        "customer/last_name: 7 is not of type 'string'",
        "customer: 'phone' is a required property",
        "phone_number: missing",
    ):
        assert problem in text
    assert "customer/phone: missing" not in text  # jsonschema already named it
    assert "did not satisfy the schema at" in caplog.text and "phone_number" in caplog.text
    assert "ecstatic" not in caplog.text  # the log names places, not the values


async def test_extract_two_invalid_answers_raise_llm_error():
    rec = Recorder(completion(json.dumps(bad_answer())), completion(json.dumps({**good_answer(), "rating": 0})))
    with pytest.raises(LLMError) as err:
        await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA)
    assert len(rec.requests) == 2  # one retry, no more
    message = str(err.value)
    assert message == (
        "openai-compatible: the answer did not satisfy the schema after one retry: "
        "rating: 0 is less than the minimum of 1"
    )
    assert err.value.status is None and KEY not in message


@pytest.mark.parametrize("content", ["not json at all", "[1, 2, 3]", '{"summary": ', ""])
async def test_extract_non_json_answer_gets_the_same_retry(content):
    rec = Recorder(completion(content), completion(json.dumps(good_answer())))
    assert await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA) == good_answer()
    *_, answer, correction = rec.body["messages"]
    assert answer == {"role": "assistant", "content": content}
    pattern = r"^Your answer did not satisfy the schema: \(root\): .*(not JSON|not an object)"
    assert re.search(pattern, correction["content"])


@pytest.mark.parametrize("content", ["not json at all", "[1, 2, 3]", '{"summary": '])
async def test_extract_bad_json_twice_is_llm_error(content):
    rec = Recorder(completion(content), completion(content))
    with pytest.raises(LLMError, match="after one retry: .*(not JSON|not an object)"):
        await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA)
    assert len(rec.requests) == 2


async def test_extract_drops_undeclared_keys_and_asks_for_missing_ones():
    schema = {"type": "object", "properties": {
        "caller": {"type": "object", "properties": {"email": {"type": "string"}}},
        "tasks": {"type": "array", "items": {"type": "object", "properties": {
            "task": {"type": "string"}, "due": {"type": "string"}}}},
        "escalated": {"type": "boolean"}}}  # fmt: skip
    first = {"caller": {}, "tasks": [{"task": "call back"}], "escalated": False, "note": "x"}
    second = {"caller": {"email": "a@b.example", "age": 3}, "tasks": [{"task": "call back", "due": "Friday"}],
              "escalated": False, "note": "x"}  # fmt: skip
    rec = Recorder(completion(json.dumps(first)), completion(json.dumps(second)))
    result = await online(rec).extract(DENTAL_CALL, schema)
    assert result == {"caller": {"email": "a@b.example"}, "tasks": [{"task": "call back", "due": "Friday"}],
                      "escalated": False}  # fmt: skip
    correction = rec.body["messages"][-1]["content"]
    assert "caller/email: missing" in correction and "tasks/0/due: missing" in correction
    assert "note" not in correction  # undeclared keys are dropped, not reported


async def test_extract_failure_of_the_retry_request_is_its_error():
    rec = Recorder(completion("no json"), httpx.Response(500, text="upstream exploded"))
    with pytest.raises(LLMError) as err:
        await online(rec).extract(DENTAL_CALL, POST_CALL_SCHEMA)
    assert err.value.status == 500 and "HTTP 500" in str(err.value)


async def test_extract_key_never_leaks_in_json_errors():
    rec = Recorder(completion(f"oops {KEY}"), completion(f"oops again {KEY}"))
    with pytest.raises(LLMError) as err:
        await online(rec).extract("text", POST_CALL_SCHEMA)
    assert KEY not in str(err.value) and "***" in str(err.value)


async def test_extract_key_never_leaks_in_schema_errors():
    answer = {**good_answer(), "sentiment": f"token {KEY}"}
    rec = Recorder(completion(json.dumps(answer)), completion(json.dumps(answer)))
    with pytest.raises(LLMError, match="sentiment") as err:
        await online(rec).extract("text", POST_CALL_SCHEMA)
    assert KEY not in str(err.value) and "***" in str(err.value)
