"""``make bench``: the gateway's operations next to their FastAPI twins and reference apps, then speech
RTFs, then voice-to-voice latency of a realtime (WebRTC) conversation.

One run starts these servers side by side, each ``uvicorn`` with one worker on its own free
loopback port, then loads them one after another (never two at once, so they do not compete
for CPU):

====================  =======================================================================
gateway               ``python -m gateway`` (``VALIDATE_RESPONSES`` as by default), SQLite in a
                      temp dir (WAL, ``synchronous=FULL``): the real operations.
gateway validated     the same with ``VALIDATE_RESPONSES=true`` (every answer checked against the
                      contract); ``gateway unvalidated`` with ``false``: whichever is not the default.
twin                  ``bench/twins.py``: FastAPI + PyJWT + SQLModel twins of the loaded operations,
                      the same SQLite settings and durability (one fsync per write).
stock connexion       ``bench/stock_connexion.py``: connexion 3 AsyncApp echoing createSession's body.
fastapi               ``bench/fastapi_app.py``: pydantic model of the same body, echo, 201.
starlette             ``bench/starlette_app.py``: parse JSON and echo; a constant ``/api/version``.
====================  =======================================================================

Operations loaded (each against the targets that serve it): ``GET /api/version`` (ServiceAi,
no auth), ``GET /v1/sessions/{id}`` and ``POST /v1/sessions`` (Virtual Banker, bearer JWT),
``POST /v1/agent`` (Virstack, API key, a large validated body), ``GET
/api/v1/voice/session/{id}`` (Vertebro, HTTP Basic). Before loading, every target must answer
each of its requests with the expected status or the run stops. The load generator is ``wrk``
(installed with apt-get when missing, if we are root) or a built-in Python asyncio client; the
header says which, and the machine's load average when the run started. Ratios (``vs twin``,
``vs starlette``, validated/unvalidated) are what to compare; absolute numbers move with load.
``CPU ms/req`` is the server process's CPU time (all threads, from /proc) per completed
request: it moves much less with other load on the machine than req/s does. ``--rounds N``
loads every target N times, interleaved, and reports the median round. Last, the gateway is
started ``--cold-starts`` times (default 3) on the database it left, and the time from process
start to a healthy ``/health`` is printed (wall and CPU seconds).

All servers log at ``warning`` (no per-request access log). The VB rate limit is set far above
anything reachable here, in the gateway and the twin alike.

After the throughput tables the same run prints the speech benchmark (bench/speech.py), the
realtime benchmark (bench/realtime.py), one worker process against two (bench/workers.py) and the
CPU cost per unit of work with the capacity model of docs/deploy.md (bench/capacity.py).
``--only http|speech|realtime|workers|capacity`` runs one part alone; ``--only realtime-browser``
runs the realtime conversation with chromium as the caller (bench/realtime_browser.py; never by default).

Usage: ``python -m bench.run [--only http|speech|realtime] [--quick] [--connections N]
[--loadgen auto|wrk|python|httpx] [--rounds N] [--ops NAME,…] [--cold-starts N]``;
``BENCH_SECONDS`` sets seconds per target (default 10; ``--quick`` = 2). ``BENCH_NO_APT=1`` skips the apt-get attempt.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx

from bench.loadgen import LoadResult, find_wrk, run_python, run_wrk, wrk_script
from handlers.virtual_banker.security import mint_jwt

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PATH = "/v1/sessions"
TENANT, USER = "tenant-123", "user-456"
DEFAULT_SECONDS = 10.0
QUICK_SECONDS = 2.0
WARMUP_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 5.0
BASIC_USER, BASIC_PASSWORD = "bench", "bench-password-0123"
#: argon2id hash of BASIC_PASSWORD (both servers verify it once, then remember the credential)
BASIC_HASH = "$argon2id$v=19$m=65536,t=3,p=4$mQJwydBF7L3pe5Hh2E7aEQ$4dAraZwOFKY+r3GqvPm7UQ9JGoQW5PzAWnl3sx3m7ko"
TWIN_API_KEY = "vk-" + "0123456789abcdef" * 2
TWIN_VOICE_SESSION = "0123456789abcdef" * 2


@dataclass
class Target:
    """One server under test: how to start it and, once started, its process and log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    is_gateway: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)
    log_path: Path | None = None
    state: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """``http://host:port``."""
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """Full URL of createSession (what the realtime benchmark and old callers use)."""
        return f"{self.base}{PATH}"


