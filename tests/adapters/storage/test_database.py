"""Engine policy and migrations on SQLite and PostgreSQL."""

from sqlalchemy import inspect, text

from adapters.storage.database import Database


def test_migrations_create_tables_and_are_idempotent(database_url):
    db = Database(database_url)
    db.migrate()
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"vb_session", "vb_tenant", "alembic_version"} <= tables
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
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
