"""Scale-out benchmark (part of ``make bench``): one worker process against two on one port.

Two deployments of the gateway run side by side, each on a fresh SQLite file (WAL,
``synchronous=FULL``) and sharing one throwaway Redis (scripts/redis-test-server; ``WORKERS`` > 1
needs it): ``WORKERS=1`` and ``WORKERS=2``. Each is loaded in turn by wrk, ``--rounds`` times,
alternating (1, 2, 1, 2, …, so a drift of the machine's load hits both alike), with two reads:

* ``GET /v1/sessions/{id}`` (Virtual Banker getSession: JWT check, a rate-limit hit in Redis — two
  round trips of ``limits``' moving window —, session row read), spread over 64 callers, each with
  its own session and budget. Each deployment has a tenant of its own, so neither reads the
  other's rate-limit counters.
* ``GET /api/v1/voice/session/{id}`` (Vertebro getVoiceSession: HTTP Basic, project membership and
  session row read; no Redis).
 Engines are not preloaded (``ENGINE_PRELOAD=false``): the read needs
none, and their background load would take CPU from the first round.

Printed per round: req/s, latency percentiles, and where the CPU went (``/proc/<pid>/stat`` of the
server's processes and of redis-server, ``getrusage`` of wrk), in milliseconds of CPU per request
and in cores; then, per read, the median req/s of each deployment and the ratio 2 workers /
1 worker, with the load average. The load generator and Redis run on the same cores as the workers, so on a
2-core machine the ratio is bounded by ``2 × w / (w + o)``, ``w`` the workers' CPU per request and
``o`` everything else's (wrk, Redis, the kernel's loopback): the table prints that bound too. Two
hosts' worth of cores, with the load balancer and Redis elsewhere, are what the workers' own CPU per
request (1 vs 2 workers) shows. Nothing is asserted.

Usage: ``python -m bench.workers [--seconds S] [--rounds R] [--connections C]`` (or
``python -m bench.run --only workers``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.loadgen import LoadResult, find_wrk, run_wrk, wrk_script
from bench.run import BASIC_HASH, BASIC_PASSWORD, BASIC_USER, cpu_seconds, free_port
from handlers.virtual_banker.security import mint_jwt

ROOT = Path(__file__).resolve().parent.parent
SECRET = "workers-bench-secret-0123456789-0123456789"
_GET_SCRIPT = """\
local paths = {{{paths}}}
local headers = {{{headers}}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"status\\":%d,\\"errors\\":%d," ..
    "\\"p50_us\\":%d,\\"p99_us\\":%d}}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
#: Callers the getSession load is spread over (each with its own session and rate-limit budget).
USERS = 64
VB_READ = "GET /v1/sessions/{id}"
VERTEBRO_READ = "GET /api/v1/voice/session/{id}"


def _group_pids(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` (the server's supervisor and its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


@dataclass
class Deployment:
    """One running server: ``workers`` processes, its base URL, and per loaded read the URL and
    the wrk script (``reads[name] = (url, script path)``)."""

    workers: int
    proc: subprocess.Popen[bytes]
    base: str
    reads: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Round:
    """One wrk run of one read against one deployment, with the CPU every party spent on it:
    ``server_ms``, ``redis_ms`` and ``wrk_ms`` milliseconds of CPU per completed request."""

    read: str
    workers: int
    load: LoadResult
    server_ms: float
    redis_ms: float
    wrk_ms: float

    @property
    def other_ms(self) -> float:
        """CPU per request spent outside the server (wrk, Redis), ms."""
        return self.redis_ms + self.wrk_ms


def _start(workers: int, workdir: Path, redis_url: str) -> Deployment:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WORKERS": str(workers), "REDIS_URL": redis_url,
           "DATABASE_URL": f"sqlite:///{workdir / f'w{workers}.db'}", "LOG_LEVEL": "warning",
           "VIRTUAL_BANKER_JWT_SECRET": SECRET, "SECRETS_DIR": str(workdir / f"secrets{workers}"),
           "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "10000", "ENGINE_PRELOAD": "false",
           "VERTEBRO_BASIC_USERS": json.dumps({BASIC_USER: BASIC_HASH}),
           "VERTEBRO_ADMIN_USERS": json.dumps([BASIC_USER])}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    return Deployment(workers, proc, f"http://127.0.0.1:{port}")


def _prepare(deployment: Deployment, workdir: Path, wrk: str, connections: int) -> None:
    """Wait for ``/health``, open the sessions the reads load (Virtual Banker: one per caller of the
    deployment's own tenant; Vertebro: one), write their wrk scripts and warm every worker up (2 s
    of load per read)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(f"{deployment.base}/health", timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or deployment.proc.poll() is not None:
                raise RuntimeError(f"WORKERS={deployment.workers} did not start") from None
            time.sleep(0.2)
    tenant = f"tenant-w{deployment.workers}"
    paths, headers = [], []
    for number in range(USERS):
        user = f"user-{number}"
        token = mint_jwt(tenant, user, SECRET, 3600)
        created = httpx.post(f"{deployment.base}/v1/sessions", headers={"Authorization": f"Bearer {token}"},
                             json={"tenant_id": tenant, "user_id": user, "auth_assertion": token}, timeout=30)
        created.raise_for_status()
        paths.append(f'"/v1/sessions/{created.json()["data"]["session_id"]}"')
        headers.append(f'{{["Authorization"] = "Bearer {token}"}}')
    script = workdir / f"get{deployment.workers}.lua"
    script.write_text(_GET_SCRIPT.format(paths=", ".join(paths), headers=", ".join(headers)), encoding="utf-8")
    deployment.reads[VB_READ] = (f"{deployment.base}/v1/sessions/", str(script))
    started = httpx.post(f"{deployment.base}/api/v1/voice/session/start", auth=(BASIC_USER, BASIC_PASSWORD),
                         json={"project": f"bench-{deployment.workers}", "language": "en-US"}, timeout=30)
    started.raise_for_status()
    basic = "Basic " + base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    directory = workdir / f"vertebro{deployment.workers}"
    directory.mkdir()
    deployment.reads[VERTEBRO_READ] = (
        f"{deployment.base}/api/v1/voice/session/{started.json()['session_id']}",
        wrk_script(None, {"Authorization": basic}, str(directory), method="GET", name="get"))
    for url, path in deployment.reads.values():
        run_wrk(wrk, url, path, 2, connections)


def measure(deployment: Deployment, read: str, redis_pid: int, wrk: str, seconds: float, connections: int) -> Round:
    """wrk against ``read`` of ``deployment``, with the CPU it cost every party."""
    url, script = deployment.reads[read]
    pids = _group_pids(deployment.proc.pid)
    server_before = sum(cpu_seconds(pid) for pid in pids)
    redis_before = cpu_seconds(redis_pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = run_wrk(wrk, url, script, seconds, connections)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = sum(cpu_seconds(pid) for pid in pids) - server_before
    redis = cpu_seconds(redis_pid) - redis_before
    wrk_cpu = ((children_after.ru_utime + children_after.ru_stime)
               - (children_before.ru_utime + children_before.ru_stime))
    per_request = 1000 / max(load.requests, 1)
    return Round(read, deployment.workers, load, server * per_request, redis * per_request, wrk_cpu * per_request)


def _redis_pid(redis_url: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    """Print the 1-worker / 2-worker table; exit 2 when wrk or redis-server is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    wrk = find_wrk(allow_apt=not os.environ.get("BENCH_NO_APT"))
    if wrk is None or shutil.which("redis-server") is None:
        print("bench.workers: needs wrk and redis-server (Debian packages)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    redis_dir = workdir / "redis"
    script = ROOT / "scripts" / "redis-test-server"
    redis_url = subprocess.run([str(script), "start", str(redis_dir), str(free_port())], capture_output=True,
                               text=True, check=True).stdout.strip()
    deployments = [_start(workers, workdir, redis_url) for workers in (1, 2)]
    try:
        for deployment in deployments:
            _prepare(deployment, workdir, wrk, args.connections)
        redis_pid = _redis_pid(redis_url)
        print(f"## Scale-out: wrk -t1 -c{args.connections}, {args.seconds:.0f} s per round, {args.rounds} rounds, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
        print("| read | WORKERS | req/s | p50 ms | p99 ms | non-2xx | errors | server CPU ms/req | Redis ms/req "
              "| wrk ms/req | server cores |\n|---|---|---|---|---|---|---|---|---|---|---|")
        rounds: list[Round] = []
        for _ in range(args.rounds):
            for read in (VB_READ, VERTEBRO_READ):
                for deployment in deployments:
                    r = measure(deployment, read, redis_pid, wrk, args.seconds, args.connections)
                    rounds.append(r)
                    print(f"| {read} | {r.workers} | {r.load.rps:,.0f} | {r.load.p50_ms:.1f} | {r.load.p99_ms:.1f} | "
                          f"{r.load.non_2xx} | {r.load.errors} | {r.server_ms:.3f} | {r.redis_ms:.3f} | "
                          f"{r.wrk_ms:.3f} | {r.server_ms * r.load.rps / 1000:.2f} |", flush=True)
        cores = os.cpu_count() or 2
        for read in (VB_READ, VERTEBRO_READ):
            one = [r for r in rounds if r.workers == 1 and r.read == read]
            two = [r for r in rounds if r.workers == 2 and r.read == read]
            rps1 = statistics.median(r.load.rps for r in one)
            rps2 = statistics.median(r.load.rps for r in two)
            server1 = statistics.median(r.server_ms for r in one)
            server2 = statistics.median(r.server_ms for r in two)
            other2 = statistics.median(r.other_ms for r in two)
            per_round = ", ".join(f"{b.load.rps / max(a.load.rps, 1e-9):.2f}" for a, b in zip(one, two, strict=True))
            print(f"\n{read}: 2 workers / 1 worker **{rps2 / max(rps1, 1e-9):.2f}x** (median req/s {rps2:,.0f} / "
                  f"{rps1:,.0f}; rounds {per_round}). Server CPU per request: 1 worker {server1:.3f} ms, 2 workers "
                  f"{server2:.3f} ms; wrk + Redis {other2:.3f} ms per request on the same cores: the bound on "
                  f"{cores} cores is {cores * server1 / (server1 + other2):.2f}x")
    finally:
        for deployment in deployments:
            if deployment.proc.poll() is None:
                os.killpg(deployment.proc.pid, signal.SIGTERM)
        for deployment in deployments:
            try:
                deployment.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(deployment.proc.pid, signal.SIGKILL)
        subprocess.run([str(script), "stop", str(redis_dir)], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
