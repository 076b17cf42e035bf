"""Vertebro ownership in storage, on SQLite and PostgreSQL: migration 0005 keeps existing rows and
makes them admin-only; scoped session and audio reads/writes never touch another user's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from adapters.storage.database import MIGRATIONS, Database
from adapters.storage.vertebro_voice.access import Scope, VertebroAccessStore
from adapters.storage.vertebro_voice.sessions import AudioRecord, VertebroAudioStore, VertebroSessionStore

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def test_rows_from_before_ownership_survive_and_are_admin_only(database_url):
    db = Database(database_url)
    config = _config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_merge")
    with db.engine.begin() as conn:  # a session and a cached synthesis written before 0005
        conn.execute(text("INSERT INTO vertebro_session (session_id, project, user_id, language, context, created_at, "
                          "last_activity_at, expires_at) VALUES ('old', 'demo', 'u1', 'en-US', '{}', :t, :t, :e)"),
                     {"t": NOW, "e": NOW + timedelta(hours=1)})
        conn.execute(text("INSERT INTO vertebro_audio (audio_id, cache_key, text, voice, language, emotion, options, "
                          "format, file_id, size_bytes, duration_seconds, created_at, accessed_at) VALUES "
                          "('a1', 'k1', 'hi', 'default', 'en-US', 'neutral', '{}', 'mp3', 'audio/x', 3, 0.5, :t, :t)"),
                     {"t": NOW})
    db.migrate()
    sessions, audio, access = VertebroSessionStore(db), VertebroAudioStore(db), VertebroAccessStore(db)
    anyio.run(access.grant, "demo", "alice", NOW)
    alice = anyio.run(access.scope, "alice")
    admin = anyio.run(access.scope, "root", ["root"])
    assert alice == Scope("alice", False, frozenset({"demo"})) and admin.admin
    assert anyio.run(sessions.get_live, "old", NOW, alice) is None  # no owner: not alice's, although in her project
    assert anyio.run(sessions.touch, "old", NOW + timedelta(minutes=5), 3600, None, alice) is None
    assert anyio.run(sessions.end, "old", NOW, alice) is False
    kept = anyio.run(sessions.get_live, "old", NOW, admin)
    assert kept is not None and kept.owner is None and kept.expires_at == NOW + timedelta(hours=1)  # untouched
    fresh = NOW - timedelta(days=1)
    assert anyio.run(audio.get, "a1", NOW, fresh, alice) is None
    entry = anyio.run(audio.get, "a1", NOW, fresh, admin)
    assert entry is not None and (entry.project, entry.owner) == (None, None)
    db.dispose()


def test_scoped_sessions_and_audio(database_url):
    db = Database(database_url)
    db.migrate()
    sessions, audio, access = VertebroSessionStore(db), VertebroAudioStore(db), VertebroAccessStore(db)
    for project, user in (("alpha", "alice"), ("beta", "bob"), ("alpha", "carol")):
        assert anyio.run(access.grant, project, user, NOW)
    alice, bob, carol, nobody = (anyio.run(access.scope, u) for u in ("alice", "bob", "carol", "nobody"))
    assert nobody.projects == frozenset() and not nobody.admin

    async def create():
        return await sessions.create(session_id="s1", owner="alice", project="alpha", user_id="anonymous",
                                     language="en-US", voice_preference=None, now=NOW, timeout_seconds=3600,
                                     max_live=10)

    anyio.run(create)
    later = NOW + timedelta(minutes=10)
    for scope in (bob, carol, nobody):
        assert anyio.run(sessions.get_live, "s1", later, scope) is None
        assert anyio.run(sessions.touch, "s1", later, 3600, {"x": 1}, scope) is None
        assert anyio.run(sessions.end, "s1", later, scope) is False
    record = anyio.run(sessions.get_live, "s1", later, alice)
    assert record is not None and record.owner == "alice" and record.expires_at == NOW + timedelta(hours=1)
    assert record.context == {}

    def entry(audio_id: str, project: str | None, owner: str | None) -> AudioRecord:
        return AudioRecord(audio_id, f"key-{audio_id}", "t", "default", "en-US", "neutral", {}, "mp3", "audio/x", 1,
                           0.1, NOW, NOW, project, owner)

    anyio.run(audio.add, entry("p", "alpha", None), NOW - timedelta(days=1))
    anyio.run(audio.add, entry("u", None, "alice"), NOW - timedelta(days=1))
    fresh = NOW - timedelta(days=1)
    seen = {(audio_id, scope.user): anyio.run(audio.get, audio_id, later, fresh, scope) is not None
            for audio_id in ("p", "u") for scope in (alice, bob, carol)}
    assert seen == {("p", "alice"): True, ("p", "bob"): False, ("p", "carol"): True,
                    ("u", "alice"): True, ("u", "bob"): False, ("u", "carol"): False}
    assert anyio.run(access.revoke, "alpha", "alice") and not anyio.run(access.revoke, "alpha", "alice")
    assert anyio.run(access.members, "alpha") == ["carol"]
    assert anyio.run(sessions.get_live, "s1", later, anyio.run(access.scope, "alice")) is None
    db.dispose()
