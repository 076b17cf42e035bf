"""The LLM adapter: OpenAI-compatible client on a MockTransport (no network) and the offline engine."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.providers.base import ProviderError
from adapters.providers.llm import (
    ChatMessage,
    LanguageModel,
    LLMError,
    OfflineLanguageModel,
    OpenAICompatibleLanguageModel,
    detect_language,
    language_model,
)

KEY = "sk-TEST-4f1c9a7e2b8d6053a1e4c7b9d2f8a6e0"
BASE = "https://llm.example.test/v1"


# ---- fixtures: transcripts and schemas -----------------------------------------------------

DENTAL_CALL = """\
Agent: Thank you for calling Bright Smile Dental, this is Anna speaking. How can I help you today?
Customer: Hi, my name is John Carter. I'm calling because I have a toothache and I'd like to book an appointment.
Agent: I'm sorry to hear that. Can I get a phone number to reach you?
Customer: Sure, it's 555-123-4567. My email is john.carter@example.com.
Agent: We have an opening on Friday at 3 pm. Would that work?
Customer: Yes, Friday at 3 pm works for me.
Agent: Great, you're booked for Friday at 3 pm with Dr. Lee. The visit takes about 45 minutes and the checkup costs $120.
Customer: Perfect, thank you so much, that's very helpful.
Agent: You're welcome. Have a nice day!"""

SUPPORT_CALL = """\
[00:00:01] Agent: Acme Telecom support, Mike speaking. How may I help you?
[00:00:05] Customer: Hi. My internet has not been working since Monday and I'm really frustrated.
[00:00:12] Agent: I'm sorry about that. Could you give me your account number?
[00:00:15] Customer: It's AC-77812. This is the third time I'm calling about this.
[00:00:30] Agent: I've restarted the line from our side. Is it working now?
[00:00:41] Customer: No, it's still not working. This is unacceptable.
[00:00:50] Agent: I understand. I'll escalate this to our technical team, and a technician will call you back within 24 hours.
[00:00:58] Customer: Fine. Please call me back at +1 (415) 555-0199.
[00:01:05] Agent: Will do. Anything else?
[00:01:07] Customer: No. Bye."""

RU_CALL = """\
Оператор: Здравствуйте, банк «Восток», меня зовут Ольга. Чем могу помочь?
Клиент: Добрый день, меня зовут Иван Петров. Я потерял карту, хочу её заблокировать.
Оператор: Конечно. Назовите, пожалуйста, номер телефона.
Клиент: +7 916 123-45-67.
Оператор: Карта заблокирована. Новую карту выпустим за пять дней, стоимость 500 рублей.
Клиент: Отлично, спасибо большое!"""

POST_CALL_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "2-3 sentence summary of the call"},
        "customer_name": {"type": "string"},
        "agent_name": {"type": "string"},
        "phone_number": {"type": "string"},
        "email": {"type": "string"},
        "call_reason": {"type": "string", "description": "Why the customer called"},
        "appointment_booked": {"type": "boolean"},
        "appointment_time": {"type": "string"},
        "customer_satisfied": {"type": "boolean"},
        "callback_requested": {"type": "boolean"},
        "escalated": {"type": "boolean", "description": "Was the call transferred to a human supervisor"},
        "duration_minutes": {"type": "integer", "minimum": 0},
        "price": {"type": "number"},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "category": {"type": "string", "enum": ["billing", "appointment", "emergency", "other"]},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "topics": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "customer": {
            "type": "object",
            "properties": {
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "phone": {"type": "string"},
            },
            "required": ["first_name", "last_name", "phone"],
        },
        "language": {"type": "string"},
    },
    "required": ["summary", "customer_name", "appointment_booked"],
    "additionalProperties": False,
}

SUPPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "issue_resolved": {"type": "boolean"},
        "customer_satisfied": {"type": "boolean"},
        "callback_requested": {"type": "boolean"},
        "escalated": {"type": "boolean"},
        "account_number": {"type": "string"},
        "callback_phone": {"type": "string"},
        "agent_name": {"type": "string"},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "category": {"type": "string", "enum": ["billing", "technical_issue", "sales", "other"]},
        "callback_within_hours": {"type": "integer", "minimum": 0},
        "repeat_calls": {"type": "integer", "description": "How many times the customer has called about this"},
        "csat": {"type": "integer", "minimum": 1, "maximum": 5},
        "complaints": {"type": "array", "items": {"type": "string"}},
        "next_steps": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
}

RU_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "customer_name": {"type": "string"},
        "agent_name": {"type": "string"},
        "phone": {"type": "string"},
        "card_blocked": {"type": "boolean", "description": "Карта заблокирована"},
        "fraud_suspected": {"type": "boolean"},
        "customer_satisfied": {"type": "boolean"},
        "reissue_days": {"type": "integer", "description": "Срок выпуска новой карты в днях"},
        "fee": {"type": "number", "description": "Стоимость перевыпуска"},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "language": {"type": "string"},
    },
}

