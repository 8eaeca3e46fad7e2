"""Recall and win-back: messages that no booking change causes, found by a periodic scan.

- Recall: a periodic service (its `recall_days`) is due again since the customer's last completed visit
  for it, and they have nothing booked.
- Win-back: the customer's last completed visit is `[messages] winback_days` old and nothing is booked.

Only customers who fell due within the last `WINDOW_DAYS` are picked, so switching the feature on over
years of imported history does not message everyone at once. Each message's dedupe key names the visit
it follows, so a customer is recalled once per visit however often the scan runs; consent, the cap and
quiet hours are checked when it is sent. Each worker scans every `[messages] campaign_every_minutes`;
several workers scanning at once queue nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.db.values import as_utc
from core.notifications.planner import message_job
from core.outbox.queue import NewJob

if TYPE_CHECKING:
    from core.context import AppContext

WINDOW_DAYS = 30
ACTIVE = ("pending", "confirmed")


async def _booked_ahead(ctx: AppContext, now: datetime) -> set[int]:
    rows = await ctx.db.fetch(
        "SELECT DISTINCT customer FROM booking WHERE customer IS NOT NULL AND start_at > ?"
        " AND status IN (?, ?)",
        now, *ACTIVE,
    )  # fmt: skip
    return {int(r["customer"]) for r in rows}


async def due_recalls(ctx: AppContext, now: datetime) -> list[NewJob]:
    rows = await ctx.db.fetch(
        "SELECT b.customer, b.service, s.name, s.recall_days, MAX(b.start_at) AS last"
        " FROM booking b JOIN service s ON s.id = b.service"
        " WHERE b.status = 'completed' AND b.customer IS NOT NULL AND s.recall_days IS NOT NULL"
        " AND s.active = ? GROUP BY b.customer, b.service, s.name, s.recall_days",
        True,
    )
    ahead = await _booked_ahead(ctx, now)
    jobs = []
    for r in rows:
        last = as_utc(r["last"])
        if last is None or int(r["customer"]) in ahead:
            continue
        due = last + timedelta(days=int(r["recall_days"]))
        if now - timedelta(days=WINDOW_DAYS) < due <= now:
            key = f"recall:{r['customer']}:{r['service']}:{int(last.timestamp())}"
            extra: dict[str, Any] = {"service": r["name"], "last_visit": last.isoformat()}
            jobs.append(message_job("recall", key, now, customer_id=int(r["customer"]), extra=extra))
    return jobs


async def due_winbacks(ctx: AppContext, now: datetime) -> list[NewJob]:
    days = ctx.settings.messages.winback_days
    oldest, newest = now - timedelta(days=days + WINDOW_DAYS), now - timedelta(days=days)
    rows = await ctx.db.fetch(
        "SELECT customer, MAX(start_at) AS last FROM booking"
        " WHERE status = 'completed' AND customer IS NOT NULL GROUP BY customer"
        " HAVING MAX(start_at) > ? AND MAX(start_at) <= ?",
        oldest, newest,
    )  # fmt: skip
    ahead = await _booked_ahead(ctx, now)
    jobs = []
    for r in rows:
        last = as_utc(r["last"])
        if last is None or int(r["customer"]) in ahead:
            continue
        key = f"winback:{r['customer']}:{int(last.timestamp())}"
        jobs.append(
            message_job(
                "winback", key, now, customer_id=int(r["customer"]), extra={"last_visit": last.isoformat()}
            )
        )
    return jobs


async def scan_campaigns(ctx: AppContext) -> int:
    """Queue the recall and win-back messages due now; returns how many jobs were offered (those
    already queued by an earlier scan are skipped by their dedupe keys)."""
    now = ctx.clock.now()
    off = ctx.settings.messages.disabled_kinds
    jobs = []
    if "recall" not in off:
        jobs += await due_recalls(ctx, now)
    if "winback" not in off:
        jobs += await due_winbacks(ctx, now)
    for start in range(0, len(jobs), 200):
        await ctx.outbox.enqueue_many(await _not_sent_yet(ctx, jobs[start : start + 200]))
    return len(jobs)


async def _not_sent_yet(ctx: AppContext, jobs: list[NewJob]) -> list[NewJob]:
    """The jobs whose message is not in the message log yet.

    A campaign stays due for WINDOW_DAYS, longer than a finished job may be kept (`[worker]
    keep_done_days`); the message log, kept for good, is what says the customer was already contacted.
    """
    if not jobs:
        return jobs
    keys = [job.payload["key"] for job in jobs]
    marks = ", ".join("?" for _ in keys)
    rows = await ctx.db.fetch(f"SELECT dedupe_key FROM message WHERE dedupe_key IN ({marks})", *keys)
    logged = {r["dedupe_key"] for r in rows}
    return [job for job in jobs if job.payload["key"] not in logged]
