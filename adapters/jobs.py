"""Background work on a job queue library (huey): durable, retried, shared by every process.

The queue lives where the deployment's data lives, so ``make serve`` needs nothing more and a
scaled-out deployment needs nothing else:

* ``DATABASE_URL`` PostgreSQL → huey's ``PostgresHuey`` in the same database (tables
  ``huey_*``; ``FOR UPDATE SKIP LOCKED`` dequeue, ``LISTEN/NOTIFY`` wake-up): every process and
  host takes jobs from one queue, each job is taken by exactly one of them.
* SQLite (the embedded default) → ``SqliteHuey`` in a file beside the database
  (``<db>.jobs.sqlite``), durable across restarts.
* ``sqlite:///:memory:`` → ``MemoryHuey`` (tests).

Every server process runs an embedded huey consumer (worker threads and huey's scheduler; the
server keeps its own signal handling). Jobs are ``async`` functions: the worker thread hands
each call to the server's event loop and waits for it, so jobs use the same adapters as
requests. huey gives retries with exponential backoff (``retry_delay`` × ``retry_backoff``ⁿ),
delayed jobs (``delay`` seconds) and periodic jobs. A periodic job runs at most once at a time
across all processes under a lock its holder's death releases by itself (:class:`RunLock`: a
PostgreSQL session advisory lock, or a lock file for SQLite; huey's own locks cannot expire on
SQL storage).

huey removes a job from the queue when a worker takes it: a process killed while running a
job loses that run. Work that must survive such a death keeps its own state in the database
(a row with a lease), and a periodic job re-enqueues what a dead process left
(:meth:`adapters.storage` stores' ``claim``/``expired`` methods); the job itself claims its row
before acting, so a job enqueued twice still runs once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, ParamSpec

import anyio
from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy.engine import make_url

if TYPE_CHECKING:  # huey (which imports psycopg and redis, ~0.15 s) loads with the queue's storage
    import psycopg
    from huey import Huey
    from huey.consumer import Consumer

logger = logging.getLogger("adapters.jobs")
P = ParamSpec("P")
#: An ``async def`` job body taking no arguments.
#: pg_advisory_lock key serializing the creation of huey's tables ("voicegwq")
SCHEMA_LOCK_KEY = int.from_bytes(b"voicegwq", "big") & 0x7FFF_FFFF_FFFF_FFFF
PeriodicBody = Callable[[], Coroutine[Any, Any, Any]]


@cache
def _consumer_class() -> type[Consumer]:
    """huey's consumer inside the server process: its threads, the server's signal handlers, and
    a scheduler checking periodic jobs every second instead of every minute (jobs declare periods
    in seconds; :meth:`JobQueue.every`). Made on first use, with huey's import."""
    from huey.consumer import Consumer, Scheduler

    class _Scheduler(Scheduler):
        periodic_task_seconds = 1

    class _EmbeddedConsumer(Consumer):
        scheduler_class = _Scheduler

        def _set_signal_handlers(self) -> None:
            """The server (uvicorn) owns SIGINT/SIGTERM; :meth:`JobQueue.stop` stops the consumer."""

    return _EmbeddedConsumer


def worker_name() -> str:
    """A name for one worker of this process, unique across hosts and restarts: host:pid:random
    (what claims on rows record, so an operator can tell which process holds what)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


class RunLock:
    """A non-blocking lock named ``name``, shared by every process of the deployment, released
    by the holder's death (connection or file descriptor closed by the kernel).

    PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own; SQLite: an exclusive
    ``flock`` on ``<db>.<name>.lock``; an in-memory database: a thread lock (one process).
    """

    def __init__(self, database_url: str, name: str) -> None:
        url = make_url(database_url)
        self.name = name
        self._key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF
        self._dsn: str | None = None
        self._file: FileLock | None = None
        self._local = threading.Lock()
        if url.get_backend_name() == "postgresql":
            self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        elif url.database and url.database != ":memory:":
            path = Path(url.database)
            self._file = FileLock(str(path.with_name(f"{path.name}.{name}.lock")), timeout=0)
        self._connection: psycopg.Connection[Any] | None = None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when taken. Raises the driver's error when
        PostgreSQL cannot be reached."""
        if self._dsn is not None:
            import psycopg

            connection = psycopg.connect(self._dsn, autocommit=True)
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row and row[0]:
                self._connection = connection
                return True
            connection.close()
            return False
        if self._file is not None:
            try:
                self._file.acquire()
                return True
            except FileLockTimeout:
                return False
        return self._local.acquire(blocking=False)

    def release(self) -> None:
        """Give the lock back (closing the holding connection releases it on PostgreSQL)."""
        if self._dsn is not None:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()
        elif self._file is not None:
            self._file.release()
        else:
            self._local.release()


