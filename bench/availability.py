"""Availability: the pure engine (find_slots) and BookingService.slots with its database reads.

    python -m bench.availability [--engine sqlite|postgres] [--dsn postgresql://...] [--runs N]

Builds a throw-away database (a SQLite file in a temp folder, or a fresh PostgreSQL database that is
dropped at the end) holding one location (Europe/Istanbul), 50 staff working Monday-Saturday 09:00-20:00
with a lunch break, one service (45 min on a 15-min grid, 10 min buffer after) and 20,000 confirmed
bookings over the next 60 days (non-overlapping per staff member, one occupancy row each), inserted with
executemany in one transaction. Then it prints, for 1 staff x 1 day and 50 staff x 60 days:

- compute only: find_slots on data loaded beforehand (what the engine costs);
- end to end: BookingService.slots, i.e. the staff query, load_availability's reads and find_slots;
- the end-to-end time split into its parts;
- over HTTP (`ajanda serve` in its own process, wrk as the load generator; --no-http skips it): slot
  queries per second and their latency for 1 staff x 1 day and for "any staff" x 1 day, each request a
  different staff member and day, and the 50 staff x 60 days query as one client sees it.

Targets on the 2-core machine: 50 staff x 60 days under 50 ms compute and 150 ms end to end; at least
2,500 slot queries/s with p99 under 50 ms. The script prints numbers and how they compare with the
targets; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    DEFAULT_PG_DSN,
    bench_settings,
    build_business,
    bulk_bookings,
    local_days,
    machine,
    percentile,
    plan_bookings,
    scratch_database,
    summary_ms,
)
from bench.http import lua_items, run_wrk, running_server
from core.bookings.service import BookingService
from core.config import generate_secrets
from core.context import build_context
from core.scheduling.availability import find_slots, to_minutes
from core.scheduling.loader import load_availability, load_service, qualified_staff

TARGET_COMPUTE_MS = 50.0
TARGET_E2E_MS = 150.0
TARGET_QUERIES_PER_S = 2500.0
TARGET_P99_MS = 50.0

# wrk: each thread walks its share of the request list (tid, tid + threads, ...).
LUA_GET = """
local items = %s
local n, step
function init(args) n = tid; step = tonumber(args[1]) end
function request()
  local path = items[(n %% #items) + 1][1]
  n = n + step
  return wrk.format("GET", path)
end
"""


def timed_sync(fn: Callable[[], Any], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


async def timed_async(fn: Callable[[], Awaitable[Any]], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - started)
    return out


def verdict(seconds: list[float], target_ms: float) -> str:
    p95 = percentile(seconds, 95) * 1000
    median = sorted(seconds)[len(seconds) // 2] * 1000
    if p95 < target_ms:
        return f"target < {target_ms:.0f} ms: MET (median and p95)"
    if median < target_ms:
        return f"target < {target_ms:.0f} ms: met by the median, NOT by p95"
    return f"target < {target_ms:.0f} ms: NOT MET ({median / target_ms:.1f}x the target)"


async def run(args: argparse.Namespace) -> None:
    engine, staff, days, bookings = args.engine, args.staff, args.days, args.bookings
    print(f"machine: {machine()}")
    print(f"engine: {engine}")
    secrets = generate_secrets()
    async with scratch_database(engine, args.dsn) as (url, folder):
        settings = bench_settings(url, folder, secrets, logging={"level": "WARNING", "access_log": False})
        ctx = build_context(settings)
        await ctx.start(run_migrations=True)
        try:
            started = time.perf_counter()
            business = await build_business(ctx.db, staff)
            day_list = local_days(business.zone, 1, days)
            plan = plan_bookings(business, day_list, bookings, random.Random(args.seed))
            planned = time.perf_counter()
            await bulk_bookings(ctx.db, business, plan)
            loaded = time.perf_counter()
            print(
                f"data: 1 location ({business.zone.key}), {staff} staff, {len(plan)} bookings over "
                f"{days} days ({day_list[0]}..{day_list[-1]}); planned in {planned - started:.2f} s, "
                f"inserted (executemany, one transaction, + ANALYZE) in {loaded - planned:.2f} s"
            )
            await measure(ctx, business, day_list, args.runs)
        finally:
            await ctx.stop()
        if args.http:
            measure_http(url, folder, secrets, business, day_list, args)


def measure_http(
    url: str,
    folder: Any,
    secrets: dict[str, str],
    business: Any,
    day_list: list[Any],
    args: argparse.Namespace,
) -> None:
    query = f"/api/v1/availability?service={business.service}"
    one = [[f"{query}&from={d}&to={d}&staff={sid}"] for d in day_list for sid in business.staff]
    random.Random(args.seed).shuffle(one)
    anyone = [[f"{query}&from={d}&to={d}"] for d in day_list]
    big = f"{query}&from={day_list[0]}&to={day_list[-1]}"
    print(
        f"\n== HTTP, one `ajanda serve` process; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.seconds}s from another process"
    )
    with running_server(url, folder, secrets) as base:
        results = {}
        for label, items in (("1 staff x 1 day", one), ("any staff x 1 day", anyone)):
            run_wrk(base, LUA_GET % lua_items(items), folder, threads=args.threads,
                    connections=args.connections, seconds=2)  # fmt: skip
            results[label] = run_wrk(
                base,
                LUA_GET % lua_items(items),
                folder,
                threads=args.threads,
                connections=args.connections,
                seconds=args.seconds,
            )
            print(f"slot queries, {label:18}: {results[label].line()}")
        timings, size = [], 0
        for _ in range(12):
            started = time.perf_counter()
            with urllib.request.urlopen(base + big, timeout=30) as response:
                size = len(response.read())
            timings.append(time.perf_counter() - started)
        timings = timings[2:]
        print(
            f"{len(business.staff)} staff x {len(day_list)} days over HTTP, one client: median "
            f"{statistics.median(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms "
            f"({size / 1024:.0f} KiB of JSON)"
        )
    small = results["1 staff x 1 day"]
    met = small.per_second >= TARGET_QUERIES_PER_S and small.p99_ms < TARGET_P99_MS
    print(
        f"  slot queries target >= {TARGET_QUERIES_PER_S:.0f}/s with p99 < {TARGET_P99_MS:.0f} ms: "
        f"{'MET' if met else 'NOT MET'} ({small.per_second:.0f}/s, p99 {small.p99_ms:.1f} ms)"
    )


async def open_staff_day(db: Any, service: Any, business: Any, day_list: list[Any], now: datetime) -> Any:
    """The first (staff member, day) with a few free slots left: a fully booked day measures nothing."""
    now_min = to_minutes(now)
    for day in day_list:
        for staff_id in business.staff:
            data = await load_availability(db, service, business.location, day, day, [staff_id], now)
            found = find_slots(
                data.calendars, service.rule, data.days, data.zone, data.closed, now_min, data.resource_busy
            )
            if len(found) >= 3:
                return staff_id, day
    return business.staff[0], day_list[0]


async def measure(ctx: Any, business: Any, day_list: list[Any], runs: int) -> None:
    db = ctx.db
    service = await load_service(db, business.service)
    rule = service.rule
    now = datetime.now(UTC)
    now_min = to_minutes(now)
    one_staff, one_day = await open_staff_day(db, service, business, day_list, now)
    cases = {
        "1 staff x 1 day": (one_day, one_day, one_staff, runs * 40),
        f"{len(business.staff)} staff x {len(day_list)} days": (day_list[0], day_list[-1], None, runs),
    }
    bookings = BookingService(ctx)
    results: dict[str, dict[str, list[float]]] = {}
    for label, (first, last, staff_id, n) in cases.items():
        ids = await qualified_staff(db, service, business.location, staff_id)
        data = await load_availability(db, service, business.location, first, last, ids, now)
        busy = sum(len(c.busy) for c in data.calendars)

        def compute(data: Any = data) -> Any:
            return find_slots(
                data.calendars, rule, data.days, data.zone, data.closed, now_min, data.resource_busy
            )

        slots = compute()
        print(
            f"\n== {label}: {len(data.calendars)} calendars, {busy} busy blocks, {len(slots)} free slots "
            f"({sum(len(s.staff) for s in slots)} staff-slots)"
        )
        gc.collect()
        compute_s = timed_sync(compute, n)

        async def e2e(first: Any = first, last: Any = last, staff_id: Any = staff_id) -> Any:
            return await bookings.slots(service, business.location, first, last, staff_id, now=now)

        e2e_s = await timed_async(e2e, max(10, n // 2))

        async def reads_staff(staff_id: Any = staff_id) -> Any:
            return await qualified_staff(db, service, business.location, staff_id)

        async def reads_load(first: Any = first, last: Any = last, ids: Any = ids) -> Any:
            return await load_availability(db, service, business.location, first, last, ids, now)

        staff_s = await timed_async(reads_staff, max(10, n // 2))
        load_s = await timed_async(reads_load, max(10, n // 2))
        results[label] = {"compute": compute_s, "e2e": e2e_s}
        print(f"compute only (find_slots)       : {summary_ms(compute_s)}")
        print(f"end to end (BookingService.slots): {summary_ms(e2e_s)}")
        print(f"  of which qualified_staff       : {summary_ms(staff_s)}")
        print(f"  of which load_availability     : {summary_ms(load_s)}")
    label = list(cases)[-1]
    print(f"\n{label}:")
    print(f"  compute    {verdict(results[label]['compute'], TARGET_COMPUTE_MS)}")
    print(f"  end to end {verdict(results[label]['e2e'], TARGET_E2E_MS)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dsn", default=DEFAULT_PG_DSN, help="PostgreSQL server (gets a scratch database)")
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--bookings", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=50, help="runs of the big case (the small one: 40x)")
    parser.add_argument("--seed", type=int, default=6698)
    parser.add_argument("--no-http", dest="http", action="store_false", help="skip the HTTP part")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
