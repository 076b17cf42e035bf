"""Scale-out benchmark (part of ``make bench``): one worker process against two on one port.

The gateway starts twice, one after the other, on the same kind of database (a fresh SQLite
file, WAL, ``synchronous=FULL``) with a throwaway Redis (scripts/redis-test-server; ``WORKERS``
> 1 needs it): ``WORKERS=1`` and ``WORKERS=2``. Each is loaded by wrk with the same read, an
authenticated ``GET /v1/sessions/{id}`` (Virtual Banker getSession: JWT check, rate-limit hit in
Redis, session row read), and the table prints req/s, latency percentiles and the ratio
2 workers / 1 worker, with the load average. The load generator runs on the same machine and
takes CPU from the workers, so on 2 cores the ratio understates what two hosts' worth of cores
would give. Nothing is asserted.

Usage: ``python -m bench.workers [--seconds S] [--connections C]`` (or ``python -m bench.run --only workers``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadgen import LoadResult, find_wrk, run_wrk
from handlers.virtual_banker.security import mint_jwt

ROOT = Path(__file__).resolve().parent.parent
SECRET = "workers-bench-secret-0123456789-0123456789"
_GET_SCRIPT = """\
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {token}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"status\\":%d,\\"errors\\":%d," ..
    "\\"p50_us\\":%d,\\"p99_us\\":%d}}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(workers: int, workdir: Path, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "WORKERS": str(workers), "REDIS_URL": redis_url,
           "DATABASE_URL": f"sqlite:///{workdir / f'w{workers}.db'}", "LOG_LEVEL": "warning",
           "VIRTUAL_BANKER_JWT_SECRET": SECRET, "SECRETS_DIR": str(workdir / "secrets"),
           "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "1000000000"}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(f"{base}/health", timeout=2)
            return proc, base
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"WORKERS={workers} did not start") from None
            time.sleep(0.2)


def measure(workers: int, workdir: Path, redis_url: str, wrk: str, seconds: float, connections: int) -> LoadResult:
    """wrk against ``GET /v1/sessions/{id}`` on a server with ``workers`` processes."""
    proc, base = _serve(workers, workdir, redis_url)
    try:
        token = mint_jwt("tenant-w", "user-w", SECRET, 3600)
        created = httpx.post(f"{base}/v1/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                             json={"tenant_id": "tenant-w", "user_id": "user-w", "auth_assertion": token})
        created.raise_for_status()
        url = f"{base}/v1/sessions/{created.json()['data']['session_id']}"
        script = workdir / "get.lua"
        script.write_text(_GET_SCRIPT.format(token=token), encoding="utf-8")
        run_wrk(wrk, url, str(script), 2, connections)  # warm-up: every worker has served
        return run_wrk(wrk, url, str(script), seconds, connections)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    """Print the 1-worker / 2-worker table; exit 2 when wrk or redis-server is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    wrk = find_wrk(allow_apt=not os.environ.get("BENCH_NO_APT"))
    if wrk is None or shutil.which("redis-server") is None:
        print("bench.workers: needs wrk and redis-server (Debian packages)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    redis_dir = workdir / "redis"
    script = ROOT / "scripts" / "redis-test-server"
    redis_url = subprocess.run([str(script), "start", str(redis_dir), str(_free_port())], capture_output=True,
                               text=True, check=True).stdout.strip()
    try:
        print(f"## Scale-out: GET /v1/sessions/{{id}}, wrk -t1 -c{args.connections}, {args.seconds:.0f} s each, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
        print("| WORKERS | req/s | p50 ms | p99 ms | non-2xx | errors |\n|---|---|---|---|---|---|")
        results = {}
        for workers in (1, 2):
            result = measure(workers, workdir, redis_url, wrk, args.seconds, args.connections)
            results[workers] = result
            print(f"| {workers} | {result.rps:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | "
                  f"{result.non_2xx} | {result.errors} |", flush=True)
        print(f"\n2 workers / 1 worker: {results[2].rps / max(results[1].rps, 1e-9):.2f}x")
    finally:
        subprocess.run([str(script), "stop", str(redis_dir)], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
