"""What the server stack alone allows on this machine: the ceiling under the booking benchmark.

    python -m bench.floor [--dsn postgresql://...] [--round-trips 14]

Runs `bench.floor_app` (Litestar + uvicorn with uvloop and httptools, one process, as `ajanda serve`)
and drives it with the same wrk settings as bench.booking, posting the same JSON body:
- a handler that parses the body and answers at once (no database at all);
- with `--dsn`, a handler that first makes `--round-trips` PostgreSQL round trips in one transaction
  on a pooled asyncpg connection (a booking makes about that many: BEGIN, the customer lookup and
  insert, the busy read, three inserts, the audit head and rows, COMMIT).
A booking can be no faster than these; the gap between them and bench.booking is Ajanda's own work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import DEFAULT_PG_DSN, machine
from bench.http import ROOT, free_port, run_wrk

LUA = """
local path = %s
function init(args) end
function request()
  local body = '{"service": 1, "start": "2031-01-06T09:00:00+03:00", "staff": 3, "customer": '
    .. '{"name": "Test Customer", "phone": "+905321234567", "email": "customer@example.com"}}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
"""


def serve(port: int, dsn: str | None, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if dsn:
        env["FLOOR_PG_DSN"] = dsn
    command = [
        sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/schema/openapi.json", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("floor server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dsn", default=None, help=f"PostgreSQL for the round-trip handler, e.g. {DEFAULT_PG_DSN}"
    )
    parser.add_argument("--round-trips", type=int, default=14)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"== wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, one uvicorn process, same body")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        proc = serve(port, args.dsn, folder / "server.log")
        try:
            paths = [("empty handler", "/empty")]
            if args.dsn:
                paths.append((f"{args.round_trips} PostgreSQL round trips", f"/pg?n={args.round_trips}"))
            for label, path in paths:
                result = run_wrk(
                    f"http://127.0.0.1:{port}", LUA % f'"{path}"', folder,
                    threads=args.threads, connections=args.connections, seconds=args.seconds,
                )  # fmt: skip
                print(f"{label}: {result.line()}")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
