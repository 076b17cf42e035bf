"""Virstack stores on SQLite and PostgreSQL: accounts, agents/versions, catalog, SIP, calls, events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.secretbox import SecretBox
from adapters.storage.database import Database
from adapters.storage.virstack_voiceai.accounts import AccountStore, EmailTaken
from adapters.storage.virstack_voiceai.agents import AgentStore
from adapters.storage.virstack_voiceai.calls import CallFilter, CallStore
from adapters.storage.virstack_voiceai.catalog import CatalogStore, DuplicateEntry
from adapters.storage.virstack_voiceai.sip import Conflict, SipStore
from core.clock import utcnow


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


async def test_accounts(db):
    accounts = AccountStore(db)
    now = utcnow()
    org, admin = await accounts.register(organization_name="Acme", first_name="A", last_name="B",
                                         email="Boss@Acme.io", password="password1", now=now)
    assert admin.email == "boss@acme.io" and admin.role == "admin"
    assert await accounts.operator_org_id() == org.org_id
    with pytest.raises(EmailTaken):
        await accounts.add_member(org_id=org.org_id, first_name="x", last_name="y", email="BOSS@acme.io",
                                  password="password1", role="member", now=now)
    assert (await accounts.authenticate("boss@ACME.io", "password1")).user_id == admin.user_id
    assert await accounts.authenticate("boss@acme.io", "wrong") is None
    record, raw = await accounts.create_api_key(org_id=org.org_id, user_id=admin.user_id, role="admin", name=None,
                                                now=now)
    assert (await accounts.find_api_key(raw)).key_id == record.key_id
    assert await accounts.revoke_api_key("other-org", record.key_id) is False
    assert await accounts.revoke_api_key(org.org_id, record.key_id) is True
    assert await accounts.find_api_key(raw) is None
    await accounts.revoke_token("jti-1", now + timedelta(hours=1), now)
    await accounts.revoke_token("jti-old", now - timedelta(hours=1), now)
    await accounts.revoke_token("jti-2", now + timedelta(hours=1), now)  # purges the expired entry
    assert await accounts.is_token_revoked("jti-1") and not await accounts.is_token_revoked("jti-old")


async def test_concurrent_registrations_of_one_email(db):
    accounts = AccountStore(db)
    results = await asyncio.gather(*[accounts.register(organization_name=f"O{i}", first_name="a", last_name="b",
                                                       email="same@x.io", password="password1", now=utcnow())
                                     for i in range(4)], return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, EmailTaken) for r in results if isinstance(r, Exception))


async def test_agents_and_versions(db):
    accounts, agents = AccountStore(db), AgentStore(db)
    org, _ = await accounts.register(organization_name="A", first_name="a", last_name="b", email="a@a.io",
                                     password="password1", now=utcnow())
    agent = await agents.create(org.org_id, {"identity": {"agent_name": "x"}}, utcnow())
    assert await agents.get("other", agent.agent_id) is None
    snapshots = await asyncio.gather(*[agents.publish(org.org_id, agent.agent_id, None, utcnow()) for _ in range(4)],
                                     return_exceptions=True)
    published = [s for s in snapshots if not isinstance(s, Exception)]
    assert published and {s[0].version for s in published} == {1}
    await agents.replace_settings(org.org_id, agent.agent_id, {"identity": {"agent_name": "y"}}, utcnow())
    second, created = await agents.publish(org.org_id, agent.agent_id, "v2", utcnow())
    assert second.version == 2 and created
    assert [v.version for v in await agents.list_versions(org.org_id, agent.agent_id, 10, 0)] == [2, 1]
    assert await agents.delete(org.org_id, agent.agent_id) and await agents.latest_version(agent.agent_id) is None


async def test_catalog_seed_once_and_defaults(db):
    catalog = CatalogStore(db)
    assert catalog.seed_once() is True and catalog.seed_once() is False
    assert await catalog.delete_provider("grok") == 1
    assert CatalogStore(db).seed_once() is False  # a restart does not bring deleted entries back
    with pytest.raises(DuplicateEntry):
        await catalog.create_provider("gemini", "x", True)
    await catalog.create_model("gemini", {"model_id": "m2", "display_name": "M2", "is_default": True})
    models = (await catalog.get_provider("gemini", active_only=False)).models
    assert [m.model_id for m in models if m.is_default] == ["m2"]
    await catalog.update_model("gemini", "gemini-2.0-flash-live", {"is_default": True})
    models = (await catalog.get_provider("gemini", active_only=False)).models
    assert [m.model_id for m in models if m.is_default] == ["gemini-2.0-flash-live"]


async def test_sip_conflicts_and_numbers(db):
    accounts = AccountStore(db)
    org, _ = await accounts.register(organization_name="A", first_name="a", last_name="b", email="a@a.io",
                                     password="password1", now=utcnow())
    other, _ = await accounts.register(organization_name="B", first_name="a", last_name="b", email="b@b.io",
                                       password="password1", now=utcnow())
    sip = SipStore(db, SecretBox("k"))
    now = utcnow()
    await sip.add_trunk(trunk_id="ST_1", org_id=org.org_id, kind="inbound", name="", numbers=["+1415"],
                        address=None, auth_username="u", auth_password="p", now=now)
    with pytest.raises(Conflict):
        await sip.add_trunk(trunk_id="ST_2", org_id=other.org_id, kind="inbound", name="", numbers=["1415"],
                            address=None, auth_username=None, auth_password=None, now=now)
    assert await sip.trunk_password("ST_1") == "p"
    await sip.add_rule(rule_id="SDR_1", org_id=org.org_id, name="", trunk_ids=[], room_prefix="", metadata={},
                       agent_name=None, now=now)
    with pytest.raises(Conflict):
        await sip.add_rule(rule_id="SDR_2", org_id=org.org_id, name="", trunk_ids=[], room_prefix="x", metadata={},
                           agent_name=None, now=now)
    # another organization's default rule does not collide (wildcards are per organization)
    await sip.add_rule(rule_id="SDR_3", org_id=other.org_id, name="", trunk_ids=[], room_prefix="", metadata={},
                       agent_name=None, now=now)
    await sip.add_number(org_id=org.org_id, number="+1415", trunk_id="ST_1", outbound_trunk_id=None,
                         dispatch_rule_id="SDR_1", inbound_agent_id="ag", outbound_agent_id=None, provider="twilio",
                         nickname=None, now=now)
    with pytest.raises(Conflict):
        await sip.add_number(org_id=other.org_id, number="+1415", trunk_id=None, outbound_trunk_id=None,
                             dispatch_rule_id=None, inbound_agent_id="ag", outbound_agent_id=None, provider="twilio",
                             nickname=None, now=now)
    assert await sip.release_agent(org.org_id, "ag", now) == 1
    assert (await sip.find_number("+1415")).is_active is False
    assert await sip.delete_trunk(other.org_id, "ST_1") is False and await sip.delete_trunk(org.org_id, "ST_1")
    assert (await sip.find_number("+1415")).trunk_id is None


async def test_calls_state_machine_filters_and_events(db):
    accounts = AccountStore(db)
    org, _ = await accounts.register(organization_name="A", first_name="a", last_name="b", email="a@a.io",
                                     password="password1", now=utcnow())
    calls = CallStore(db)
    base = utcnow()
    for i in range(3):
        await calls.create(call_id=f"c{i}", org_id=org.org_id, agent_id="ag" if i else "other", channel="web",
                           direction="inbound", status="initiated", room_name=f"room-{i}",
                           metadata={"n": i, "tag": "x"}, created_at=base + timedelta(seconds=i), updated_at=base)
    call, changed = await calls.transition("c1", "in_progress", base)
    assert changed and call.start_timestamp == base
    assert (await calls.transition("c1", "ringing", base))[1] is False  # never backwards
    call, changed = await calls.transition("c1", "ended", base + timedelta(seconds=5), reason="user_hangup")
    assert changed and call.disconnection_reason == "user_hangup"
    assert (await calls.transition("c1", "in_progress", base))[0].status == "ended"
    assert [c.call_id for c in await calls.list(org.org_id, 10, 0)] == ["c2", "c1", "c0"]
    assert [c.call_id for c in await calls.list(org.org_id, 10, 0, CallFilter(agent_ids=("ag",)))] == ["c2", "c1"]
    assert [c.call_id for c in await calls.list(org.org_id, 1, 1, CallFilter(metadata={"tag": "x"}))] == ["c1"]
    after = CallFilter(created_after=base + timedelta(seconds=1), statuses=("initiated",))
    assert [c.call_id for c in await calls.list(org.org_id, 10, 0, after)] == ["c2"]
    assert await calls.list("other-org", 10, 0) == []
    results = await asyncio.gather(*[calls.record_event(event_id="EV_1", event="room_started", room_name="room-0",
                                                        call_id="c0", payload={}, now=base) for _ in range(3)])
    assert sorted(results) == [False, False, True] and await calls.count_events() == 1
