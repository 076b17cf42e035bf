"""GET /api/chatty-voice/ai-context: the system prompt assembled from stored data."""

from __future__ import annotations

from datetime import datetime

from tests.handlers.serviceai.conftest import ORG, run


def test_without_stored_data_flags_are_false(client, alice):
    r = client.get("/api/chatty-voice/ai-context", headers=alice)
    assert r.status_code == 200
    body = r.json()
    assert body["knowledgeBaseLoaded"] is False and body["workflowStagesLoaded"] is False
    assert body["instructions"].startswith(f"You are Chatty, the voice assistant of ServiceAi, talking with Alice "
                                           f"of organisation {ORG}.")
    assert "## Knowledge base" not in body["instructions"] and "workflow stages" not in body["instructions"]
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None


def test_prompt_carries_stages_knowledge_and_tools(client, make_user, dataset):
    body = client.get("/api/chatty-voice/ai-context", headers=make_user("vic", role="viewer")).json()
    assert body["knowledgeBaseLoaded"] is True and body["workflowStagesLoaded"] is True
    text = body["instructions"]
    stages = text.split("## Job workflow stages, in order (use the key with update_job_stage)\n")[1]
    assert stages.startswith("1. Lead (key lead): Enquiry received, not yet visited.\n"
                             "2. Site survey (key survey): A technician measures and scans the site.\n"
                             "3. Quoted (key quoted): Quote sent, waiting for the customer.\n"
                             "4. Scheduled (key scheduled)\n5. Completed (key done)\n")
    for article in dataset["knowledgeBase"]:
        assert f"### {article['title']}\n{article['body']}" in text
    usable = text.split("## Tools you may use\n")[1].split("\n\n")[0]
    assert "- lookup_entity:" in usable and "- navigate:" in usable and "create_ticket" not in usable
    denied = text.split("## Tools this user may not use (they would answer PERMISSION_DENIED)\n")[1]
    assert "- create_ticket" in denied and "- update_job_stage" in denied


def test_other_organisation_gets_its_own_context(client, make_user, dataset):
    body = client.get("/api/chatty-voice/ai-context", headers=make_user("olga", org="other-org")).json()
    assert body["knowledgeBaseLoaded"] is False and "Call-out fees" not in body["instructions"]


def test_budget_keeps_whole_articles_and_lists_the_rest(make_settings, tmp_path):
    from starlette.testclient import TestClient

    from core.clock import utcnow
    from gateway.app import create_app

    app = create_app(make_settings(serviceai_ai_context_max_chars=3000))
    bundle = app.bundles["serviceai"]

    async def setup():
        await bundle.users.upsert_user(user_id="u", organization_id="o", now=utcnow(), entitlements=["chatty-voice"])
        for i in range(6):
            await bundle.records.upsert_article(organization_id="o", title=f"Article {i}", body=f"Fact {i}. " * 60,
                                                now=utcnow())
        return (await bundle.users.mint_token("u", utcnow()))[0]

    token = run(setup())
    with TestClient(app) as c:
        body = c.get("/api/chatty-voice/ai-context", headers={"Authorization": f"Bearer {token}"}).json()
    text = body["instructions"]
    assert len(text) <= 3000 and body["knowledgeBaseLoaded"] is True
    included = [i for i in range(6) if f"### Article {i}\n" in text]
    assert included and len(included) < 6
    assert "Further articles (not loaded; use search_knowledge_base): " in text
    for i in included:  # whole articles only
        assert f"Fact {i}. " * 59 in text
