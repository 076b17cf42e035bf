"""adapters.jobs: jobs on huey run on the server's event loop, are retried with backoff, survive
a restart (SQLite and PostgreSQL storage), and periodic jobs run one at a time across queues."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from adapters.jobs import JobQueue, huey_for


async def _until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def test_storage_follows_the_database_url(tmp_path: Path) -> None:
    assert type(huey_for(f"sqlite:///{tmp_path / 'g.db'}", "q")).__name__ == "SqliteHuey"
    assert type(huey_for("sqlite:///:memory:", "q")).__name__ == "MemoryHuey"
    with pytest.raises(ValueError):
        huey_for("mysql://u@h/db", "q")


async def test_a_job_runs_on_the_event_loop_with_its_arguments(tmp_path: Path) -> None:
    queue = JobQueue(f"sqlite:///{tmp_path / 'g.db'}", name="t1")
    seen: list[tuple[str, int, bool]] = []
    loop = asyncio.get_running_loop()

    @queue.job("record")
    async def record(word: str, n: int) -> None:
        seen.append((word, n, asyncio.get_running_loop() is loop))

    await queue.start()
    try:
        await record.enqueue("hello", 3)
        await record.enqueue_after(1, "later", 4)
        await _until(lambda: len(seen) == 2)
    finally:
        await queue.stop()
    assert seen == [("hello", 3, True), ("later", 4, True)]


async def test_a_queue_started_in_the_background_runs_jobs_and_declares_without_storage(tmp_path: Path) -> None:
    """Declaring jobs opens nothing (no huey yet); the consumer starts on a thread of its own while
    the caller goes on, and a job enqueued meanwhile runs once it is up."""
    queue = JobQueue(f"sqlite:///{tmp_path / 'g.db'}", name="t1b")
    seen: list[str] = []

    @queue.job("record")
    async def record(word: str) -> None:
        seen.append(word)

    assert queue._huey is None  # nothing opened by the declaration
    queue.start_in_background()
    try:
        await record.enqueue("early")
        await _until(lambda: seen == ["early"])
    finally:
        await queue.stop()


async def test_a_failing_job_is_retried_with_backoff(tmp_path: Path) -> None:
    queue = JobQueue(f"sqlite:///{tmp_path / 'g.db'}", name="t2")
    attempts: list[float] = []

    @queue.job("flaky", retries=3, retry_delay=1, retry_backoff=2)
    async def flaky() -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    await queue.start()
    try:
        await flaky.enqueue()
        await _until(lambda: len(attempts) == 3, timeout=30)
    finally:
        await queue.stop()
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps  # 1 s, then 2 s (backoff ×2)


async def test_a_queued_job_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    first = JobQueue(url, name="t3")

    @first.job("note")
    async def note_first(text: str) -> None:
        raise AssertionError("the first process never runs it")

    await note_first.enqueue("kept")  # enqueued while no consumer runs (the process then dies)
    first.huey.storage.close()

    seen: list[str] = []
    second = JobQueue(url, name="t3")

    @second.job("note")
    async def note(text: str) -> None:
        seen.append(text)

    await second.start()
    try:
        await _until(lambda: seen == ["kept"])
    finally:
        await second.stop()


async def test_a_periodic_job_runs_one_at_a_time_across_queues(tmp_path: Path) -> None:
    """Two queues on one storage (two processes of a deployment) both schedule the job every
    second; runs never overlap, though each run lasts 1.5 s."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    active, overlaps, runs = 0, 0, 0

    async def clean() -> None:
        nonlocal active, overlaps, runs
        active += 1
        overlaps += active > 1
        runs += 1
        await asyncio.sleep(1.5)
        active -= 1

    queues = [JobQueue(url, name="t4") for _ in range(2)]
    for queue in queues:
        queue.every("cleaner", 1)(clean)
        await queue.start()
    try:
        await _until(lambda: runs >= 3, timeout=30)
    finally:
        for queue in queues:
            await queue.stop()
    assert overlaps == 0


async def test_on_postgresql_each_job_runs_once_across_processes(pg_database: str) -> None:
    """Two queues on one PostgreSQL database (two hosts): 30 jobs, each run exactly once, by
    both consumers between them; a periodic job never overlaps (advisory lock)."""
    ran: list[tuple[int, int]] = []
    active, overlaps, periodic_runs = 0, 0, 0

    async def periodic() -> None:
        nonlocal active, overlaps, periodic_runs
        active += 1
        overlaps += active > 1
        periodic_runs += 1
        await asyncio.sleep(1.2)
        active -= 1

    queues = []
    for index in range(2):
        queue = JobQueue(pg_database, name="pgq")

        @queue.job("work")
        async def work(n: int, index: int = index) -> None:
            ran.append((n, index))

        queue.every("sweep", 1)(periodic)
        queues.append((queue, work))
    for queue, _ in queues:
        await queue.start()
    try:
        for n in range(30):
            await queues[n % 2][1].enqueue(n)
        await _until(lambda: len(ran) >= 30 and periodic_runs >= 2, timeout=40)
        await asyncio.sleep(0.5)
    finally:
        for queue, _ in queues:
            await queue.stop()
    assert sorted(n for n, _ in ran) == list(range(30))
    assert overlaps == 0
