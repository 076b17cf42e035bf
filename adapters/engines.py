"""The heavy engines of a server process, loaded in the background after start-up, and their state.

A server answers its first request long before its heavy engines could be loaded: the speech
recogniser (Whisper, ~1 s of CPU), the WebRTC media stack (aiortc, PyAV, NumPy: ~0.25 s to import),
the sentence-embedding model (~0.3 s). Each engine is still created on first use, as before; with
``ENGINE_PRELOAD`` on (the default) :meth:`EngineWarmup.start` also loads them one after another in
a daemon thread once the server has started, so the first request that needs one finds it ready
or waits for the load already under way (each engine's own lock), never loads it twice.

:meth:`state` is what ``GET /health`` reports per engine: ``loading`` (queued or being loaded in
the background), ```ready`` (loaded), ``unavailable`` (its load failed: not installed, bad files), or None when the
warm-up was never started (``ENGINE_PRELOAD=false``: the engine loads on first use; :meth:`probe`
then says whether it is installed, without loading it).

Loaders may also name modules to import ahead of first use (:meth:`prefetch`): libraries the
request path imports lazily (livekit's API client, jsonschema) so that start-up does not pay for
them and the first request that needs one does not either.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from core import heap

logger = logging.getLogger("adapters.engines")

LOADING = "loading"
READY = "ready"
AVAILABLE = "available"
UNAVAILABLE = "unavailable"


class Engine:
    """One registered engine: ``load()`` loads it (idempotent, thread-safe, blocking; raises when it
    cannot be loaded); ``installed()`` says, cheaply and without loading it, whether it could be;
    ``provider`` names it in ``GET /health``."""

    def __init__(self, name: str, load: Callable[[], Any], installed: Callable[[], bool], provider: str) -> None:
        self.name = name
        self.load = load
        self.installed = installed
        self.provider = provider


class EngineWarmup:
    """Engines by name with their loaders (blocking callables, run in registration order), and
    modules to import after them."""

    def __init__(self, *, freeze_after: bool = False) -> None:
        #: freeze the heap (core/heap.py) once everything is loaded: the engines' objects stay too
        self.freeze_after = freeze_after
        self._engines: dict[str, Engine] = {}
        self._modules: list[str] = []
        self._states: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._done = threading.Event()
        #: Seconds each engine took to load (for logs and the benchmark).
        self.seconds: dict[str, float] = {}

    def add(self, name: str, load: Callable[[], Any], *, installed: Callable[[], bool], provider: str) -> None:
        """Register engine ``name`` (see :class:`Engine`). Registering after :meth:`start` has no effect."""
        self._engines[name] = Engine(name, load, installed, provider)

    def prefetch(self, *modules: str) -> None:
        """Import ``modules`` in the background too, after the engines."""
        self._modules.extend(modules)

    @property
    def names(self) -> list[str]:
        """The registered engines, in load order."""
        return list(self._engines)

    def engine(self, name: str) -> Engine | None:
        """The registered engine ``name``, or None."""
        return self._engines.get(name)

    def probe(self, name: str) -> str:
        """:meth:`state` when the warm-up runs or ran, else ``available`` or ``unavailable`` from the
        engine's ``installed()`` (blocking: may look at files or load a small library)."""
        state = self._states.get(name)
        if state is not None:
            return state
        engine = self._engines[name]
        try:
            return AVAILABLE if engine.installed() else UNAVAILABLE
        except Exception:  # noqa: BLE001 - a check that fails says the engine cannot serve
            return UNAVAILABLE

    def state(self, name: str) -> str | None:
        """``loading``, ``ready`` or ``unavailable`` once :meth:`start` ran; None before (or for an
        engine that was never registered)."""
        return self._states.get(name)

    def error(self, name: str) -> str | None:
        """Why engine ``name`` is unavailable, if it is."""
        return self._errors.get(name)

    def start(self) -> None:
        """Mark every engine ``loading`` and load them in a daemon thread (idempotent)."""
        if self._thread is not None:
            return
        for name in self._engines:
            self._states[name] = LOADING
        self._thread = threading.Thread(target=self._run, name="engine-warmup", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the warm-up finished (True) or ``timeout`` seconds passed (False)."""
        return self._done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Load nothing more; wait up to ``timeout`` s for the engine being loaded."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            for name, engine in self._engines.items():
                if self._stopping.is_set():
                    return
                began = time.perf_counter()
                try:
                    engine.load()
                except Exception as exc:  # noqa: BLE001 - any failure means "cannot serve": report it
                    self._errors[name] = f"{type(exc).__name__}: {exc}"
                    self._states[name] = UNAVAILABLE
                    logger.warning("engine %s unavailable: %s", name, self._errors[name])
                    continue
                self.seconds[name] = time.perf_counter() - began
                self._states[name] = READY
                logger.info("engine %s ready in %.2f s", name, self.seconds[name])
            for module in self._modules:
                if self._stopping.is_set():
                    return
                try:
                    importlib.import_module(module)
                except Exception:  # noqa: BLE001 - imported again (and failing visibly) where it is used
                    logger.debug("prefetch of %s failed", module, exc_info=True)
            if self.freeze_after:
                heap.freeze()
        finally:
            self._done.set()
