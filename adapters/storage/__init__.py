"""Storage adapter: sqlmodel over SQLite (WAL, default) or PostgreSQL (``DATABASE_URL``), Alembic migrations."""
