"""One migration history: a single head, reached from an empty database and from a database
migrated before the per-API branches were merged; the migrated schema is what the tables declare."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from adapters.storage.database import MIGRATIONS, Database, head_revisions
from adapters.storage.tables import register_all, table_modules

HEAD = "0009_vs_room_lengths"
BRANCH_HEADS = ("0003_serviceai", "0003_vertebro", "0003_virstack")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _versions(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_history_has_one_head_and_every_api_branch_is_labelled():
    script = ScriptDirectory.from_config(_config())
    assert script.get_heads() == [HEAD]
    labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
    assert labels == {"serviceai", "vertebro-voice", "virstack-voiceai"}


def test_heads_read_without_alembic_are_alembics_heads():
    assert head_revisions() == frozenset(ScriptDirectory.from_config(_config()).get_heads())


def test_a_current_database_is_recognised_without_alembic(database_url, monkeypatch):
    db = Database(database_url)
    assert not db.is_current()  # no alembic_version table yet
    db.migrate()
    assert db.is_current()
    monkeypatch.setattr(command, "upgrade", lambda *a, **k: (_ for _ in ()).throw(AssertionError("upgraded")))
    db.migrate()  # a start on a current database: no Alembic run
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0006_vertebro_training_lease'"))
    assert not db.is_current()
    db.dispose()


def test_every_api_storage_package_declares_tables():
    assert table_modules() == [f"adapters.storage.{api}.tables" for api in
                               ("serviceai", "vertebro_voice", "virstack_voiceai", "virtual_banker")]


def test_empty_database_migrates_to_the_declared_schema(database_url):
    db = Database(database_url)
    db.migrate()
    assert _versions(db) == {HEAD}
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), register_all())
    # Only differences the SQLite/PostgreSQL reflection cannot see are tolerated: none today.
    assert [d for d in diff if d[0] not in ("remove_index",)] == [], diff
    db.dispose()


def test_database_from_before_the_merge_upgrades_and_keeps_its_rows(database_url):
    db = Database(database_url)
    config = _config()
    with db.engine.begin() as connection:  # today's databases: three branch heads recorded
        config.attributes["connection"] = connection
        for head in BRANCH_HEADS:
            command.upgrade(config, head)
    assert _versions(db) == set(BRANCH_HEADS)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO vb_tenant (tenant_id, config, updated_at) "
                          "VALUES ('t-1', '{\"greeting\": \"hi\"}', CURRENT_TIMESTAMP)"))
    db.migrate()
    db.migrate()
    assert _versions(db) == {HEAD}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT tenant_id FROM vb_tenant")).scalars().all() == ["t-1"]
    db.dispose()


def test_widened_virstack_columns_keep_their_rows_and_take_the_contracts_lengths(database_url):
    # 0008 rebuilds vs_provider on SQLite while vs_provider_model rows reference it: migrate()
    # turns SQLite's foreign keys off for the rebuild, and they still hold afterwards
    db = Database(database_url)
    config = _config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007_vb_webhook_lease")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO vs_provider (provider_id, display_name, is_active, position, created_at, "
                          "updated_at) VALUES ('openai', 'OpenAI', true, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO vs_provider_model (provider_id, model_id, display_name, is_active, is_default, "
                          "capabilities, voices, validation_rules, position, created_at, updated_at) VALUES "
                          "('openai', 'gpt', 'GPT', true, true, '{}', '[]', '{}', 1, CURRENT_TIMESTAMP, "
                          "CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO vs_room (name, sid, metadata, participants, empty_timeout, created_at) "
                          "VALUES ('call-1', 'RM_1', '', '[]', 300, CURRENT_TIMESTAMP)"))
    db.migrate()
    assert _versions(db) == {HEAD}
    with db.engine.begin() as conn:  # 0009: a room of a 200-character dispatch-rule prefix
        assert conn.execute(text("SELECT name FROM vs_room")).scalars().all() == ["call-1"]
        conn.execute(text("INSERT INTO vs_room (name, sid, metadata, participants, empty_timeout, created_at) "
                          "VALUES (:name, 'RM_2', '', '[]', 300, CURRENT_TIMESTAMP)"), {"name": "r" * 512})
    long_id = "p" * 128  # CreateProviderBody.provider_id's maxLength
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT provider_id FROM vs_provider_model")).scalars().all() == ["openai"]
        conn.execute(text("INSERT INTO vs_provider (provider_id, display_name, is_active, position, created_at, "
                          "updated_at) VALUES (:id, 'Long', true, 2, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                     {"id": long_id})
        if db.is_sqlite:  # foreign keys are back on for the connections the server uses
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()