def huey_for(database_url: str, name: str) -> Huey:
    """The huey instance whose storage matches ``database_url`` (see the module docstring)."""
    from huey import MemoryHuey, PostgresHuey, SqliteHuey

    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        import psycopg

        huey = PostgresHuey(name, dsn=dsn, results=False, create_tables=False)
        # huey's CREATE TABLE IF NOT EXISTS races when processes start together (duplicate pg_type
        # rows): create its tables once, under an advisory lock every process takes
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
            try:
                huey.storage.initialize_schema()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
        return huey
    if backend == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            return MemoryHuey(name, results=False)
        path = Path(database)
        return SqliteHuey(name, filename=str(path.with_name(path.stem + ".jobs.sqlite")), results=False)
    raise ValueError(f"no job queue storage for database backend {backend!r}")


class Job(Generic[P]):
    """One kind of job: ``await job.enqueue(*args)`` or ``await job.enqueue_after(seconds, *args)``
    (arguments are pickled)."""

    def __init__(self, queue: JobQueue, name: str) -> None:
        self._queue = queue
        self._wrapper: Any = None  # huey's task, bound when the queue's storage is opened
        self.name = name

    def _task(self) -> Any:
        """huey's task of this job (opens the queue's storage first if need be; blocking)."""
        self._queue.huey  # noqa: B018 - binds every declared job's task
        return self._wrapper

    async def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Put one call on the queue now. Raises the storage's error when the queue cannot be
        written."""
        await anyio.to_thread.run_sync(lambda: self._task()(*args, **kwargs))

    async def enqueue_after(self, seconds: float, *args: P.args, **kwargs: P.kwargs) -> None:
        """Put one call on the queue to run ``seconds`` from now (huey's schedule, checked every
        second). Raises the storage's error when the queue cannot be written."""
        await anyio.to_thread.run_sync(lambda: self._task().schedule(args, kwargs, delay=max(0.0, float(seconds))))


