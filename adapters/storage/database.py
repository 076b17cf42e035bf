"""Engine, connection policy, group commit and migrations.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a write acknowledged to a
client survives a process or power crash; PostgreSQL is selected by giving
``DATABASE_URL`` a ``postgresql+psycopg://`` URL.

Connection policy (SQLite): a pool as large as the worker-thread pool that uses it, so
connections are opened once and reused (never discarded as "overflow"); the per-connection
pragmas (``synchronous``, ``foreign_keys``, ``busy_timeout``) run once per connection, WAL
(a property of the file) is set once per process; no ping on checkout (a file cannot go
away). PostgreSQL keeps ``pool_pre_ping`` so a restarted server costs no failed request.

Group commit (:meth:`Database.write`, SQLite): concurrent write transactions are queued to one
writer thread, which runs the queued transactions one after another inside one ``BEGIN
IMMEDIATE`` transaction and commits them with a single fsync; each caller is answered only
after that commit returned. When one of them raises, the batch is rolled back and run again
with a SAVEPOINT per transaction, so that only the failing one is undone. On PostgreSQL
:meth:`write` is :meth:`run` (the server batches commits itself).

Short reads (:meth:`Database.read`, SQLite) run on the event loop's thread: no worker-thread
hop for a lookup by key.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import anyio
from pydantic_core import to_json
from sqlalchemy import Executable, event, text
from sqlalchemy.engine import Engine, Row, make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

T = TypeVar("T")
K = TypeVar("K")
# pg_advisory_xact_lock key serializing migrations across processes and hosts ("voicegw1" as a bigint)
MIGRATION_LOCK_KEY = int.from_bytes(b"voicegw1", "big") & 0x7FFF_FFFF_FFFF_FFFF
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: SQLite connections kept open: anyio's default worker-thread limit (40) plus the writer and
#: background workers' own threads.
SQLITE_POOL_SIZE = 48
#: Most transactions one group commit carries.
MAX_BATCH = 256
BUSY_TIMEOUT_MS = 5000


def _sqlite_connection_pragmas(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def json_text(value: Any) -> str:
    """How JSON columns are written: compact UTF-8 JSON by pydantic-core's serializer (a 10-kB
    agent configuration in ~15 µs instead of ~60 µs with ``json.dumps``; it runs on the group
    commit's writer thread, holding the GIL every request needs). Reading is ``json.loads`` as
    before; ``NaN``/``Infinity`` are written as ``json.dumps`` writes them."""
    return to_json(value, inf_nan_mode="constants").decode("utf-8")


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def head_revisions(versions: Path = MIGRATIONS / "versions") -> frozenset[str]:
    """The heads of the migration history (revisions no other revision names as its
    ``down_revision``), read from the version scripts' top-level ``revision`` and
    ``down_revision`` assignments without importing Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        for name, expression in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            value = ast.literal_eval(expression)
            if name == "revision":
                revisions.add(value)
            elif isinstance(value, tuple | list):
                parents.update(value)
            elif value:
                parents.add(value)
    return frozenset(revisions - parents)


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or refused the work (connection lost, locked, disk full).

    Raised by :meth:`Database.run` in place of the driver's ``OperationalError`` /
    ``InterfaceError``, so callers above the storage layer never see a driver exception.
    """


class _Job:
    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: Callable[[Session], Any], future: asyncio.Future[Any],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.fn = fn
        self.future = future
        self.loop = loop

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        def apply() -> None:
            if self.future.done():  # the caller was cancelled: nothing to answer
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the caller's event loop is closed: nobody to answer
            self.loop.call_soon_threadsafe(apply)


class GroupCommitter:
    """One writer thread that commits queued SQLite write transactions in batches.

    Transactions run in submission order, all of one batch in one ``BEGIN IMMEDIATE`` …
    ``COMMIT`` (one fsync with ``synchronous=FULL``); when one raises, the batch is redone with a
    SAVEPOINT per transaction. Callers' futures are
    settled after the COMMIT returned (or failed: then every transaction of the batch fails with
    :class:`StorageUnavailable` and none of them is applied).
    """

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0,
                                            json_serializer=json_text,
                                            connect_args={"check_same_thread": False, "isolation_level": None})

        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_connection_pragmas(dbapi_connection)

        @event.listens_for(self.engine, "begin")
        def _begin(connection: Any) -> None:
            # the driver leaves transactions to us (isolation_level=None): SAVEPOINTs then work,
            # and IMMEDIATE takes the write lock up front instead of upgrading a read lock
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        self._jobs: list[_Job] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.batches = 0
        self.transactions = 0

    async def submit(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in the next batch; return its result once the batch is durable."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._cond:
            self._jobs.append(_Job(fn, future, loop))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="sqlite-group-commit", daemon=True)
                self._thread.start()
            self._cond.notify()
        return await future

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if not self._jobs:
                    return
                batch, self._jobs = self._jobs[:MAX_BATCH], self._jobs[MAX_BATCH:]
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            if len(batch) > 1 and self._optimistic(batch, outcomes):
                return
            outcomes.clear()
            with Session(self.engine, expire_on_commit=False) as session:
                for job in batch:
                    savepoint = session.begin_nested()
                    try:
                        result = job.fn(session)
                        savepoint.commit()
                        outcomes.append((result, None))
                    except (OperationalError, InterfaceError):
                        raise  # the transaction itself is in doubt: fail the whole batch
                    except Exception as exc:  # noqa: BLE001 - this caller's own failure, the others go on
                        savepoint.rollback()
                        outcomes.append((None, exc))
                session.commit()
        except Exception as exc:  # noqa: BLE001 - nothing of the batch was committed: every caller hears it
            error = StorageUnavailable(str(getattr(exc, "orig", None) or exc))
            error.__cause__ = exc
            for job in batch:
                job.settle(error=error)
            return
        self.batches += 1
        self.transactions += len(batch)
        for job, (result, failure) in zip(batch, outcomes, strict=True):
            job.settle(result, failure)

    def _optimistic(self, batch: list[_Job], outcomes: list[tuple[Any, BaseException | None]]) -> bool:
        """The common case without SAVEPOINTs: every transaction of ``batch`` in one, committed.

        Returns True when all succeeded and were committed (callers settled). When one raises,
        the whole batch is rolled back (nothing was committed) and False tells the caller to run
        it again with a SAVEPOINT per transaction, so that only the failing one is undone.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                for job in batch:
                    outcomes.append((job.fn(session), None))
                    session.flush()
            except (OperationalError, InterfaceError):
                raise
            except Exception:  # noqa: BLE001 - some caller's own failure: redo the batch one savepoint each
                session.rollback()
                return False
            session.commit()
        self.batches += 1
        self.transactions += len(batch)
        for job, (result, _) in zip(batch, outcomes, strict=True):
            job.settle(result)
        return True

    def close(self) -> None:
        """Finish the queued batches, stop the writer thread, close its connection."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        with self._cond:  # a later submit starts a new writer (e.g. the database is reused after a restart)
            self._stopping = False
            self._thread = None
        self.engine.dispose()


class Database:
    """One engine per process; blocking work runs in worker threads via :meth:`run`, write
    transactions through :meth:`write` (group commit on SQLite)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._writer: GroupCommitter | None = None
        if self.is_sqlite:
            in_memory = not parsed.database or parsed.database == ":memory:"
            if not in_memory:
                Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, poolclass=QueuePool, pool_size=SQLITE_POOL_SIZE,
                                                json_serializer=json_text,
                                                max_overflow=16, pool_pre_ping=False,
                                                connect_args={"check_same_thread": False})
            wal = {"done": False}

            @event.listens_for(self.engine, "connect")
            def _connect(dbapi_connection: Any, _record: Any) -> None:
                if not wal["done"]:  # WAL is a property of the file: once per process is enough
                    cursor = dbapi_connection.cursor()
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.close()
                    wal["done"] = True
                _sqlite_connection_pragmas(dbapi_connection)

            if not in_memory:  # an in-memory database is private to its connection: no shared writer
                self._writer = GroupCommitter(url)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, json_serializer=json_text)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent; the history has one head).

        Safe when several processes or hosts start at once: on PostgreSQL the upgrade holds a
        transaction-scoped advisory lock (:data:`MIGRATION_LOCK_KEY`), on SQLite a lock file
        beside the database; whoever comes second finds the schema current and does nothing.

        On SQLite the upgrade runs with foreign keys off, as SQLite's procedure for rebuilding a
        table asks (a batch migration of a table other tables reference drops and renames it),
        and fails before committing if a foreign key no longer holds (``foreign_key_check``).

        A database already at the head (every start but the first) is recognised with one
        query, without importing Alembic (~0.15 s of CPU at start-up, with Mako and Pygments).
        """
        if self.is_current():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._migration_file_lock(), self.engine.connect() as connection:
            if self.is_sqlite:  # outside a transaction (inside one the pragma does nothing)
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    if self.is_sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
            finally:
                if self.is_sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()

    def is_current(self) -> bool:
        """True when the database records exactly the migration history's heads (nothing to
        upgrade); False when it records anything else or has no ``alembic_version`` table."""
        try:
            with self.engine.connect() as connection:
                recorded = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except SQLAlchemyError:
            return False
        return recorded == head_revisions()

    def _migration_file_lock(self) -> contextlib.AbstractContextManager[Any]:
        """A lock file beside a SQLite database file (no lock for other databases or ``:memory:``)."""
        from filelock import FileLock

        database = make_url(self.url).database
        if not self.is_sqlite or not database or database == ":memory:":
            return contextlib.nullcontext()
        return FileLock(f"{database}.migrate.lock", timeout=300)

    def session(self) -> Session:
        """A new ORM session (commit explicitly)."""
        return Session(self.engine, expire_on_commit=False)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
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

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`run`, for a short read (a lookup by key): on SQLite it runs on the calling
        thread, without a worker-thread hop.

        In WAL mode a reader never waits for a writer, and a point lookup costs tens of
        microseconds — less than handing it to a thread and back (and no GIL hand-offs). Use
        :meth:`run` for scans or anything that may take long. Raises :class:`StorageUnavailable`
        like :meth:`run`.
        """
        if not self.is_sqlite:
            return await self.run(fn, *args, **kwargs)
        try:
            with self.session() as session:
                result = fn(session, *args, **kwargs)
                session.commit()
                return result
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable(str(exc.orig or exc)) from exc

    async def fetch_one(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> Row[Any] | None:
        """The first row of a Core ``statement`` (a prepared lookup by key), or None — like
        :meth:`read` (on SQLite on the calling thread) but on a pooled connection without an ORM
        session: ~35 µs instead of ~75 µs for a point lookup, which every API-key request makes.
        Raises :class:`StorageUnavailable` like :meth:`run`."""
        def work() -> Row[Any] | None:
            with self.engine.connect() as connection:
                return connection.execute(statement, parameters).first()

        if not self.is_sqlite:
            try:
                return await anyio.to_thread.run_sync(work)
            except (OperationalError, InterfaceError) as exc:
                raise StorageUnavailable(str(exc.orig or exc)) from exc
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable(str(exc.orig or exc)) from exc

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`run`, for a transaction that writes: returns once it is durable.

        On SQLite the transaction is group-committed with the other writes queued meanwhile
        (see the module docstring): same atomicity and durability as :meth:`run`, one fsync per
        batch instead of one per transaction. ``fn`` must not commit or roll back itself. What
        ``fn`` raises is re-raised (its transaction is rolled back, the others commit); a failed
        commit raises :class:`StorageUnavailable`.
        """
        if self._writer is None:
            return await self.run(fn, *args, **kwargs)
        return await self._writer.submit(partial(fn, *args, **kwargs) if args or kwargs else fn)

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
            mode: str | None = connection.execute(text("PRAGMA journal_mode")).scalar()
            return mode

    def dispose(self) -> None:
        """Stop the group-commit writer (after its queued batches) and close every connection."""
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()


class TtlCache(Generic[K, T]):
    """A small in-process cache of values read from the database, each kept ``ttl`` seconds.

    For data read on every request but rarely changed (a tenant's configuration): a change made
    through this process is seen at once (:meth:`invalidate`), one made by another process
    within ``ttl`` seconds. At most ``size`` entries (cleared when full).
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[K, tuple[float, T]] = {}

    def get(self, key: K) -> T | None:
        """The cached value, or None when absent or older than ``ttl``."""
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: K, value: T) -> None:
        """Remember ``value`` for ``ttl`` seconds."""
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def invalidate(self, key: K) -> None:
        """Forget ``key`` (after this process changed it)."""
        self._entries.pop(key, None)
