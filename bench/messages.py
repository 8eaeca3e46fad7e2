"""Messages through the outbox: confirmations rendered and delivered by the worker to a local SMTP
server (aiosmtpd) and, separately, SMS-like messages to a local HTTP listener through apprise `json://`.

    python -m bench.messages [--messages N] [--dsn postgresql://...]

On a fresh SQLite database (and on a fresh PostgreSQL database when --dsn or $AJANDA_BENCH_PG_DSN names
a server): N booked customers, each with a confirmation job queued exactly as the booking service
queues it; then one in-process worker drains the queue and the script prints messages/s end to end
(claim, decision, rendering, the .ics invite, the SMTP conversation, the attempt log) and checks that
the server received N distinct messages. Quiet hours are off so the time of day does not matter. The
script prints numbers; it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections import Counter
from typing import Any

from bench.common import (
    DEFAULT_PG_DSN,
    bench_settings,
    build_business,
    bulk_bookings,
    local_days,
    machine,
    plan_bookings,
    scratch_database,
)
from core.bookings.service import BOOKING_COLUMNS, snapshot
from core.config import generate_secrets
from core.context import AppContext, build_context
from core.customers.service import create_card, new_customer
from core.notifications.planner import message_job
from core.outbox.worker import Worker
from tests.messaging import Listener, SmtpServer


async def prepare(ctx: AppContext, count: int, medium: str) -> None:
    business = await build_business(ctx.db, staff=10)
    plan = plan_bookings(business, local_days(business.zone, 2, 30), count, random.Random(7))
    await bulk_bookings(ctx.db, business, plan)
    ids = [int(r["id"]) for r in await ctx.db.fetch("SELECT id FROM booking ORDER BY id")]
    async with ctx.db.transaction():
        for n, booking_id in enumerate(ids):
            person = new_customer(
                ctx, f"Müşteri {n}", f"0532{n:07d}" if medium == "sms" else None,
                f"musteri{n}@example.com" if medium == "email" else None, "staff", "tr",
            )  # fmt: skip
            customer_id, _matched = await create_card(ctx, person)
            await ctx.db.execute("UPDATE booking SET customer = ? WHERE id = ?", customer_id, booking_id)
    jobs = []
    now = ctx.clock.now()
    for row in await ctx.db.fetch(f"SELECT {BOOKING_COLUMNS} FROM booking ORDER BY id"):
        booking = snapshot(row)
        jobs.append(message_job("confirmation", f"confirmation:{booking.id}", now, booking=booking))
    for start in range(0, len(jobs), 500):
        await ctx.outbox.enqueue_many(jobs[start : start + 500])


async def drain(ctx: AppContext) -> float:
    worker = Worker(ctx, "bench")
    started = time.perf_counter()
    while await worker.run_once():
        pass
    return time.perf_counter() - started


async def run(engine: str, dsn: str, count: int, medium: str) -> None:
    smtp, listener = SmtpServer(), Listener()
    url = smtp.url() if medium == "email" else listener.url()
    smtp.controller.start()
    import threading

    threading.Thread(target=listener.server.serve_forever, daemon=True).start()
    try:
        async with scratch_database(engine, dsn) as (db_url, folder):
            sections: dict[str, Any] = {
                "plugins": {"enabled": ["notify_apprise"]},
                "plugin": {"notify_apprise": {"channels": [{"name": medium, "medium": medium, "url": url}]}},
                "messages": {"quiet_start": "00:00", "quiet_end": "00:00"},
                "worker": {"batch_size": 100},
                "logging": {"level": "WARNING"},
            }
            ctx = build_context(bench_settings(db_url, folder, generate_secrets(), **sections))
            await ctx.start(run_migrations=True)
            try:
                await prepare(ctx, count, medium)
                seconds = await drain(ctx)
                sent = await ctx.db.fetchval("SELECT COUNT(*) FROM message WHERE status = 'sent'")
            finally:
                await ctx.stop()
        received = (
            Counter(r[0] for r in smtp.mailbox.recipients) if medium == "email" else Counter(
                p["to"] for p in listener.posts
            )
        )  # fmt: skip
        print(
            f"  {engine:<10} {medium:<5} {count:6d} messages in {seconds:6.2f} s"
            f" = {count / seconds:7.1f} messages/s"
            f"   ({seconds / count * 1000:.1f} ms each; sent {sent}, received {len(received)} distinct,"
            f" {sum(received.values()) - len(received)} duplicates)"
        )
    finally:
        smtp.controller.stop()
        listener.server.shutdown()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--dsn", default=os.environ.get("AJANDA_BENCH_PG_DSN"))
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for medium in ("email", "sms"):
        await run("sqlite", "", args.messages, medium)
        if args.dsn:
            await run("postgresql", args.dsn or DEFAULT_PG_DSN, args.messages, medium)


if __name__ == "__main__":
    asyncio.run(main())