class JobQueue:
    """The server's job queue: declare jobs with :meth:`job` / :meth:`every`, then
    :meth:`start` (in the server's event loop) and :meth:`stop`.

    ``workers``: jobs this process runs at once (threads waiting on the event loop).

    The storage (huey, and its database connection) is opened on first need — :meth:`start`, the
    first enqueue, :attr:`huey` — not by the constructor: declaring jobs costs a server's
    start-up nothing.
    """

    def __init__(self, database_url: str, *, name: str = "voicegw", workers: int = 2,
                 scheduler_interval: int = 1) -> None:
        self.database_url = database_url
        self.name = name
        self.workers = workers
        self.scheduler_interval = scheduler_interval
        self._huey: Huey | None = None
        self._huey_lock = threading.Lock()
        self._declarations: list[Callable[[Huey], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Consumer | None = None
        self._starter: threading.Thread | None = None
        self._jobs: dict[str, Job[Any]] = {}
        self._running: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()

    @property
    def huey(self) -> Huey:
        """The huey instance on this deployment's storage (:func:`huey_for`), with every declared
        job registered; opened on first access (blocking: imports huey, may create its tables)."""
        with self._huey_lock:
            if self._huey is None:
                huey = huey_for(self.database_url, self.name)
                for declare in self._declarations:
                    declare(huey)
                self._huey = huey
            return self._huey

    def _declare(self, declare: Callable[[Huey], None]) -> None:
        """Register with huey now if the storage is open, else when it opens."""
        with self._huey_lock:
            self._declarations.append(declare)
            if self._huey is not None:
                declare(self._huey)

    def _run(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, **kwargs: Any) -> Any:
        """In a huey worker thread: run ``fn`` on the server's loop and wait for it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("the job queue's event loop is not running")
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), loop)
        with self._lock:
            self._running.add(future)
        try:
            return future.result()
        finally:
            with self._lock:
                self._running.discard(future)

    def job(self, name: str, *, retries: int = 0, retry_delay: float = 0.0, retry_backoff: float = 1.0,
            ) -> Callable[[Callable[P, Coroutine[Any, Any, Any]]], Job[P]]:
        """Declare ``async def fn(...)`` as the job ``name``. A failed run (any exception) is
        retried ``retries`` times, first after ``retry_delay`` seconds, each wait × ``retry_backoff``."""

        def declare(fn: Callable[P, Coroutine[Any, Any, Any]]) -> Job[P]:
            def run(*args: Any, **kwargs: Any) -> None:
                self._run(fn, *args, **kwargs)

            job: Job[P] = Job(self, name)

            def register(huey: Huey) -> None:
                job._wrapper = huey.task(retries=retries, retry_delay=retry_delay, retry_backoff=retry_backoff,
                                         name=name)(run)

            self._declare(register)
            self._jobs[name] = job
            return job

        return declare

    def every(self, name: str, seconds: int) -> Callable[[PeriodicBody], PeriodicBody]:
        """Declare ``async def fn()`` to run once every ``seconds`` (whole seconds) in each process,
        at most one run at a time across all processes (:class:`RunLock`); a run due while
        another is in progress is skipped."""
        if seconds < 1:
            raise ValueError("a periodic job runs at most once a second")

        last: list[int] = []

        def due(moment: datetime) -> bool:
            # once per period: huey's scheduler may skip a second under load, so compare periods
            period = int(moment.timestamp()) // seconds
            if last and last[0] == period:
                return False
            first = not last
            last[:] = [period]
            return not first  # not at start-up: the first period begins now

        def declare(fn: PeriodicBody) -> PeriodicBody:
            lock = RunLock(self.database_url, f"job-{name}")

            def run() -> None:
                if not lock.acquire():
                    logger.debug("periodic job %s skipped: another run holds its lock", name)
                    return
                try:
                    self._run(fn)
                finally:
                    lock.release()

            self._declare(lambda huey: huey.periodic_task(due, name=name)(run))
            return fn

        return declare

    def _start_consumer(self) -> Consumer:
        """Open the storage and start the consumer's threads (blocking)."""
        consumer = _consumer_class()(self.huey, workers=self.workers, worker_type="thread", periodic=True,
                                     scheduler_interval=self.scheduler_interval, initial_delay=0.05,
                                     max_delay=1.0, check_worker_health=False)
        consumer.start()
        return consumer

    async def start(self) -> None:
        """Start this process's consumer (worker threads and scheduler) on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._consumer = await anyio.to_thread.run_sync(self._start_consumer)

    def start_in_background(self) -> None:
        """Like :meth:`start`, returning at once: a thread of its own opens the storage and starts
        the consumer (the server answers meanwhile; :meth:`stop` waits for it). Failures are logged."""
        self._loop = asyncio.get_running_loop()

        def start() -> None:
            try:
                self._consumer = self._start_consumer()
            except Exception:  # noqa: BLE001 - a server without its consumer still serves; say why
                logger.exception("the job queue's consumer did not start")

        self._starter = threading.Thread(target=start, name="job-queue-start", daemon=True)
        self._starter.start()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; give running ones ``timeout`` seconds, then cancel them (a job's
        ``CancelledError`` handler releases what it holds), and release the storage."""
        if self._starter is not None:
            await anyio.to_thread.run_sync(self._starter.join)
            self._starter = None
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        consumer.stop_flag.set()
        with self._lock:
            running = list(self._running)
        if running:
            _, late = await asyncio.wait([asyncio.wrap_future(f) for f in running], timeout=timeout)
            for future in running:
                future.cancel()
            if late:
                await asyncio.wait(late, timeout=timeout)
        await anyio.to_thread.run_sync(lambda: consumer.stop(graceful=True))
        if self._huey is not None:
            self._huey.storage.close()

    def pending(self) -> int:
        """Jobs waiting in the queue (not counting scheduled ones)."""
        return int(self.huey.pending_count())
