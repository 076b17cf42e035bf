"""ServiceAi stores on both backends: tokens, single-use CSRF (also under concurrency), entity
search, tickets/notes ordering, workflow stages, organisation isolation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.storage.database import Database
from adapters.storage.serviceai.auth import ServiceaiCsrfStore, ServiceaiUserStore
from adapters.storage.serviceai.records import ServiceaiRecordStore
from core.clock import utcnow


@pytest.fixture
def stores(database_url):
    db = Database(database_url)
    db.migrate()
    yield ServiceaiUserStore(db), ServiceaiCsrfStore(db), ServiceaiRecordStore(db)
    db.dispose()


async def test_tokens(stores):
    users, _, _ = stores
    now = utcnow()
    with pytest.raises(LookupError):
        await users.mint_token("ghost", now)
    await users.upsert_user(user_id="u1", organization_id="o1", now=now, entitlements=["chatty-voice", "chatty-voice"])
    token, record = await users.mint_token("u1", now, label="phone", expires_at=now + timedelta(days=1))
    user, live = await users.authenticate(token, now)
    assert user.entitlements == ("chatty-voice",) and live.token_id == record.token_id
    assert (await users.list_tokens("u1"))[0].last_used_at is not None
    assert await users.authenticate(token, now + timedelta(days=2)) is None  # expired
    assert await users.authenticate(token + "x", now) is None
    assert await users.revoke_token(record.token_id, now) is True
    assert await users.revoke_token(record.token_id, now) is False
    assert await users.authenticate(token, now) is None
    # updates keep what is not given
    updated = await users.upsert_user(user_id="u1", organization_id="o1", now=now, role="admin")
    assert updated.entitlements == ("chatty-voice",) and updated.role == "admin"


async def test_csrf_single_use_even_concurrently(stores):
    _, csrf, _ = stores
    now = utcnow()
    token, expires = await csrf.mint("u1", now, timedelta(minutes=5))
    results = await asyncio.gather(*[csrf.consume("u1", token, now) for _ in range(8)])
    assert sorted(results) == [False] * 7 + [True]
    old, _ = await csrf.mint("u1", now - timedelta(minutes=10), timedelta(minutes=5))
    await csrf.mint("u2", now, timedelta(minutes=5))  # purges expired tokens
    assert await csrf.consume("u1", old, now) is False
    assert await csrf.count_live("u1", now) == 0 and await csrf.count_live("u2", now) == 1


async def test_records(stores):
    _, _, records = stores
    now = utcnow()
    job = await records.upsert_entity(organization_id="o1", entity_type="job", name="Smith 50% rebuild",
                                      reference="J-7", stage="lead", now=now)
    await records.upsert_entity(organization_id="o1", entity_type="customer", name="Jane Smith", now=now)
    await records.upsert_entity(organization_id="o2", entity_type="customer", name="Other Smith", now=now)
    found = await records.search_entities("o1", query="smith")
    assert [e.name for e in found] == ["Jane Smith", "Smith 50% rebuild"]
    assert [e.entity_id for e in await records.search_entities("o1", query="j-7")] == [job.entity_id]
    assert [e.name for e in await records.search_entities("o1", query="50%")] == ["Smith 50% rebuild"]
    assert await records.search_entities("o1", query="%") == []
    with pytest.raises(PermissionError):
        await records.upsert_entity(organization_id="o2", entity_id=job.entity_id, entity_type="job", name="x",
                                    now=now)
    assert await records.get_entity("o2", job.entity_id) is None
    previous, moved = await records.set_entity_stage("o1", job.entity_id, "done", now)
    assert previous == "lead" and moved.stage == "done"
    assert await records.set_entity_stage("o2", job.entity_id, "done", now) is None

    first = await records.create_ticket(organization_id="o1", created_by="u", title="a", description="",
                                        priority="low", entity_id=None, now=now)
    second = await records.create_ticket(organization_id="o1", created_by="u", title="b", description="",
                                         priority="low", entity_id=job.entity_id, now=now + timedelta(seconds=1))
    assert [t.ticket_id for t in await records.list_tickets("o1")] == [second.ticket_id, first.ticket_id]
    assert [t.ticket_id for t in await records.list_tickets("o1", entity_id=job.entity_id)] == [second.ticket_id]
    assert await records.list_tickets("o2") == []
    await records.create_note(organization_id="o1", author_id="u", entity_id=None, content="n", now=now)
    assert len(await records.list_notes("o1")) == 1 and await records.list_notes("o2") == []

    stages = await records.replace_stages("o1", [{"key": "a", "name": "A"}, {"key": "b"}])
    assert [(s.key, s.name, s.position) for s in stages] == [("a", "A", 0), ("b", "b", 1)]
    await records.replace_stages("o1", [{"key": "z", "name": "Z"}])
    assert [s.key for s in await records.list_stages("o1")] == ["z"]
    with pytest.raises(ValueError):
        await records.replace_stages("o1", [{"key": "a"}, {"key": "a"}])
    article = await records.upsert_article(organization_id="o1", title="T", body="B", tags=["x"], now=now)
    assert [a.title for a in await records.list_articles("o1")] == ["T"]
    assert await records.delete_article("o2", article.article_id) is False
    assert await records.delete_article("o1", article.article_id) is True
