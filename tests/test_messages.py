"""Messages delivered for real: e-mail to a local SMTP server, SMS-like channels to a local HTTP
listener through apprise `json://`, driven by the worker and a controllable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from core.bookings.service import BookingService, NewBooking
from core.context import AppContext
from core.customers.service import find_or_create, new_customer
from core.outbox.worker import Worker
from tests import business as biz
from tests.messaging import SmtpServer, listener, smtp_server

__all__ = ["listener", "smtp_server"]  # fixtures


def channel(name: str, medium: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "medium": medium, "url": url, **extra}


async def messaging(
    make_settings: Callable[..., Any], start_context: Any, channels: list[dict[str, Any]], **messages: Any
) -> AppContext:
    settings = make_settings(
        plugins={"enabled": ["notify_apprise"]},
        plugin={"notify_apprise": {"channels": channels, "timeout": 10}},
        messages=messages,
        worker={"backoff_base": 60, "backoff_max": 600, "max_attempts": 3},
    )
    ctx: AppContext = await start_context(settings)
    return ctx


async def drain(ctx: AppContext) -> None:
    """Run the worker until nothing is due at the context's current time."""
    worker = Worker(ctx, "test")
    for _ in range(50):
        if not await worker.run_once():
            return
    raise AssertionError("the queue never drained")


async def customer(
    ctx: AppContext,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    language: str = "tr",
    preferred: str | None = None,
) -> int:
    cid = await find_or_create(ctx, new_customer(ctx, name, phone, email, "staff", language))
    if preferred:
        await ctx.db.execute("UPDATE customer SET preferred_channel = ? WHERE id = ?", preferred, cid)
    return cid


async def messages_of(ctx: AppContext, **where: Any) -> list[Any]:
    clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
    return await ctx.db.fetch(f"SELECT * FROM message WHERE {clause} ORDER BY id", *where.values())


async def job_times(ctx: AppContext, prefix: str) -> list[datetime]:
    rows = await ctx.db.fetch("SELECT dedupe_key, run_at, status FROM ajanda_job WHERE kind = 'core.message'")
    return sorted(
        r["run_at"].astimezone(UTC) if r["run_at"].tzinfo else r["run_at"].replace(tzinfo=UTC)
        for r in rows
        if r["dedupe_key"].startswith(prefix) and r["status"] == "pending"
    )


def day_at(days: int, hour: int, zone: str = "Europe/Istanbul") -> datetime:
    from zoneinfo import ZoneInfo

    local = datetime.now(ZoneInfo(zone)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (local + timedelta(days=days)).astimezone(UTC)


# -------------------------------------------------------------------------------------------------


async def test_confirmation_email_in_the_customers_language_with_an_invite_then_reminders_on_time(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("mail", "email", smtp_server.url())])
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    who = await customer(ctx, "Jane Doe", email="jane@example.com", language="en")
    start = day_at(5, 11)
    booking = await BookingService(ctx).create(NewBooking(service_id=cut, start=start, customer_id=who))

    # Reminders are queued with the booking, at 48 h and 6 h before it.
    assert await job_times(ctx, f"msg:reminder:{booking.id}:") == [
        start - timedelta(hours=48),
        start - timedelta(hours=6),
    ]
    await drain(ctx)
    [mail] = smtp_server.mailbox.to("jane@example.com")
    assert "confirmed" in mail["Subject"].lower()
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Jane" in text and "Haircut" in text and "11:00" in text
    assert mail.get_body(("html",)) is not None
    [invite] = [p for p in mail.iter_attachments() if p.get_filename() == "randevu.ics"]
    event = icalendar.Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(hours=1)
    assert str(event["uid"]).startswith(f"booking-{booking.id}@")

    # Nothing more until the first reminder is due, then exactly that one.
    ctx.clock.set(start - timedelta(hours=48, minutes=1))
    await drain(ctx)
    assert len(smtp_server.mailbox.to("jane@example.com")) == 1
    ctx.clock.set(start - timedelta(hours=48))
    await drain(ctx)
    reminders = smtp_server.mailbox.to("jane@example.com")[1:]
    assert len(reminders) == 1 and "reminder" in reminders[0]["Subject"].lower()
    ctx.clock.set(start - timedelta(hours=6))
    await drain(ctx)
    assert len(smtp_server.mailbox.to("jane@example.com")) == 3

    log = await messages_of(ctx, customer=who)
    assert [(m["kind"], m["status"], m["channel"]) for m in log] == [
        ("confirmation", "sent", "mail"),
        ("reminder", "sent", "mail"),
        ("reminder", "sent", "mail"),
    ]
