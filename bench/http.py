"""HTTP load for the benchmarks: one `ajanda serve` process and the `wrk` load generator.

The server is the real one (`python cli.py serve`, uvicorn, the worker in the same process) on a
config written for the benchmark: access log off, log level WARNING and the public rate limit off (all
load comes from one address, so the limiter would refuse nearly everything). wrk (Debian package `wrk`)
runs in its own process; a Lua script feeds it the requests and prints one JSON line with the counts per
HTTP status and the latency percentiles. Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import write_config

ROOT = Path(__file__).resolve().parent.parent
MARK = "BENCH-JSON "

# The part of every wrk script that counts statuses per thread and reports them with the latencies.
LUA_COMMON = r"""
-- Each wrk thread runs the script in its own Lua state: `counts` and `tid` are per thread.
counts = {}
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do agg[tostring(k)] = (agg[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(agg) do table.insert(parts, string.format('"%s": %d', k, v)) end
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "socket_errors": %d, "p50_us": %d, "p90_us": %d, '
    .. '"p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    MARK, summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.per_second:8.0f} req/s   p50 {self.p50_ms:6.1f} ms   p90 {self.p90_ms:6.1f} ms   "
            f"p99 {self.p99_ms:6.1f} ms   max {self.max_ms:6.1f} ms   "
            f"({self.requests} requests in {self.seconds:.1f} s; {statuses}; "
            f"socket errors {self.socket_errors})"
        )


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal of ASCII text is a valid Lua string literal


def lua_items(rows: Sequence[Sequence[Any]]) -> str:
    """A Lua array of arrays of strings and numbers."""

    def value(v: Any) -> str:
        return lua_string(v) if isinstance(v, str) else str(v)

    return "{\n" + ",\n".join("{" + ", ".join(value(v) for v in row) + "}" for row in rows) + "\n}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit("wrk is not installed: `apt-get install wrk` (Debian) gives the load generator")
    return found


@contextmanager
def running_server(url: str, folder: Path, secrets: dict[str, str]) -> Iterator[str]:
    """`ajanda serve` on the given database; yields its base URL and stops it on the way out."""
    port = free_port()
    config = folder / "config.toml"
    write_config(
        config,
        {
            "security": secrets,
            "server": {"host": "127.0.0.1", "port": port, "rate_limit_per_minute": 0},
            "database": {"url": url},
            "logging": {"level": "WARNING", "access_log": False},
        },
    )
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--config", str(config)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def run_wrk(
    base: str, script: str, folder: Path, *, threads: int, connections: int, seconds: int
) -> LoadResult:
    """Run wrk with `script` (LUA_COMMON is appended) and return what its done() reported.

    The script's init(args) gets the thread count as args[1], so thread `tid` can take every
    threads-th item of a list and no two threads send the same request.
    """
    path = folder / f"wrk-{time.monotonic_ns()}.lua"
    path.write_text(f"MARK = {lua_string(MARK)}\n{script}\n{LUA_COMMON}", encoding="utf-8")
    proc = subprocess.run(
        [
            require_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(path),
            base,
            "--",
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            raw = json.loads(line[len(MARK) :])
            return LoadResult(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                socket_errors=raw["socket_errors"],
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
                statuses=raw["statuses"],
            )
    raise RuntimeError(f"wrk printed no result:\n{proc.stdout}\n{proc.stderr}")
