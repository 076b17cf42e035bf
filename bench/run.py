"""``make bench``: requests per second of the gateway's createSession next to three reference apps, then speech
RTFs, then voice-to-voice latency of a realtime (WebRTC) conversation.

One run starts four servers side by side, each ``uvicorn`` with one worker on its own free
loopback port, then loads them one after another (never two at once, so they do not compete
for CPU):

=================  ==========================================================================
gateway            ``python -m gateway``: the real ``POST /v1/sessions`` (createSession) —
                   contract routing, bearer JWT verified, body validated, rate limit checked,
                   session row written to SQLite (WAL, ``synchronous=FULL``) in a temp dir, 201.
stock connexion    ``bench/stock_connexion.py``: connexion 3 AsyncApp, same body schema,
                   request validation on, echoes the body with 201.
fastapi            ``bench/fastapi_app.py``: pydantic model of the same body, echo, 201.
starlette          ``bench/starlette_app.py``: parse JSON, echo, 201.
=================  ==========================================================================

Every target gets the same bytes: the body below and ``Authorization: Bearer <JWT>`` (only
the gateway checks it). Before loading, each target must answer one request with 201 or the
run stops. The load generator is ``wrk`` (installed with apt-get when missing, if we are root)
or, failing that, a built-in Python asyncio client (see bench/loadgen.py for why not httpx);
the header of the table says which, and the machine's load average when the run started.

All servers log at ``warning`` (no per-request access log) so logging is not what is measured.
The gateway gets a rate limit far above anything reachable here, so it never answers 429.

After the throughput table the same run prints the speech benchmark (bench/speech.py):
real-time factors of the offline espeak-ng TTS and faster-whisper ASR engines, each next to a
reference (the espeak-ng CLI; faster-whisper with beam 1). Then the realtime benchmark
(bench/realtime.py): a 20-turn spoken conversation with the gateway over WebRTC on loopback,
client-side and server-side reply latency. ``--only http``, ``--only speech`` or ``--only realtime``
runs one part alone.

Usage: ``python -m bench.run [--only http|speech|realtime] [--quick] [--connections N]
[--loadgen auto|wrk|python|httpx]``; ``BENCH_SECONDS`` sets seconds per target (default 10;
``--quick`` = 2; both apply to the throughput part only). ``BENCH_NO_APT=1`` skips the apt-get
attempt.
"""

from __future__ import annotations

import argparse
import contextlib
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

    @property
    def url(self) -> str:
        """Full URL of the benchmarked operation."""
        return f"http://{HOST}:{self.port}{PATH}"


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


def gateway_target(workdir: Path, jwt_secret: str, extra_env: dict[str, str] | None = None) -> Target:
    """``python -m gateway`` on a free port, its SQLite database in ``workdir``, a rate limit out of reach."""
    port = free_port()
    env = {
        **base_env(),
        "HOST": HOST,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "VB_DEFAULT_RATE_LIMIT_PER_MINUTE": "100000000",
        "VIRTUAL_BANKER_JWT_SECRET": jwt_secret,
        "VALIDATE_RESPONSES": "false",
        "LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    return Target("gateway", [sys.executable, "-m", "gateway"], env, port, is_gateway=True)


def build_targets(workdir: Path, jwt_secret: str) -> list[Target]:
    """The four servers, each on its own free port; the gateway's database lives in ``workdir``."""
    targets = [gateway_target(workdir, jwt_secret)]
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


def check(target: Target, body: bytes, headers: dict[str, str]) -> None:
    """One request must give 201 and the expected body (echo, or a created session); else raise."""
    response = httpx.post(target.url, content=body, headers=headers, timeout=10.0)
    problem = None
    if response.status_code != 201:
        problem = f"status {response.status_code}, expected 201"
    elif target.is_gateway:
        data = response.json().get("data") or {}
        if not (data.get("session_id") and data.get("ephemeral_token")):
            problem = "no session_id/ephemeral_token in the response"
    elif response.json() != json.loads(body):
        problem = "response is not the echoed request body"
    if problem:
        raise RuntimeError(
            f"{target.name} failed the pre-check ({problem}):\n{response.text[:2000]}\n"
            f"--- server log ---\n{log_tail(target)}"
        )


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


def format_table(results: list[tuple[Target, LoadResult]], header: str) -> str:
    """Markdown table: target, req/s, p50 ms, p99 ms, non-2xx, req/s relative to the gateway's."""
    base = next((r.rps for t, r in results if t.is_gateway), 0.0)
    rows = [header, "", "| target | req/s | p50 ms | p99 ms | non-2xx | vs gateway |", "|---|---:|---:|---:|---:|---|"]
    notes = []
    for target, result in results:
        ratio = f"{result.rps / base:.2f}x gateway" if base else "n/a"
        rows.append(
            f"| {target.name} | {result.rps:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} "
            f"| {result.non_2xx} | {ratio} |"
        )
        if result.errors:
            notes.append(f"{target.name}: {result.errors} transport errors (connect/read/write/timeout)")
    return "\n".join(rows + ([""] + notes if notes else []))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; seconds per target come from --quick, else BENCH_SECONDS, else 10."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=("http", "speech", "realtime"),
        default=None,
        help="run only the throughput table (http), the speech benchmark (speech) or the realtime "
        "conversation latency (realtime); default all three, in that order",
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
    return status


def run_http(args: argparse.Namespace) -> int:
    """Start the four servers, check, warm up and load each in turn, print the table. Exit status."""
    wrk = None
    if args.loadgen in ("auto", "wrk"):
        wrk = find_wrk(allow_apt=not os.environ.get("BENCH_NO_APT"))
        if wrk is None and args.loadgen == "wrk":
            print("bench: --loadgen wrk but wrk is not available", file=sys.stderr)
            return 2

    secret = secrets.token_urlsafe(48)
    token = mint_jwt(TENANT, USER, secret, ttl_seconds=3600)
    body = json.dumps(
        {
            "tenant_id": TENANT,
            "user_id": USER,
            "auth_assertion": token,
            "portal_context": {"route": "/account", "account_id": "acc-789"},
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

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
    header = (
        f"load generator: {generator}; {args.seconds:g} s per target after a {WARMUP_SECONDS:g} s warm-up; "
        f"uvicorn, 1 worker each, {HOST}\n{versions()}; load average {os.getloadavg()[0]:.2f} at start"
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
                check(target, body, headers)
            script = wrk_script(body, headers, tmp) if wrk else None

            def load(target: Target, seconds: float) -> LoadResult:
                if wrk:
                    return run_wrk(wrk, target.url, script, seconds, args.connections)
                return run_python(target.url, body, headers, seconds, args.connections, client)

            results = []
            for target in targets:
                print(
                    f"bench: {target.name} on :{target.port} — warm-up, then {args.seconds:g} s",
                    file=sys.stderr,
                    flush=True,
                )
                load(target, WARMUP_SECONDS)
                results.append((target, load(target, args.seconds)))
            print(format_table(results, header))
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
