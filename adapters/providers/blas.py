"""NumPy's BLAS on one thread per caller.

NumPy's OpenBLAS starts one thread per core for every matrix product. The engines here multiply
small matrices (a sentence of ~10 tokens × 384 through MiniLM's layers) from several threads at
once (the engine executor, the worker threads), so those BLAS threads only contend: measured on
this 2-core machine under a load average of 3–6, one sentence embedding took 184 ms with
OpenBLAS' default threads and 11 ms with one (17×; intent detection of one utterance 0.12 s →
~0.01 s). Parallelism comes from running several requests at once, not from splitting one small
product.

Only libraries of the ``blas`` family are limited (NumPy's and SciPy's OpenBLAS); CTranslate2
(speech recognition) uses OpenMP with its own ``cpu_threads`` setting and is left alone.
"""

from __future__ import annotations

import threading

from threadpoolctl import threadpool_limits

_done = threading.Event()
_lock = threading.Lock()


def single_threaded_blas() -> None:
    """Limit the BLAS libraries loaded in this process (NumPy's OpenBLAS) to one thread each, once
    per process (later calls do nothing). Called where engines that multiply matrices are built."""
    if _done.is_set():
        return
    with _lock:
        if not _done.is_set():
            threadpool_limits(limits=1, user_api="blas")
            _done.set()
