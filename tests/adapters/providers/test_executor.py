"""EngineExecutor: bounded admission (workers + queue), per-caller shares, places freed when the
thread finishes (not when an awaiter gives up), Retry-After estimates."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adapters.providers.base import ProviderError
from adapters.providers.executor import EngineBusy, EngineExecutor, speech_caller


async def test_admits_workers_plus_queue_then_refuses_at_once() -> None:
    gate = threading.Event()
    executor = EngineExecutor("t", workers=2, queue_size=3, per_caller=10)
    futures = [executor.submit(gate.wait, 5) for _ in range(5)]
    assert executor.admitted == 5
    with pytest.raises(EngineBusy) as refused:
        executor.submit(gate.wait, 5)
    assert not refused.value.per_caller and refused.value.retry_after >= 1
    assert isinstance(refused.value, ProviderError)
    gate.set()
    assert await asyncio.gather(*futures) == [True] * 5
    await asyncio.sleep(0.05)
    assert executor.admitted == 0 and executor.refused == {"saturated": 1, "per_caller": 0}
    assert await executor.run(lambda: 42) == 42
    executor.shutdown()


async def test_per_caller_share() -> None:
    gate = threading.Event()
    executor = EngineExecutor("t", workers=1, queue_size=10, per_caller=2)

    async def as_caller(name: str) -> list[asyncio.Future]:
        speech_caller(name)
        return [executor.submit(gate.wait, 5) for _ in range(2)]

    alice = await asyncio.create_task(as_caller("alice"))
    speech_caller("alice")
    with pytest.raises(EngineBusy) as refused:
        executor.submit(gate.wait, 5)
    assert refused.value.per_caller
    bob = await asyncio.create_task(as_caller("bob"))  # another caller still gets in
    gate.set()
    await asyncio.gather(*alice, *bob)
    await asyncio.sleep(0.05)
    assert executor.submit(lambda: 1) is not None  # alice's share is free again
    executor.shutdown()


async def test_a_cancelled_awaiter_frees_its_place_only_when_the_thread_is_done() -> None:
    gate = threading.Event()
    executor = EngineExecutor("t", workers=1, queue_size=1, per_caller=5)
    running = executor.submit(gate.wait, 5)
    waiting = executor.submit(gate.wait, 5)
    await asyncio.sleep(0.05)
    waiting.cancel()  # not started: dropped, place freed
    running.cancel()  # already running: the thread keeps the place until it returns
    await asyncio.sleep(0.05)
    assert executor.admitted == 1
    gate.set()
    await asyncio.sleep(0.1)
    assert executor.admitted == 0
    executor.shutdown()


async def test_exceptions_propagate_and_release() -> None:
    executor = EngineExecutor("t", workers=1, queue_size=0, per_caller=1)

    def boom() -> None:
        raise ValueError("engine failed")

    with pytest.raises(ValueError):
        await executor.run(boom)
    await asyncio.sleep(0.05)
    assert executor.admitted == 0
    executor.shutdown()


async def test_shutdown_then_more_work_starts_new_threads() -> None:
    executor = EngineExecutor("t", workers=1, queue_size=1, per_caller=1)
    assert await executor.run(lambda: 1) == 1
    executor.shutdown()  # an app's lifespan ended; it may start again (schemathesis, TestClient)
    assert await executor.run(lambda: 2) == 2
    executor.shutdown()


async def test_threads_run_at_a_lower_priority() -> None:
    import os

    executor = EngineExecutor("t", workers=1, queue_size=0, per_caller=1, nice=5)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    theirs = await executor.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert theirs == min(19, mine + 5)
    executor.shutdown()
