"""Offline chat (adapters/providers/llm/offline/chat.py, knowledge.py): answers from the system prompt's knowledge."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.providers.llm import ChatMessage, OfflineLanguageModel
from tests.adapters.providers.llm.helpers import BANK_PROMPT, run


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
