"""Engine, connection policy and migrations.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a write acknowledged to a
client survives a process or power crash; PostgreSQL is selected by giving
``DATABASE_URL`` a ``postgresql+psycopg://`` URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, create_engine

T = TypeVar("T")
# pg_advisory_xact_lock key serializing migrations across processes and hosts ("voicegw1" as a bigint)
MIGRATION_LOCK_KEY = int.from_bytes(b"voicegw1", "big") & 0x7FFF_FFFF_FFFF_FFFF
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or refused the work (connection lost, locked, disk full).

    Raised by :meth:`Database.run` in place of the driver's ``OperationalError`` /
    ``InterfaceError``, so callers above the storage layer never see a driver exception.
    """


class Database:
    """One engine per process; blocking work runs in worker threads via :meth:`run`."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict = {"pool_pre_ping": True}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False}
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent; the history has one head).

        Safe when several processes or hosts start at once: on PostgreSQL the upgrade holds a
        transaction-scoped advisory lock (:data:`MIGRATION_LOCK_KEY`), on SQLite a lock file
        beside the database; whoever comes second finds the schema current and does nothing.
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._migration_file_lock(), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _migration_file_lock(self) -> FileLock | contextlib.nullcontext[None]:
        """A lock file beside a SQLite database file (no lock for other databases or ``:memory:``)."""
        database = make_url(self.url).database
        if not self.is_sqlite or not database or database == ":memory:":
            return contextlib.nullcontext()
        return FileLock(f"{database}.migrate.lock", timeout=300)

    def session(self) -> Session:
        """A new ORM session (commit explicitly)."""
        return Session(self.engine, expire_on_commit=False)

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` in a worker thread inside one transaction.

        The transaction commits when ``fn`` returns and rolls back if it raises. Raises
        :class:`StorageUnavailable` when the driver reports the database unreachable or failing.
        """

        def work() -> T:
            with self.session() as session:
                result = fn(session, *args, **kwargs)
                session.commit()
                return result

        try:
            return await anyio.to_thread.run_sync(partial(work))
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable(str(exc.orig or exc)) from exc

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1``."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any driver failure means "not reachable"
            return False

    def journal_mode(self) -> str | None:
        """SQLite's journal mode (``wal`` expected); None on other databases."""
        if not self.is_sqlite:
            return None
        with self.engine.connect() as connection:
            return connection.execute(text("PRAGMA journal_mode")).scalar()

    def dispose(self) -> None:
        self.engine.dispose()
