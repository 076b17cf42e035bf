"""Engine policy and migrations on SQLite and PostgreSQL."""

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from adapters.storage.database import MIGRATIONS, Database


def _heads() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def test_migrations_create_tables_and_are_idempotent(database_url):
    db = Database(database_url)
    db.migrate()
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"vb_session", "vb_tenant", "vb_voice_session", "vb_webhook", "vb_webhook_delivery",
            "alembic_version"} <= tables
    with db.engine.connect() as conn:
        assert set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == _heads()
    assert db.ping()
    db.dispose()


def test_sqlite_is_wal_with_full_sync(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x' / 'nested.db'}")
    db.migrate()
    assert db.journal_mode() == "wal"
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    db.dispose()


def test_ping_false_when_unreachable():
    assert Database("postgresql+psycopg://nobody@127.0.0.1:1/none").ping() is False