def free_port() -> int:
    """A TCP port on the loopback interface that the kernel just reported free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def uvicorn_argv(app: str, port: int) -> list[str]:
    """``python -m uvicorn <app>`` on HOST:port, one worker, no access log noise."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]


def base_env() -> dict[str, str]:
    """This process's environment without REDIS_URL (every server keeps its counters in memory)."""
    return {k: v for k, v in os.environ.items() if k != "REDIS_URL"}


def gateway_target(workdir: Path, jwt_secret: str, extra_env: dict[str, str] | None = None,
                   name: str = "gateway") -> Target:
    """``python -m gateway`` on a free port, its SQLite database in ``workdir``, a rate limit out of reach."""
    port = free_port()
    env = {
        **{k: v for k, v in base_env().items() if k != "VALIDATE_RESPONSES"},  # the default, unless extra_env sets it
        "HOST": HOST,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{workdir / (name.replace(' ', '_') + '.db')}",
        "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "100000000",
        "VIRTUAL_BANKER_JWT_SECRET": jwt_secret,
        "VERTEBRO_BASIC_USERS": json.dumps({BASIC_USER: BASIC_HASH}),
        "VERTEBRO_ADMIN_USERS": json.dumps([BASIC_USER]),  # may start a session in any project (issue 13)
        "LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    return Target(name, [sys.executable, "-m", "gateway"], env, port, is_gateway=True)


def build_targets(workdir: Path, jwt_secret: str) -> list[Target]:
    """Every server of the throughput part, each on its own free port, databases in ``workdir``."""
    from core.settings import Settings

    default_validates = Settings().validate_responses
    other = "unvalidated" if default_validates else "validated"
    targets = [gateway_target(workdir, jwt_secret),
               gateway_target(workdir, jwt_secret, {"VALIDATE_RESPONSES": str(not default_validates).lower()},
                              name=f"gateway {other}")]
    port = free_port()
    twin_env = {**base_env(), "TWIN_DATABASE_URL": f"sqlite:///{workdir / 'twin.db'}",
                "VIRTUAL_BANKER_JWT_SECRET": jwt_secret, "TWIN_API_KEY": TWIN_API_KEY,
                "VERTEBRO_BASIC_USERS": json.dumps({BASIC_USER: BASIC_HASH}), "TWIN_VOICE_SESSION": TWIN_VOICE_SESSION,
                "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "100000000"}
    targets.append(Target("twin", uvicorn_argv("bench.twins:app", port), twin_env, port))
    for name, app in (
        ("stock connexion", "bench.stock_connexion:app"),
        ("fastapi", "bench.fastapi_app:app"),
        ("starlette", "bench.starlette_app:app"),
    ):
        port = free_port()
        targets.append(Target(name, uvicorn_argv(app, port), base_env(), port))
    return targets


def start(target: Target, logdir: Path) -> None:
    """Start ``target`` in its own session (so Ctrl-C reaches only us), output to a log file."""
    target.log_path = logdir / f"{target.name.replace(' ', '_')}.log"
    with open(target.log_path, "wb") as log:
        target.process = subprocess.Popen(
            target.argv, cwd=ROOT, env=target.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def log_tail(target: Target, lines: int = 30) -> str:
    """The last ``lines`` lines of the target's server log."""
    if target.log_path is None or not target.log_path.exists():
        return "(no log)"
    return "\n".join(target.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_ready(target: Target, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Block until ``target`` accepts TCP connections; raise if it exits or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process is not None and target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited with {target.process.returncode}:\n{log_tail(target)}")
        try:
            with socket.create_connection((HOST, target.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"{target.name} did not listen on {HOST}:{target.port} within {timeout:.0f} s:\n" f"{log_tail(target)}"
    )


def engine_states(body: str) -> dict[str, str]:
    """``{engine: status}`` of a ``GET /health`` body (asr, tts, webrtc, embeddings …)."""
    try:
        services = json.loads(body).get("services", {})
    except ValueError:
        return {}
    return {name: value["status"] for name, value in services.items()
            if isinstance(value, dict) and name != "llm" and "status" in value}


def wait_engines(target: Target, timeout: float = READY_TIMEOUT_SECONDS) -> float:
    """Block until the gateway's ``/health`` reports no engine ``loading`` (its background warm-up
    is over); the seconds waited. Raise RuntimeError after ``timeout`` s."""
    began = time.monotonic()
    while True:
        response = httpx.get(f"{target.base}/health", timeout=10.0)
        if "loading" not in engine_states(response.text).values():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"{target.name}: engines still loading after {timeout:.0f} s: {response.text}")
        time.sleep(0.05)


@dataclass
class Operation:
    """One loaded operation: the request, which targets serve it and the status each must give."""

    name: str
    method: str
    path: str  # may name ``{session}`` / ``{voice_session}`` (filled per target from its state)
    body: bytes | None
    headers: dict[str, str]
    targets: tuple[str, ...]
    status: int
    baseline: str = "twin"

    def url(self, target: Target) -> str:
        """The operation's URL on ``target``."""
        return target.base + self.path.format(**target.state)

    def request_headers(self, target: Target) -> dict[str, str]:
        """Headers with per-target credentials filled in (``{api_key}``)."""
        return {k: v.format(**target.state) for k, v in self.headers.items()}


def prepare(target: Target, token: str, session_body: bytes) -> None:
    """Create what the loaded reads need on ``target`` (a VB session, a Virstack API key, a Vertebro
    voice session) and remember their ids in ``target.state``; raise RuntimeError on failure."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=target.base, timeout=30.0) as client:
        if target.name == "twin":
            r = client.post(PATH, content=session_body, headers=auth)
            _expect(target, r, 201)
            target.state.update(session=r.json()["data"]["session_id"], api_key=TWIN_API_KEY,
                                voice_session=TWIN_VOICE_SESSION)
            return
        if not target.is_gateway:
            target.state.update(session="-", api_key="-", voice_session="-")
            return
        r = client.post(PATH, content=session_body, headers=auth)
        _expect(target, r, 201)
        session = r.json()["data"]["session_id"]
        email = f"bench-{secrets.token_hex(4)}@bench.example"
        r = client.post("/v1/users/register", json={"organization_name": "Bench", "first_name": "Ben",
                                                    "last_name": "Chmark", "email": email, "password": "password-123"})
        _expect(target, r, 201)
        r = client.post("/v1/users/login", json={"email": email, "password": "password-123"})
        _expect(target, r, 200)
        jwt_token = r.json()["data"]["token"]
        r = client.post("/v1/auth/api-keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {jwt_token}"})
        _expect(target, r, 201)
        api_key = r.json()["data"]["api_key"]
        r = client.post("/api/v1/voice/session/start", json={"project": "bench", "language": "en-US"},
                        auth=(BASIC_USER, BASIC_PASSWORD))
        _expect(target, r, 201)
        target.state.update(session=session, api_key=api_key, voice_session=r.json()["session_id"])


def _expect(target: Target, response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{target.name}: {response.request.method} {response.request.url.path} answered "
                           f"{response.status_code}, expected {status}:\n{response.text[:2000]}\n"
                           f"--- server log ---\n{log_tail(target)}")


def check(target: Target, operation: Operation) -> None:
    """One request of ``operation`` must give its status; else raise RuntimeError."""
    response = httpx.request(operation.method, operation.url(target), content=operation.body,
                             headers=operation.request_headers(target), timeout=30.0)
    _expect(target, response, operation.status)


def stop_all(targets: list[Target]) -> None:
    """SIGTERM every started server, wait up to STOP_TIMEOUT_SECONDS s, then SIGKILL stragglers.

    A second Ctrl-C during this is ignored so that it cannot leave servers behind; the previous
    signal handlers are restored afterwards (so a later part of the run can still be interrupted).
    """
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    try:
        running = [t.process for t in targets if t.process is not None and t.process.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def versions() -> str:
    """Python and framework versions, for the table header."""
    names = ("connexion", "fastapi", "starlette", "uvicorn")
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} ?")
    return f"Python {platform.python_version()}; " + ", ".join(parts) + f"; {os.cpu_count()} CPUs"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def combine(runs: list[tuple[LoadResult, float]]) -> tuple[LoadResult, float]:
    """Several rounds of one target: the round with the median req/s, and the CPU ms per request
    over all rounds (the server's CPU time / requests it completed: what load on the machine
    changes least)."""
    ordered = sorted(runs, key=lambda r: r[0].rps)
    median = ordered[len(ordered) // 2][0]
    requests = sum(r.requests for r, _ in runs)
    cpu = sum(c for _, c in runs)
    return median, (cpu / requests * 1000 if requests else 0.0)


def format_table(operation: Operation, results: list[tuple[Target, LoadResult, float]]) -> str:
    """Markdown table of one operation: target, req/s, p50 and p99 ms, p99/p50, non-2xx, and
    req/s relative to the operation's baseline (the twin, or the gateway for echo-only rows)."""
    base = next((r.rps for t, r, _ in results if t.name == operation.baseline), 0.0)
    base_cpu = next((c for t, _, c in results if t.name == operation.baseline), 0.0)
    rows = [f"### {operation.name}", "",
            f"| target | req/s | p50 ms | p99 ms | p99/p50 | non-2xx | CPU ms/req | vs {operation.baseline} "
            f"(req/s) | vs {operation.baseline} (CPU) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for target, result, cpu in results:
        ratio = f"{result.rps / base:.2f}x" if base else "n/a"
        cpu_ratio = f"{base_cpu / cpu:.2f}x" if cpu and base_cpu else "n/a"
        spread = f"{result.p99_ms / result.p50_ms:.1f}" if result.p50_ms else "n/a"
        rows.append(f"| {target.name} | {result.rps:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | {spread} "
                    f"| {result.non_2xx} | {cpu:.3f} | {ratio} | {cpu_ratio} |")
        if result.errors:
            notes.append(f"{target.name}: {result.errors} transport errors (connect/read/write/timeout)")
    return "\n".join(rows + ([""] + notes if notes else []))


def format_summary(tables: list[tuple[Operation, list[tuple[Target, LoadResult, float]]]]) -> str:
    """The goals of issue 15 as ratios of this run: gateway/twin per operation, /api/version vs
    raw Starlette, validated/unvalidated gateway (req/s; CPU per request in brackets: twin's or
    unvalidated's CPU ms/req over the gateway's), p99/p50 of the gateway."""
    rows = ["### Summary (ratios of this run; in brackets the same from CPU ms per request)", "",
            "| operation | gateway / twin | gateway p99/p50 | validated / unvalidated | gateway / starlette |",
            "|---|---:|---:|---:|---:|"]
    for operation, results in tables:
        cpu = {t.name: c for t, _, c in results}
        by_name = {t.name: r for t, r, _ in results}
        gateway = by_name.get("gateway")
        if gateway is None:
            continue
        twin = by_name.get("twin")
        validated = by_name.get("gateway validated") or gateway
        unvalidated = by_name.get("gateway unvalidated") or gateway
        starlette = by_name.get("starlette")

        def ratio(a: LoadResult | None, b: LoadResult | None, by_name: dict[str, LoadResult] = by_name,
                  cpu: dict[str, float] = cpu) -> str:
            if not (a and b and b.rps):
                return "—"
            name_a = next(n for n, r in by_name.items() if r is a)
            name_b = next(n for n, r in by_name.items() if r is b)
            by_cpu = f" ({cpu[name_b] / cpu[name_a]:.2f})" if cpu.get(name_a) and cpu.get(name_b) else ""
            return f"{a.rps / b.rps:.2f}{by_cpu}"

        spread = f"{gateway.p99_ms / gateway.p50_ms:.1f}" if gateway.p50_ms else "—"
        rows.append(f"| {operation.name} | {ratio(gateway, twin)} | {spread} | {ratio(validated, unvalidated)} "
                    f"| {ratio(gateway, starlette) if operation.path == '/api/version' else '—'} |")
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; seconds per target come from --quick, else BENCH_SECONDS, else 10."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=("http", "speech", "realtime", "workers", "capacity", "realtime-browser"),
        default=None,
        help="run only the throughput table (http), the speech benchmark (speech), the realtime "
        "conversation latency (realtime), 1 vs 2 worker processes (workers) or the CPU cost per unit "
        "of work and the capacity model (capacity); default all five, in that order. realtime-browser "
        "(the realtime conversation with chromium as the caller, bench/realtime_browser.py) runs only "
        "when asked for",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:g} s per target")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python", "httpx"),
        default="auto",
        help="auto: wrk if available (apt-get install when root), else python (raw asyncio "
        "client); httpx: httpx.AsyncClient, client-bound at a few hundred req/s",
    )
    parser.add_argument("--rounds", type=int, default=1, help="load each target this many times, interleaved, "
                        "and report the median round (default 1)")
    parser.add_argument("--cold-starts", type=int, default=3, help="after the tables, start the gateway this many "
                        "times on the database it left and time it to a healthy /health (default 3; 0 skips)")
    parser.add_argument("--ops", default="", help="comma-separated parts of operation names to load "
                        "(e.g. 'version,agent'); default all")
    args = parser.parse_args(argv)
    if args.connections < 1:
        parser.error("--connections must be at least 1")
    args.seconds = QUICK_SECONDS if args.quick else float(os.environ.get("BENCH_SECONDS") or DEFAULT_SECONDS)
    return args


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_keyboard_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    """Turn SIGINT/SIGTERM/SIGHUP into KeyboardInterrupt so the ``finally`` that stops the servers runs."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """The throughput table, the speech benchmark, then the realtime benchmark (or one of them with
    ``--only``). Exit status: 130 if interrupted, else the worst of the parts' statuses."""
    args = parse_args(argv)
    for signum in STOP_SIGNALS:  # also when started in the background, where SIGINT is inherited as ignored
        signal.signal(signum, _raise_keyboard_interrupt)

    status = 0
    if args.only in (None, "http"):
        status = run_http(args)
        if status == 130:
            return status
    if args.only in (None, "speech"):
        if args.only is None:
            print()
        try:
            # Imported here so that --only http never loads numpy, PyAV or the speech adapters.
            from bench import speech

            status = max(status, speech.main())
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
    if args.only in (None, "realtime"):
        if args.only is None:
            print()
        try:
            # Imported here for the same reason (aiortc, websockets, the test caller).
            from bench import realtime

            part = realtime.main()
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        if part == 130:
            return part
        status = max(status, part)
    if args.only == "realtime-browser":
        try:
            from bench import realtime_browser

            return realtime_browser.main([])
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
    for name in ("workers", "capacity"):
        if args.only not in (None, name):
            continue
        if args.only is None:
            print()
        try:
            module = importlib.import_module(f"bench.{name}")
            part = module.main([])
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        status = max(status, part or 0)
    return status


def cold_start(workdir: Path, jwt_secret: str, runs: int = 3) -> str:
    """Process start → first 200 from ``GET /health`` of ``python -m gateway`` on the existing
    database the loaded gateway left in ``workdir``: median wall seconds and CPU seconds the
    process used until then, over ``runs`` starts (each stopped before the next); then how long
    until its background warm-up reported every engine ready (informational: the server serves
    meanwhile, a request needing an engine waits for it)."""
    walls, cpus, warm = [], [], []
    body = ""
    for _ in range(runs):
        target = gateway_target(workdir, jwt_secret)  # same name → the same database file
        start(target, workdir)
        began = time.monotonic()
        try:
            while True:
                if target.process is not None and target.process.poll() is not None:
                    raise RuntimeError(f"gateway exited during cold start:\n{log_tail(target)}")
                if time.monotonic() - began > READY_TIMEOUT_SECONDS:
                    raise RuntimeError(f"gateway not healthy within {READY_TIMEOUT_SECONDS:.0f} s:\n{log_tail(target)}")
                try:
                    response = httpx.get(f"{target.base}/health", timeout=1.0)
                    if response.status_code == 200:
                        body = response.text
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
            walls.append(time.monotonic() - began)
            cpus.append(cpu_seconds(target.process.pid) if target.process else 0.0)
            wait_engines(target)
            warm.append(time.monotonic() - began)
        finally:
            stop_all([target])
    walls.sort()
    cpus.sort()
    warm.sort()
    states = ", ".join(f"{name} {state}" for name, state in engine_states(body).items())
    return (f"### Cold start (process start → healthy `/health`, existing database)\n\n"
            f"median of {runs}: {walls[runs // 2]:.2f} s wall, {cpus[runs // 2]:.2f} s CPU "
            f"(all: {', '.join(f'{w:.2f}' for w in walls)} s wall); load average {os.getloadavg()[0]:.2f}\n"
            f"engines at that first `/health`: {states or '—'}; all ready after {warm[runs // 2]:.2f} s "
            f"(median, background warm-up)\n"
            f"`/health`: {body[:300]}")


def operations(token: str, session_body: bytes) -> list[Operation]:
    """The loaded operations, in order."""
    gateways = ("gateway", "gateway validated", "gateway unvalidated")
    bearer = {"Authorization": f"Bearer {token}"}
    json_bearer = {"Content-Type": "application/json", **bearer}
    basic = "Basic " + base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    return [
        Operation("GET /api/version", "GET", "/api/version", None, {"X-Client-Version": "1.2.0"},
                  (*gateways, "twin", "starlette"), 200),
        Operation("GET /v1/sessions/{id}", "GET", "/v1/sessions/{session}", None, bearer, (*gateways, "twin"), 200),
        Operation("POST /v1/sessions", "POST", PATH, session_body, json_bearer,
                  (*gateways, "twin", "stock connexion", "fastapi", "starlette"), 201),
        Operation("POST /v1/agent", "POST", "/v1/agent", json.dumps({"agent_settings": agent_settings()}).encode(),
                  {"Content-Type": "application/json", "Authorization": "Bearer {api_key}"}, (*gateways, "twin"), 201),
        Operation("GET /api/v1/voice/session/{id}", "GET", "/api/v1/voice/session/{voice_session}", None,
                  {"Authorization": basic}, (*gateways, "twin"), 200),
    ]


#: A public IPv4 literal for the tools' webhook URLs: the server checks them without DNS, so the
#: run does not measure this machine's resolver (a host name costs one lookup per request).
PUBLIC_ADDRESS = "93.184.215.14"


def agent_settings(tools: int = 12, fields: int = 16) -> dict[str, object]:
    """A large, valid Virstack ``agent_settings`` (≈ 10 kB of JSON): ``tools`` custom tools with
    their JSON schemas (webhook URLs on :data:`PUBLIC_ADDRESS`) and ``fields`` post-call analysis
    fields."""
    custom = [{"type": "custom", "tool_name": f"lookup_{i}", "description": f"Look up record kind {i} by id",
               "webhook_url": f"https://{PUBLIC_ADDRESS}/hooks/{i}",
               "schema": {"name": f"lookup_{i}", "strict": True,
                          "schema": {"type": "object", "additionalProperties": False, "required": ["id"],
                                     "properties": {"id": {"type": "string"}, "limit": {"type": "integer"},
                                                    "include_history": {"type": "boolean"}}}}}
              for i in range(tools)]
    return {
        "identity": {"agent_name": "Customer Support Agent"},
        "engine": {"type": "realtime", "provider": "gemini", "model": "gemini-2.0-flash-live",
                   "voice_settings": {"voice_id": "Aoede", "speed": 1, "language": "en"}},
        "behavior": {"system_prompt": {"persona": "You are a helpful customer support agent. " * 20,
                                       "task": "Help users with their orders, refunds and deliveries. " * 20},
                     "greeting_message": "Hello! How can I help you today?"},
        "call_handling": {"inbound_enabled": True},
        "capabilities": {
            "tools": [{"type": "built_in", "tool_name": "end_call", "description": "End the call",
                       "config": {"delete_room": True}}, *custom],
            "post_call_analysis_schema": [{"name": f"field_{i}", "type": "string",
                                           "description": f"What the caller said about topic {i}"}
                                          for i in range(fields)],
        },
        "metadata": {"department": "support", "region": "emea"},
    }


def run_http(args: argparse.Namespace) -> int:
    """Start the servers, prepare and check them, warm up and load each operation on each of its
    targets in turn, print one table per operation and the summary. Exit status."""
    wrk = None
    if args.loadgen in ("auto", "wrk"):
        wrk = find_wrk(allow_apt=not os.environ.get("BENCH_NO_APT"))
        if wrk is None and args.loadgen == "wrk":
            print("bench: --loadgen wrk but wrk is not available", file=sys.stderr)
            return 2

    secret = secrets.token_urlsafe(48)
    token = mint_jwt(TENANT, USER, secret, ttl_seconds=3600)
    session_body = json.dumps(
        {
            "tenant_id": TENANT,
            "user_id": USER,
            "auth_assertion": token,
            "portal_context": {"route": "/account", "account_id": "acc-789"},
        }
    ).encode()
    selected = operations(token, session_body)
    if args.ops:
        wanted = [w.strip() for w in args.ops.split(",") if w.strip()]
        selected = [op for op in selected if any(w in op.name for w in wanted)]

    client = "httpx" if args.loadgen == "httpx" else "raw"
    if wrk:
        generator = f"wrk -t1 -c{args.connections}"
    elif client == "raw":
        generator = (
            f"built-in Python asyncio client, {args.connections} connections "
            "(shares the CPU with the servers: understates fast targets)"
        )
    else:
        generator = f"httpx.AsyncClient, {args.connections} connections (client-bound: all targets look alike)"
    load_start = os.getloadavg()
    header = (
        f"load generator: {generator}; {args.seconds:g} s per target after a {WARMUP_SECONDS:g} s warm-up; "
        f"uvicorn, 1 worker each, {HOST}\n{versions()}; load average {load_start[0]:.2f} "
        f"(1 min) {load_start[1]:.2f} (5 min) at start"
    )

    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        workdir = Path(tmp)
        try:
            targets = build_targets(workdir, secret)
            for target in targets:
                start(target, workdir)
            for target in targets:
                wait_ready(target)
                prepare(target, token, session_body)
            for target in targets:
                if target.is_gateway:
                    wait_engines(target)  # the background warm-up (Whisper …) must not share the load
            by_name = {t.name: t for t in targets}
            plan = [(op, [by_name[n] for n in op.targets if n in by_name]) for op in selected]
            for op, op_targets in plan:
                for target in op_targets:
                    check(target, op)

            def load(op: Operation, target: Target, seconds: float) -> LoadResult:
                headers = op.request_headers(target)
                if wrk:
                    script = wrk_script(op.body, headers, tmp, op.method, f"{target.name}-{op.name}".replace(
                        " ", "_").replace("/", "_").replace("{", "").replace("}", ""))
                    return run_wrk(wrk, op.url(target), script, seconds, args.connections)
                return run_python(op.url(target), op.body, headers, seconds, args.connections, client, op.method)

            print(header)
            tables = []
            for op, op_targets in plan:
                runs: dict[str, list[tuple[LoadResult, float]]] = {t.name: [] for t in op_targets}
                for target in op_targets:
                    load(op, target, WARMUP_SECONDS)
                for round_ in range(args.rounds):  # rounds interleave the targets: load changes hit all alike
                    for target in op_targets:
                        print(f"bench: {op.name} on {target.name} :{target.port} — round {round_ + 1}, "
                              f"{args.seconds:g} s", file=sys.stderr, flush=True)
                        pid = target.process.pid if target.process else 0
                        before = cpu_seconds(pid)
                        result = load(op, target, args.seconds)
                        runs[target.name].append((result, cpu_seconds(pid) - before))
                results = [(t, *combine(runs[t.name])) for t in op_targets]
                tables.append((op, results))
                print()
                print(format_table(op, results), flush=True)
            print()
            print(format_summary(tables))
            if args.cold_starts:
                stop_all([t for t in targets if t.is_gateway])  # the database stays; no server competes
                print()
                print(cold_start(workdir, secret, args.cold_starts), flush=True)
            load_end = os.getloadavg()
            print(f"\nload average at the end: {load_end[0]:.2f} (1 min) {load_end[1]:.2f} (5 min)")
            return 0
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            stop_all(targets)


if __name__ == "__main__":
    sys.exit(main())
