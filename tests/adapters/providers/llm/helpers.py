"""Shared fixtures of the language-model tests: call transcripts, analysis schemas, a knowledge prompt."""

from __future__ import annotations

import asyncio

KEY = "sk-TEST-4f1c9a7e2b8d6053a1e4c7b9d2f8a6e0"
BASE = "https://llm.example.test/v1"


DENTAL_CALL = """\
Agent: Thank you for calling Bright Smile Dental, this is Anna speaking. How can I help you today?
Customer: Hi, my name is John Carter. I'm calling because I have a toothache and I'd like to book an appointment.
Agent: I'm sorry to hear that. Can I get a phone number to reach you?
Customer: Sure, it's 555-123-4567. My email is john.carter@example.com.
Agent: We have an opening on Friday at 3 pm. Would that work?
Customer: Yes, Friday at 3 pm works for me.
Agent: Great, you're booked for Friday at 3 pm with Dr. Lee. The visit takes about 45 minutes and the checkup \
costs $120.
Customer: Perfect, thank you so much, that's very helpful.
Agent: You're welcome. Have a nice day!"""

SUPPORT_CALL = """\
[00:00:01] Agent: Acme Telecom support, Mike speaking. How may I help you?
[00:00:05] Customer: Hi. My internet has not been working since Monday and I'm really frustrated.
[00:00:12] Agent: I'm sorry about that. Could you give me your account number?
[00:00:15] Customer: It's AC-77812. This is the third time I'm calling about this.
[00:00:30] Agent: I've restarted the line from our side. Is it working now?
[00:00:41] Customer: No, it's still not working. This is unacceptable.
[00:00:50] Agent: I understand. I'll escalate this to our technical team, and a technician will call you back \
within 24 hours.
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

SALES_CALL = """\
Sales: Hi, this is Tom from CloudCo. Is this Sarah Miller?
Prospect: Yes, speaking.
Sales: We offer a backup plan for 25 dollars per month for up to 10 users.
Prospect: Sounds interesting. We have 8 people in the team. Can you send me a quote?
Sales: Sure, I will send the quote by Thursday and schedule a demo next Tuesday at 10 am.
Prospect: Great. Our budget is about 300 dollars per month. Please include onboarding."""


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