BANK_PROMPT = """\
You are the voice assistant of Acme Bank. Answer briefly and politely.
Knowledge:
- Opening hours: Monday to Friday, 9:00-18:00.
- Card replacement costs $5 and takes 5 working days.
- Branch address: 12 King Street, Springfield.
Q: How do I reset my PIN?
A: You can reset your PIN in the mobile app under Cards > Security.
Вопрос: Как заблокировать карту?
Ответ: Заблокировать карту можно в приложении или по телефону 8-800-100-00-00.
Вопрос: Когда работает отделение?
Ответ: Отделения работают с понедельника по пятницу, с 9:00 до 18:00.
"""


def run(coro):
    return asyncio.run(coro)


def assert_complete(value, schema, root=None):
    """Every declared property present at every level of nested objects (and arrays of objects)."""
    root = root or schema
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        assert set(value) == set(schema["properties"]) | set(schema.get("required", [])), (value, schema)
        for key, sub in schema["properties"].items():
            assert_complete(value[key], sub, root)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            assert_complete(item, schema["items"], root)


# ---- interface --------------------------------------------------------------------------


def test_both_engines_satisfy_the_protocol_and_say_what_they_are():
    offline = OfflineLanguageModel()
    online = OpenAICompatibleLanguageModel(BASE, KEY, "gpt-4o-mini", transport=httpx.MockTransport(lambda r: None))
    assert isinstance(offline, LanguageModel) and isinstance(online, LanguageModel)
    assert (offline.name, online.name) == ("offline-template", "openai-compatible")
    assert offline.generative is False and online.generative is True
    assert {"offline", "deterministic", "retrieval_chat", "schema_extraction"} <= offline.capabilities
    assert "not" in (OfflineLanguageModel.__doc__ or "").lower()  # the docstring disclaims generation
    assert issubclass(LLMError, ProviderError)


def test_chat_message_is_frozen():
    message = ChatMessage("user", "hi")
    with pytest.raises(AttributeError):
        message.content = "changed"  # type: ignore[misc]


def test_factory_picks_the_engine_from_settings():
    assert isinstance(language_model(None, None, None), OfflineLanguageModel)
    assert isinstance(language_model("  ", "k", "m"), OfflineLanguageModel)
    model = language_model(BASE + "/", KEY, None)
    assert isinstance(model, OpenAICompatibleLanguageModel)
    assert model.model == "gpt-4o-mini" and model.base_url == BASE
    assert language_model(BASE, None, "llama3").model == "llama3"


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError):
        OpenAICompatibleLanguageModel("ftp://x", KEY, "m")
    with pytest.raises(ValueError):
        OpenAICompatibleLanguageModel(BASE, KEY, "")


def test_language_detection_by_script():
    assert detect_language("Здравствуйте, как дела?") == "ru"
    assert detect_language("Hello there") == "en"
    assert detect_language("12345", default="ru") == "ru"
    assert detect_language("Мой адрес: a@b.com, спасибо") == "ru"


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


@pytest.mark.parametrize(
    "schema",
    [{"type": "string"}, {"type": "array", "items": {}}, {"type": "object", "properties": {"a": {"type": 5}}}, []],
)
async def test_extract_rejects_non_object_or_invalid_schemas(schema):
    with pytest.raises(ValueError):
        await OfflineLanguageModel().extract("text", schema)
    with pytest.raises(ValueError):
        await online(Recorder()).extract("text", schema)


# ---- offline chat -----------------------------------------------------------------------------


async def ask(question: str, system: str = BANK_PROMPT, history: list[ChatMessage] | None = None, **kw) -> str:
    messages = [ChatMessage("system", system), *(history or []), ChatMessage("user", question)]
    return await OfflineLanguageModel().chat(messages, **kw)


async def test_offline_chat_greets_back_in_the_users_language():
    assert await ask("Hello!") == "Hello! How can I help you?"
    assert await ask("good morning") == "Hello! How can I help you?"
    assert await ask("Привет") == "Здравствуйте! Чем могу помочь?"
    assert await ask("Добрый день!") == "Здравствуйте! Чем могу помочь?"


async def test_offline_chat_answers_from_knowledge_by_word_overlap():
    assert await ask("What are your opening hours?") == "Opening hours: Monday to Friday, 9:00-18:00."
    assert (
        await ask("how can i reset my pin code") == "You can reset your PIN in the mobile app under Cards > Security."
    )
    assert await ask("How much does a card replacement cost?") == "Card replacement costs $5 and takes 5 working days."
    assert await ask("where is your branch address") == "Branch address: 12 King Street, Springfield."
    assert await ask("Hi, what does card replacement cost?") == (
        "Hello! Card replacement costs $5 and takes 5 working days."
    )


async def test_offline_chat_answers_in_russian_from_russian_snippets():
    assert await ask("Как мне заблокировать карту?") == (
        "Заблокировать карту можно в приложении или по телефону 8-800-100-00-00."
    )
    # The same topic exists in English and Russian: the Russian question gets the Russian snippet.
    assert (
        await ask("Когда работает ваше отделение?") == "Отделения работают с понедельника по пятницу, с 9:00 до 18:00."
    )


