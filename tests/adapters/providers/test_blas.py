"""adapters/providers/blas.py: NumPy's BLAS runs one thread once an engine is built."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from adapters.providers.blas import single_threaded_blas
from adapters.providers.executor import EngineExecutor


def test_blas_is_single_threaded_once_an_engine_executor_exists():
    EngineExecutor("blas-test", workers=2, queue_size=1, per_caller=1)
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas), blas
    single_threaded_blas()  # idempotent
    assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")


def test_other_thread_pools_are_left_alone():
    # CTranslate2's OpenMP pool (speech recognition) keeps its own cpu_threads setting
    import ctranslate2  # noqa: F401 - loads its OpenMP runtime

    def others() -> dict[str, int]:
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] != "blas"}

    before = others()
    single_threaded_blas()
    assert others() == before
