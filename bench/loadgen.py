"""Load generators for bench/run.py: ``wrk`` when installed, else a built-in Python one.

All keep ``connections`` keep-alive connections busy with the same request for a fixed time and
report a :class:`LoadResult`.

* ``wrk`` (C, one thread) needs far less CPU than the server it loads, so its numbers measure
  the server. Preferred.
* ``python`` (fallback): a minimal HTTP/1.1 keep-alive client on raw asyncio streams (uvloop).
  It shares the machine's cores with the server and tops out around 8–10k requests/s on one
  core, so fast targets (Starlette, FastAPI) look slower than they are: ratios understate gaps.
* ``httpx``: the same loop through one ``httpx.AsyncClient``. Kept for comparison only: its
  connection pool costs milliseconds of client CPU per request (≈300 req/s against Starlette
  on a 2-core machine, against ≈9,000 for the raw client), so every target measures the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """What one load run measured.

    ``requests`` completed responses, ``seconds`` wall time of the run (s), ``p50_ms``/``p99_ms``
    latency percentiles (ms), ``non_2xx`` responses whose status was not 2xx (wrk also counts
    3xx as fine), ``errors`` transport failures (connect/read/write/timeouts).
    """

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def find_wrk(allow_apt: bool = True) -> str | None:
    """Path of ``wrk``; if missing, try ``apt-get install -y wrk`` once when root and allowed.

    The install is quiet and bounded (120 s); any failure just returns None so the caller
    falls back to the Python generator.
    """
    path = shutil.which("wrk")
    if path or not allow_apt or not shutil.which("apt-get") or os.geteuid() != 0:
        return path
    print("bench: wrk not found; trying `apt-get install -y wrk` (set BENCH_NO_APT=1 to skip)", flush=True)
    try:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    """``text`` as a double-quoted Lua string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# wrk calls done() once with the aggregated statistics; latency percentiles are in µs.
_LUA_TEMPLATE = """\
wrk.method = {method}
{body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"status\\":%d,\\"errors\\":%d," ..
    "\\"p50_us\\":%d,\\"p99_us\\":%d}}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_script(body: bytes | None, headers: dict[str, str], directory: str, method: str = "POST",
               name: str = "post") -> str:
    """Write the wrk Lua script for this request into ``directory`` as ``<name>.lua``; return its path."""
    lines = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    path = os.path.join(directory, f"{name}.lua")
    body_line = f"wrk.body = {_lua_string(body.decode('utf-8'))}" if body is not None else ""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_LUA_TEMPLATE.format(method=_lua_string(method), body=body_line, headers=lines))
    return path


def run_wrk(wrk: str, url: str, script: str, seconds: float, connections: int) -> LoadResult:
    """``wrk -t1 -c<connections> -d<seconds>s -s <script> --latency <url>``; parse its done() line."""
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script, "--latency", url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            return LoadResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                non_2xx=data["status"],
                errors=data["errors"],
            )
    raise RuntimeError(f"wrk produced no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile ``pct`` (0–100) of an ascending list; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def _httpx_load(url: str, body: bytes | None, headers: dict[str, str], seconds: float, connections: int,
                      method: str = "POST") -> LoadResult:
    """``connections`` workers share one httpx.AsyncClient pool and POST back to back for ``seconds`` s."""
    import httpx

    latencies: list[float] = []  # seconds per completed request
    counts = {"non_2xx": 0, "errors": 0}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    response = await client.request(method, url, content=body, headers=headers)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if not 200 <= response.status_code < 300:
                    counts["non_2xx"] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        non_2xx=counts["non_2xx"],
        errors=counts["errors"],
    )


async def _raw_load(url: str, body: bytes | None, headers: dict[str, str], seconds: float, connections: int,
                    method: str = "POST") -> LoadResult:
    """``connections`` asyncio stream connections POST back to back for ``seconds`` s.

    Speaks just enough HTTP/1.1: one request at a time per connection, responses framed by
    ``Content-Length`` (all four bench servers send it). A failed connection counts one error
    and is reopened.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"{method} {target or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    head += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")

    latencies: list[float] = []  # seconds per completed request
    counts = {"non_2xx": 0, "errors": 0}
    start = time.perf_counter()
    deadline = start + seconds

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        """Send the request once and read one response; return its status code."""
        writer.write(request)
        response_head = await reader.readuntil(b"\r\n\r\n")
        status = int(response_head[9:12])
        length = None
        for line in response_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise ConnectionError("response without Content-Length")
        await reader.readexactly(length)
        return status

    async def worker() -> None:
        writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                t0 = time.perf_counter()
                status = await asyncio.wait_for(one(reader, writer), timeout=10.0)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                counts["errors"] += 1
                if writer is not None:
                    writer.close()
                writer = None
                continue
            latencies.append(time.perf_counter() - t0)
            if not 200 <= status < 300:
                counts["non_2xx"] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        non_2xx=counts["non_2xx"],
        errors=counts["errors"],
    )


def run_python(
    url: str, body: bytes | None, headers: dict[str, str], seconds: float, connections: int, client: str = "raw",
    method: str = "POST",
) -> LoadResult:
    """Run a Python generator (``client`` = "raw" or "httpx") on its own uvloop event loop."""
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        load = _raw_load if client == "raw" else _httpx_load
        return runner.run(load(url, body, headers, seconds, connections, method))
