"""Pages: how many server-rendered pages one `ajanda serve` process answers, on the demo business.

    python -m bench.pages [--engine sqlite|postgres] [--dsn postgresql://...] [--seconds N]

Loads the demo business into a throw-away database, starts `ajanda serve` in its own process and
drives it with wrk from another: the booking page's first step (services), its time step (the free
slots of one day, a different day and service per request, "any staff"), the customer's own page
(`/manage/<token>`, a different booking per request), and the admin day calendar (signed in, a
different day per request). Prints requests/s and latency per page; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta

from bench.common import DEFAULT_PG_DSN, bench_settings, machine, scratch_database
from bench.http import lua_items, lua_string, run_wrk, running_server
from core.access.accounts import create_account
from core.access.permissions import Role
from core.access.sessions import COOKIE, open_session
from core.bookings.links import self_service_token
from core.bookings.service import BOOKING_COLUMNS, snapshot
from core.config import generate_secrets
from core.context import build_context
from core.demo.loader import load_demo

LUA_PAGES = """
local items = %s
local cookie = %s
local n, step
function init(args) n = tid; step = tonumber(args[1]) end
function request()
  local path = items[(n %% #items) + 1][1]
  n = n + step
  local headers = {["Accept-Language"] = "tr"}
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", path, headers)
end
"""


async def prepare(url: str, folder: object, secrets: dict[str, str]) -> tuple[dict[str, list[str]], str]:
    """Demo data, an owner session, and the addresses each page is asked for."""
    ctx = build_context(bench_settings(url, folder, secrets))  # type: ignore[arg-type]
    await ctx.start(run_migrations=True)
    try:
        print(await load_demo(ctx))
        owner = await create_account(ctx, "bench", "Bench-parola-2026!", Role.OWNER)
        session = await open_session(ctx, owner.id)
        today = ctx.clock.now().date()
        days = [today + timedelta(days=i) for i in range(1, 13)]
        services = [int(r["id"]) for r in await ctx.db.fetch("SELECT id FROM service WHERE active = ?", True)]
        rows = await ctx.db.fetch(
            f"SELECT {BOOKING_COLUMNS} FROM booking WHERE status = 'confirmed' ORDER BY id LIMIT 200"
        )
        tokens = [self_service_token(ctx, snapshot(r)) for r in rows]
    finally:
        await ctx.stop()
    paths = {
        "booking page: services": ["/"],
        "booking page: free times of a day": [
            f"/?service={s}&staff=any&day={d}" for d in days for s in services
        ],
        "customer's page /manage/<token>": [f"/manage/{t}" for t in tokens],
        "admin day calendar (signed in)": [f"/admin/calendar?view=day&date={d}" for d in days],
    }
    return paths, f"{COOKIE}={session}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--dsn", default=DEFAULT_PG_DSN)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(f"machine: {machine()}; engine: {args.engine}")
    secrets = generate_secrets()
    async with scratch_database(args.engine, args.dsn) as (url, folder):
        paths, cookie = await prepare(url, folder, secrets)
        print(f"\n== one `ajanda serve` process; wrk -t{args.threads} -c{args.connections} -d{args.seconds}s")
        with running_server(url, folder, secrets) as base:
            for label, items in paths.items():
                script = LUA_PAGES % (
                    lua_items([[p] for p in items]),
                    lua_string(cookie if "admin" in label else ""),
                )
                run_wrk(base, script, folder, threads=args.threads, connections=args.connections, seconds=2)
                result = run_wrk(
                    base,
                    script,
                    folder,
                    threads=args.threads,
                    connections=args.connections,
                    seconds=args.seconds,
                )
                print(f"{label:36}: {result.line()}")
                if set(result.statuses) != {"200"}:
                    print(f"  (statuses other than 200: {json.dumps(result.statuses)})")


if __name__ == "__main__":
    asyncio.run(main())
