"""A bounded executor for speech-engine work, so that speech never stalls anything else.

Engine work (Whisper inference, audio decoding) is CPU-bound and long (seconds). It runs on the
executor's own threads — never on the event loop and never on the shared worker threads that
database work uses (``anyio.to_thread``) — behind an admission check that refuses work instead
of queueing it without bound:

* at most ``workers`` jobs run at once and at most ``queue_size`` more wait; a job submitted past
  that raises :class:`EngineBusy` at once (``per_caller=False``: the server is saturated);
* at most ``per_caller`` jobs of one caller run or wait at once; past that :class:`EngineBusy`
  with ``per_caller=True`` (one caller cannot fill the queue for everybody else). The caller is
  whatever the request handler named with :func:`speech_caller` (a string such as
  ``"vb:tenant:user"``); work with no caller named is not limited per caller.

The threads run at a lower CPU priority (``nice`` +10 by default, Linux per-thread; threads
they start, such as CTranslate2's, inherit it): on a busy machine the event loop and database
work get the CPU first, speech takes what is left.

A job counts from submission until its thread finishes it (a cancelled awaiter does not free a
place while the thread still runs), so the bounds hold for the CPU really in use.
``EngineBusy.retry_after`` (whole seconds, ≥ 1) estimates when a place frees: the mean run time
of recent jobs times the jobs ahead per worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from adapters.providers.base import ProviderError
from adapters.providers.blas import single_threaded_blas

__all__ = ["EngineBusy", "EngineExecutor", "speech_caller"]

T = TypeVar("T")
logger = logging.getLogger(__name__)

_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("speech_caller", default=None)


def speech_caller(key: str | None) -> None:
    """Name the caller of the engine work the current request (asyncio task) submits from now on.

    ``key`` identifies one client (e.g. ``"vertebro:alice"``); None means unnamed (not limited
    per caller). Set it in the handler before calling an engine; it lasts for the task."""
    _caller.set(key)


class EngineBusy(ProviderError):
    """Engine work refused because the executor (``per_caller=False``) or the caller's own share
    (``per_caller=True``) is full. ``retry_after``: whole seconds (≥ 1) after which a retry
    should find room. A ProviderError, so callers that do not tell it apart answer "unavailable"."""

    def __init__(self, message: str, retry_after: int, per_caller: bool) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.per_caller = per_caller


class EngineExecutor:
    """``workers`` threads running engine jobs, with ``queue_size`` waiting places and at most
    ``per_caller`` jobs per caller (see the module docstring). Thread-safe; one per server."""

    def __init__(self, name: str, *, workers: int, queue_size: int, per_caller: int, nice: int = 10) -> None:
        if workers < 1 or queue_size < 0 or per_caller < 1:
            raise ValueError("workers ≥ 1, queue_size ≥ 0 and per_caller ≥ 1 are required")
        single_threaded_blas()  # several engine threads at once: one BLAS thread each (adapters/providers/blas.py)
        self.name = name
        self.workers = workers
        self.queue_size = queue_size
        self.per_caller = per_caller
        self.nice = nice
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._admitted = 0
        self._by_caller: dict[str, int] = {}
        self._durations: deque[float] = deque(maxlen=32)
        #: Jobs refused so far (saturated, per caller).
        self.refused = {"saturated": 0, "per_caller": 0}

    @property
    def admitted(self) -> int:
        """Jobs running or waiting now."""
        return self._admitted

    def _retry_after(self, ahead: int) -> int:
        mean = sum(self._durations) / len(self._durations) if self._durations else 1.0
        return max(1, math.ceil(mean * max(1, ahead) / self.workers))

    def _admit(self, caller: str | None) -> None:
        with self._lock:
            if caller is not None and self._by_caller.get(caller, 0) >= self.per_caller:
                self.refused["per_caller"] += 1
                raise EngineBusy(f"{self.name}: this caller already has {self.per_caller} jobs in progress",
                                 self._retry_after(self._by_caller[caller]), per_caller=True)
            if self._admitted >= self.workers + self.queue_size:
                self.refused["saturated"] += 1
                raise EngineBusy(f"{self.name}: all {self.workers} workers busy and {self.queue_size} jobs waiting",
                                 self._retry_after(self._admitted - self.workers + 1), per_caller=False)
            self._admitted += 1
            if caller is not None:
                self._by_caller[caller] = self._by_caller.get(caller, 0) + 1

    def _release(self, caller: str | None, seconds: float | None) -> None:
        with self._lock:
            self._admitted -= 1
            if caller is not None:
                left = self._by_caller.get(caller, 1) - 1
                if left:
                    self._by_caller[caller] = left
                else:
                    self._by_caller.pop(caller, None)
            if seconds is not None:
                self._durations.append(seconds)

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Admit ``fn(*args)`` (raises EngineBusy at once when there is no room) and run it on
        an executor thread; returns an awaitable future of its result. The caller named by
        :func:`speech_caller` in the current context is charged. Call from the event loop."""
        caller = _caller.get()
        self._admit(caller)
        context = contextvars.copy_context()
        started: list[float] = []

        def job() -> T:
            started.append(time.perf_counter())
            return context.run(fn, *args)

        try:
            future = self._threads().submit(job)
        except BaseException:
            self._release(caller, None)
            raise

        def done(f: concurrent.futures.Future[T]) -> None:
            self._release(caller, time.perf_counter() - started[0] if started else None)

        future.add_done_callback(done)
        return asyncio.wrap_future(future)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``await submit(fn, *args)``: the result of ``fn(*args)`` run on an executor thread.
        Raises EngineBusy when refused, else whatever ``fn`` raises."""
        return await self.submit(fn, *args)

    def _threads(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers,
                                                                   thread_name_prefix=self.name,
                                                                   initializer=self._lower_priority)
            return self._pool

    def _lower_priority(self) -> None:
        """Runs first on each executor thread: raise its nice value by ``nice`` (Linux threads
        have their own; elsewhere this is a no-op)."""
        if self.nice <= 0 or not hasattr(os, "setpriority"):
            return
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice))
        except OSError as exc:  # not permitted here: run at normal priority
            logger.debug("could not lower the priority of %s threads: %s", self.name, exc)

    def shutdown(self) -> None:
        """Release the threads: running jobs finish in the background, waiting ones are dropped.
        A later :meth:`submit` starts new threads (an app's lifespan may run again, as in tests)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
