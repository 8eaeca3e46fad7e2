"""Bookings per second over HTTP: `POST /api/v1/bookings` against one `ajanda serve` process.

    python -m bench.booking [--engine sqlite|postgres] [--dsn postgresql://...] [--seconds N]

Builds a throw-away database like bench.availability (one location, 50 staff, one 45-minute service,
20,000 existing bookings over the next 60 days), starts the real server in its own process and drives
it with wrk from another: every request books a different free slot (days 61 onwards, a named staff
member) for a new customer (name, Turkish mobile number, e-mail), so each one is a full booking: customer
found or created with encrypted contact data, the slot checked inside an IMMEDIATE transaction (SQLite)
or guarded by the exclusion constraint (PostgreSQL), occupancy written, audit rows, after-commit hooks.

It prints bookings/s, the latency percentiles and the HTTP statuses; the CPU time one booking cost the
server process, PostgreSQL and the rest of the machine (from /proc, see bench.cpu), with the most
bookings/s those costs allow on this machine; then it checks the database: as many bookings as 201
answers, and no two bookings of one staff member overlapping.

Targets on the 2-core machine: at least 1,000 bookings/s on SQLite and 2,000/s on PostgreSQL, with p99
under 50 ms. The script prints how the figures compare; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
from datetime import datetime, time
from typing import Any

from bench.common import (
    DEFAULT_PG_DSN,
    SERVICE,
    Business,
    bench_settings,
    build_business,
    bulk_bookings,
    local_days,
    machine,
    plan_bookings,
    scratch_database,
)
from bench.cpu import CpuMeter, is_postgres
from bench.http import LoadResult, lua_items, run_wrk, running_server
from core.config import generate_secrets
from core.context import build_context

TARGETS = {"sqlite": 1000.0, "postgres": 2000.0}
TARGET_P99_MS = 50.0
# Starts that fit the benchmark week (09:00-13:00 and 14:00-20:00) with the service's 45 minutes and
# 10-minute buffer: ten a day per staff member.
DAY_STARTS = ("09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00", "17:00", "18:00", "19:00")

LUA_POST = """
local items = %s
local service = %d
local n, step
function init(args) n = tid; step = tonumber(args[1]) end
function request()
  local item = items[(n %% #items) + 1]
  local body = string.format(
    '{"service": %%d, "start": "%%s", "staff": %%d, "customer": {"name": "Test Customer %%d", '
    .. '"phone": "+90532%%07d", "email": "customer%%d@example.com"}}',
    service, item[2], item[1], n, n, n)
  n = n + step
  return wrk.format("POST", "/api/v1/bookings", {["Content-Type"] = "application/json"}, body)
end
"""


def free_starts(business: Business, first_offset: int, count: int) -> list[list[Any]]:
    """`count` (staff, ISO start) pairs on days no booking uses yet, spread over the staff."""
    out: list[list[Any]] = []
    for day in local_days(business.zone, first_offset, 400):
        if day.weekday() == 6:
            continue
        for hhmm in DAY_STARTS:
            start = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=business.zone).isoformat()
            out.extend([staff, start] for staff in business.staff)
            if len(out) >= count:
                return out[:count]
    return out


async def prepare(
    engine: str, dsn: str, secrets: dict[str, str], url: str, folder: Any, seed: int
) -> Business:
    settings = bench_settings(url, folder, secrets, logging={"level": "WARNING", "access_log": False})
    ctx = build_context(settings)
    await ctx.start(run_migrations=True)
    try:
        business = await build_business(ctx.db, 50, max_days_ahead=400)
        days = local_days(business.zone, 1, 60)
        await bulk_bookings(ctx.db, business, plan_bookings(business, days, 20_000, random.Random(seed)))
    finally:
        await ctx.stop()
    return business


async def check(url: str, folder: Any, secrets: dict[str, str]) -> tuple[int, int]:
    """(bookings made over HTTP, overlapping pairs of one staff member's bookings)."""
    settings = bench_settings(url, folder, secrets, logging={"level": "WARNING", "access_log": False})
    ctx = build_context(settings)
    await ctx.start(run_migrations=False)
    try:
        made = int(await ctx.db.fetchval("SELECT COUNT(*) FROM booking WHERE customer IS NOT NULL"))
        overlaps = int(
            await ctx.db.fetchval(
                "SELECT COUNT(*) FROM booking a JOIN booking b ON a.staff = b.staff AND a.id < b.id"
                " AND a.start_at < b.end_at AND b.start_at < a.end_at"
                " WHERE a.status <> 'cancelled' AND b.status <> 'cancelled' AND a.customer IS NOT NULL"
            )
        )
    finally:
        await ctx.stop()
    return made, overlaps


def print_cpu(meter: CpuMeter, requests: int) -> None:
    """CPU per booking and the ceilings it implies on this machine, whatever the code's speed-ups."""
    cost = meter.per_request_ms(requests)
    parts = [f"server process {cost['server']:.2f}"]
    if "postgres" in cost:
        parts.append(f"PostgreSQL {cost['postgres']:.2f}")
    parts.append(f"wrk and the rest {cost['rest']:.2f}")
    print(f"cpu: {cost['machine']:.2f} ms per booking on the whole machine ({', '.join(parts)})")
    cores = os.cpu_count() or 1
    print(
        f"  at these costs: one server process can answer at most {1000 / cost['server']:,.0f}/s "
        f"(one core); the {cores}-core machine at most {cores * 1000 / cost['machine']:,.0f}/s"
    )


async def run(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(f"engine: {args.engine}")
    secrets = generate_secrets()
    async with scratch_database(args.engine, args.dsn) as (url, folder):
        business = await prepare(args.engine, args.dsn, secrets, url, folder, args.seed)
        # Enough distinct slots that no request repeats one, whatever the rate (wraps only past it).
        items = free_starts(business, 62, args.slots)
        print(
            f"data: {len(business.staff)} staff, 20000 existing bookings over 60 days; {len(items)} free "
            f"slots offered from day 62 ({SERVICE['duration_min']} min + {SERVICE['buffer_after_min']} min "
            "buffer each)"
        )
        print(
            f"== HTTP, one `ajanda serve` process; wrk -t{args.threads} -c{args.connections} "
            f"-d{args.seconds}s from another process"
        )
        config = str(folder / "config.toml")
        groups = {"server": lambda _pid, _name, cmdline: config in cmdline and " serve " in cmdline}
        if args.engine == "postgres":
            groups["postgres"] = is_postgres
        meter = CpuMeter(groups)
        with running_server(url, folder, secrets) as base:
            meter.start()
            result: LoadResult = run_wrk(
                base,
                LUA_POST % (lua_items(items), business.service),
                folder,
                threads=args.threads,
                connections=args.connections,
                seconds=args.seconds,
            )
            meter.stop()
        print(f"bookings: {result.line()}")
        print_cpu(meter, result.requests)
        made, overlaps = await check(url, folder, secrets)
        created = result.statuses.get("201", 0)
        print(
            f"database: {made} bookings made over HTTP ({created} answered 201), "
            f"overlapping pairs: {overlaps}"
        )
        target = TARGETS[args.engine]
        met = result.per_second >= target and result.p99_ms < TARGET_P99_MS
        print(
            f"  target >= {target:.0f} bookings/s with p99 < {TARGET_P99_MS:.0f} ms: "
            f"{'MET' if met else 'NOT MET'} ({result.per_second:.0f}/s, p99 {result.p99_ms:.1f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dsn", default=DEFAULT_PG_DSN, help="PostgreSQL server (gets a scratch database)")
    parser.add_argument("--seconds", type=int, default=10, help="length of the wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--slots", type=int, default=60_000, help="distinct free slots offered")
    parser.add_argument("--seed", type=int, default=6698)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
