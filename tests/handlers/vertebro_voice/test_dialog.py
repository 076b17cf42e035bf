"""Vertebro dialog over HTTP and the WebSocket: intent detection and answers through the shared
language model (offline retrieval model here), synthesized into the audio cache."""

from __future__ import annotations

from tests.handlers.vertebro_voice.conftest import API, AUTH, BASIC


def test_detect_intent_over_http(client, knowledge):
    cases = [
        ({"text": "Покажи мне раздел с ценами", "project": "demo",
          "context": {"current_page": "/", "previous_intents": []}},
         "navigate", {"target_section": "pricing", "url": "/pricing"}, {"type": "navigate", "url": "/pricing"}),
        ({"text": "Find wireless headphones"}, "search", {"query": "wireless headphones"}, None),
        ({"text": "Перезвоните мне пожалуйста"}, "contact", {"contact_method": "callback"}, None),
        ({"text": "Good morning!"}, "greeting", {}, {"type": "greet"}),
        ({"text": "I want to book a demo next week", "project": "demo"}, "book_demo", {},
         {"type": "navigate", "url": "/demo"}),
        ({"text": "Show me the careers page", "project": "demo"}, "navigate",
         {"target_section": "careers", "url": "/jobs"},
         {"type": "navigate", "url": "/jobs"}),
    ]
    for body, intent, entities, action in cases:
        r = client.post(f"{API}/dialog/intent", json=body, auth=AUTH)
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["intent"] == intent and result["entities"] == entities, body
        assert 0 < result["confidence"] <= 1
        if action is not None:
            assert result["suggested_action"] == action, body
    assert client.post(f"{API}/dialog/intent", json={"text": ""}, auth=AUTH).status_code == 422


def test_dialog_respond_answers_from_project_knowledge_with_audio(client, knowledge):
    session = client.post(f"{API}/session/start", json={"project": "demo", "language": "en-US"}, auth=AUTH).json()
    sid = session["session_id"]
    r = client.post(f"{API}/dialog/respond", json={"session_id": sid, "project": "demo",
                                                   "text": "How long does delivery take?"}, auth=AUTH)
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["text"] == "Delivery takes two to three business days and is free for orders over 50 euros."
    assert [s["title"] for s in answer["sources"]] == ["Delivery terms"]
    assert answer["suggested_actions"] == []
    audio = client.get(answer["audio_url"], auth=AUTH)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg" and len(audio.content) > 1000
    nav = client.post(f"{API}/dialog/respond", json={"session_id": sid, "project": "demo",
                                                     "text": "Open the pricing page"}, auth=AUTH).json()
    assert nav["suggested_actions"] == [{"type": "navigate", "url": "/pricing"}]
    assert "/pricing" in nav["text"] and {"title": "Pricing", "url": "/pricing"} in nav["sources"]
    ru = client.post(f"{API}/dialog/respond", json={"session_id": sid, "project": "demo",
                                                    "text": "Сколько времени занимает доставка?"}, auth=AUTH).json()
    assert ru["text"].startswith("Доставка занимает") and ru["audio_url"]
    items = client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]
    assert [i["type"] for i in items[:4]] == ["assistant", "synthesis", "intent", "user"]
    assert items[0]["content"]["text"] == ru["text"]
    assert items[3]["content"]["text"] == "Сколько времени занимает доставка?"
    assert len(items) == 12  # three turns of four records each
    analytics = client.get(f"{API}/analytics/project/demo", auth=AUTH).json()
    assert analytics["interactions_total"] == 12 and analytics["active_sessions"] == 1


def test_websocket_text_input_gets_a_response(client, knowledge):
    sid = client.post(f"{API}/session/start", json={"project": "demo"}, auth=AUTH).json()["session_id"]
    with client.websocket_connect(f"{API}/ws/{sid}", headers={**BASIC}) as ws:
        assert ws.receive_json()["message"] == "Голосовой ассистент готов. Чем могу помочь?"
        ws.send_json({"type": "text_input", "text": "Can I return a product?"})
        assert ws.receive_json() == {"type": "status", "status": "thinking", "message": "Обрабатываю..."}
        reply = ws.receive_json()
        assert reply["type"] == "response" and reply["text"] == "Yes, any product can be returned within 30 days."
        assert reply["audio_url"].startswith(f"{API}/audio/") and reply["sources"][0]["title"] == "Returns"
        assert ws.receive_json() == {"type": "status", "status": "idle", "message": "Слушаю"}  # the turn is over
        ws.send_json({"type": "text_input", "text": "Open the pricing page"})
        ws.receive_json()
        assert ws.receive_json()["suggested_actions"] == [{"type": "navigate", "url": "/pricing"}]
        assert ws.receive_json()["status"] == "idle"
    types = [i["type"] for i in client.get(f"{API}/session/{sid}/history", auth=AUTH).json()["items"]]
    assert types == ["assistant", "synthesis", "intent", "user"] * 2


def test_navigation_replies_in_the_users_language(live_server):
    """Issue 14 item 6: a Russian navigation is confirmed in Russian (it used to say it did not know)."""
    import httpx

    with httpx.Client(base_url=live_server.url, auth=AUTH, timeout=60) as http:
        for language, text, expected in [
            ("ru-RU", "Перейди на страницу с ценами", "Открываю раздел «Цены»: /pricing."),
            ("ru-RU", "Открой страницу контактов", "Открываю раздел «Контакты»: /contacts."),
            ("en-US", "navigate to pricing", "Opening the Pricing page for you: /pricing."),
        ]:
            sid = http.post(f"{API}/session/start", json={"project": "demo", "language": language}).json()["session_id"]
            r = http.post(f"{API}/dialog/respond", json={"session_id": sid, "project": "demo", "text": text})
            assert r.status_code == 202, r.text
            body = r.json()
            assert body["text"] == expected and body["type"] == "response"
            assert body["suggested_actions"][0]["type"] == "navigate" and body["audio_url"]