async def test_offline_chat_says_it_does_not_know_and_offers_a_human():
    unknown_en = "I'm sorry, I don't know the answer to that. Would you like me to connect you with a human agent?"
    unknown_ru = "Извините, я не знаю ответа на этот вопрос. Хотите, я соединю вас с оператором?"
    assert await ask("What is the weather on Mars?") == unknown_en
    assert await ask("Сколько стоит ипотека?") == unknown_ru
    assert await ask("What is your mortgage rate?", system="You are a helpful voice assistant. Answer briefly.") == (
        unknown_en
    )
    # Instructions in the system prompt are not knowledge.
    assert await ask("Can you answer briefly?") == unknown_en


async def test_offline_chat_hands_off_to_a_human():
    connect = "Of course. I'm connecting you with a human agent now, please stay on the line."
    assert await ask("I want to talk to a real person") == connect
    assert (
        await ask("Соедините с оператором") == "Конечно. Соединяю вас с оператором, пожалуйста, оставайтесь на линии."
    )
    offer = await ask("What is the weather on Mars?")
    history = [ChatMessage("user", "What is the weather on Mars?"), ChatMessage("assistant", offer)]
    assert await ask("yes please", history=history) == connect
    assert await ask("no", history=history) == "All right. Is there anything else I can help you with?"


async def test_offline_chat_thanks_goodbye_and_no_user_turn():
    assert await ask("thanks a lot!") == "You're welcome! Is there anything else I can help you with?"
    assert await ask("Спасибо!") == "Пожалуйста! Могу ли я помочь чем-то ещё?"
    assert await ask("ok bye") == "Goodbye, and have a nice day!"
    assert await OfflineLanguageModel().chat([ChatMessage("system", "Ты ассистент банка.")]) == (
        "Здравствуйте! Чем могу помочь?"
    )


async def test_offline_chat_uses_the_last_user_message_and_accepts_dict_messages():
    messages = [
        {"role": "system", "content": BANK_PROMPT},
        {"role": "user", "content": "How do I reset my PIN?"},
        {"role": "assistant", "content": "You can reset your PIN in the mobile app under Cards > Security."},
        {"role": "user", "content": "And the opening hours?"},
    ]
    assert await OfflineLanguageModel().chat(messages) == "Opening hours: Monday to Friday, 9:00-18:00."


async def test_offline_chat_respects_max_tokens():
    system = "FAQ:\nQ: What documents do I need?\nA: " + " ".join(f"Bring document number {i}." for i in range(1, 40))
    full = await ask("What documents do I need?", system=system)
    short = await ask("What documents do I need?", system=system, max_tokens=12)
    assert len(full.split()) > 100
    assert short == "Bring document number 1. Bring document number 2."
    assert len((await ask("What documents do I need?", system=system, max_tokens=1)).split()) == 1


async def test_offline_chat_is_deterministic_and_ignores_temperature():
    a = await ask("opening hours?", temperature=0.0)
    b = await ask("opening hours?", temperature=2.0)
    assert a == b == "Opening hours: Monday to Friday, 9:00-18:00."


async def test_offline_engine_drives_the_realtime_speech_loop():
    from adapters.realtime.loop import SpeechLoop

    events: list[dict] = []

    async def emit(event: dict) -> None:
        events.append(event)

    loop = SpeechLoop(asr=None, tts=None, llm=OfflineLanguageModel(), emit=emit, output=None, system_prompt=BANK_PROMPT)
    await loop.say_text("What are your opening hours?")
    await loop.say_text("Thanks!")
    replies = [e["text"] for e in events if e["type"] == "reply"]
    assert replies == ["Opening hours: Monday to Friday, 9:00-18:00.",
                       "You're welcome! Is there anything else I can help you with?"]  # fmt: skip


_chat_text = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    system=st.one_of(st.just(BANK_PROMPT), _chat_text),
    turns=st.lists(st.tuples(st.sampled_from(["user", "assistant"]), _chat_text), min_size=1, max_size=4),
)
def test_offline_chat_always_answers_with_text(system, turns):
    messages = [ChatMessage("system", system)] + [ChatMessage(r, c) for r, c in turns]
    reply = run(OfflineLanguageModel().chat(messages, max_tokens=60))
    assert isinstance(reply, str) and reply.strip()
    assert reply == run(OfflineLanguageModel().chat(messages, max_tokens=60))


# ---- offline extract: realistic calls -----------------------------------------------------------


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
        "Agent: You can pay online at https://pay.example.com. We will refund the duplicate charge of $30 by 2024-06-14."
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


SALES_CALL = """\
Sales: Hi, this is Tom from CloudCo. Is this Sarah Miller?
Prospect: Yes, speaking.
Sales: We offer a backup plan for 25 dollars per month for up to 10 users.
Prospect: Sounds interesting. We have 8 people in the team. Can you send me a quote?
Sales: Sure, I will send the quote by Thursday and schedule a demo next Tuesday at 10 am.
Prospect: Great. Our budget is about 300 dollars per month. Please include onboarding."""


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
