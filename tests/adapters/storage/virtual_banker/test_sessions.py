"""VbSessionStore / VbTenantStore on both backends: liveness, token hashing, rotation, isolation."""

from datetime import timedelta

import pytest

from adapters.storage.database import Database
from adapters.storage.virtual_banker.sessions import VbSessionStore, VbTenantStore, token_hash
from core.clock import utcnow


@pytest.fixture
def stores(database_url):
    db = Database(database_url)
    db.migrate()
    yield VbSessionStore(db), VbTenantStore(db)
    db.dispose()


async def _create(store, sid, tenant="t", user="u", token=None, minutes=30):
    now = utcnow()
    return await store.create(
        session_id=sid, tenant_id=tenant, user_id=user, token=token or f"tok-{sid}", portal_context={"route": "/"},
        config={"greeting": "hi"}, created_at=now, expires_at=now + timedelta(minutes=minutes),
    )


async def test_create_find_rotate_end(stores):
    sessions, _ = stores
    await _create(sessions, "s1")
    now = utcnow()
    found = await sessions.find_live_by_token("tok-s1", now)
    assert found.session_id == "s1" and found.portal_context == {"route": "/"}
    assert found.created_at.tzinfo is not None
    rotated = await sessions.rotate_token("s1", "tok-new", now + timedelta(minutes=5), now)
    assert rotated.expires_at > now
    assert await sessions.find_live_by_token("tok-s1", now) is None
    assert (await sessions.find_live_by_token("tok-new", now)).session_id == "s1"
    assert (await sessions.end("s1", now)).ended_at is not None
    assert await sessions.end("s1", now) is None
    assert await sessions.get_live("s1", now) is None
    assert await sessions.find_live_by_token("tok-new", now) is None


async def test_list_live_isolates_tenants_users_and_expiry(stores):
    sessions, _ = stores
    await _create(sessions, "a", tenant="t1", user="u1")
    await _create(sessions, "b", tenant="t1", user="u2")
    await _create(sessions, "c", tenant="t2", user="u1")
    await _create(sessions, "d", tenant="t1", user="u1", minutes=-1)
    assert [r.session_id for r in await sessions.list_live("t1", "u1", utcnow())] == ["a"]


async def test_only_hash_is_stored(stores):
    sessions, _ = stores
    await _create(sessions, "h", token="secret-token")
    from sqlalchemy import text

    with sessions.db.engine.connect() as conn:
        row = conn.execute(text("SELECT token_hash FROM vb_session WHERE session_id = 'h'")).scalar()
    assert row == token_hash("secret-token") and "secret-token" not in row


async def test_tenant_overrides_round_trip(stores):
    _, tenants = stores
    assert await tenants.get_overrides("t") == {}
    await tenants.set_overrides("t", {"policy": {"rate_limit_per_minute": 5}}, utcnow())
    await tenants.set_overrides("t", {"greeting": "Hej"}, utcnow())
    assert await tenants.get_overrides("t") == {"greeting": "Hej"}
