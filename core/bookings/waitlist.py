"""The waitlist: when a slot frees up, the first waiting customer whose window it fits gets an offer.

An offer is a pending booking whose hold lasts `[bookings] waitlist_offer_minutes`; the customer
accepts it through the booking's self-service link. If the hold runs out, the booking is cancelled
like any expired hold, which frees the slot again and offers it to the next entry. Offers are made
by an outbox job written in the same transaction as the cancellation, so none is lost to a crash.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from core.audit.records import Actor, acting_as
from core.errors import FieldError
from core.scheduling.availability import from_minutes, local_to_minutes
from core.scheduling.loader import load_service, location_zone

if TYPE_CHECKING:
    from core.context import AppContext

OFFER_JOB = "core.waitlist_offer"


def _hhmm(value: str, field: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise FieldError(field, "expected HH:MM") from None


async def join(
    ctx: AppContext,
    service_id: int,
    customer_id: int,
    day: date,
    window_start: str,
    window_end: str,
    staff_id: int | None = None,
    location_id: int | None = None,
) -> int:
    from core.bookings.service import BookingService

    if _hhmm(window_start, "from") >= _hhmm(window_end, "to"):
        raise FieldError("to", "must be after from")
    service = await load_service(ctx.db, service_id)
    location = BookingService(ctx).location_for(service, location_id)
    zone = await location_zone(ctx.db, location)
    if day < datetime.now(UTC).astimezone(zone).date():
        raise FieldError("day", "is in the past")
    async with ctx.db.transaction():
        rows = await ctx.db.fetch(
            "INSERT INTO waitlist_entry (location, service, customer, staff, day, window_start, window_end,"
            " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?) RETURNING id",
            location, service.id, customer_id, staff_id, day, window_start, window_end,
            datetime.now(UTC),
        )  # fmt: skip
        entry = int(rows[0]["id"])
        await ctx.audit.record(
            "waitlist", entry, "joined",
            {"service": service.id, "day": day.isoformat(), "window": [window_start, window_end]},
        )  # fmt: skip
    return entry


async def slot_freed(ctx: AppContext, location_id: int, start: datetime) -> None:
    """Called inside the transaction that frees time: schedule the offer round for that day."""
    zone = await location_zone(ctx.db, location_id)
    day = start.astimezone(zone).date()
    waiting = await ctx.db.fetchval(
        "SELECT COUNT(*) FROM waitlist_entry WHERE location = ? AND day = ? AND status = 'waiting'",
        location_id,
        day,
    )
    if waiting:
        await ctx.outbox.enqueue(OFFER_JOB, {"location": location_id, "day": day.isoformat()})


async def offer_round(ctx: AppContext, location_id: int, day: date) -> list[int]:
    """Offer free slots to waiting entries of that day, first come first served."""
    from core.bookings.service import BookingService, NewBooking, SlotTaken

    bookings = BookingService(ctx)
    zone = await location_zone(ctx.db, location_id)
    minutes = ctx.settings.bookings.waitlist_offer_minutes
    offered: list[int] = []
    entries = await ctx.db.fetch(
        "SELECT id, service, customer, staff, window_start, window_end FROM waitlist_entry"
        " WHERE location = ? AND day = ? AND status = 'waiting' ORDER BY created_at, id",
        location_id,
        day,
    )
    for entry in entries:
        service = await load_service(ctx.db, int(entry["service"]))
        staff = int(entry["staff"]) if entry["staff"] is not None else None
        _, slots = await bookings.slots(service, location_id, day, day, staff)
        lo = local_to_minutes(day, _hhmm(entry["window_start"], "from"), zone)
        hi = local_to_minutes(day, _hhmm(entry["window_end"], "to"), zone)
        fitting = [s for s in slots if lo <= s.start and s.end <= hi]
        if not fitting:
            continue
        try:
            with acting_as(Actor("system", "waitlist")):
                async with ctx.db.transaction():
                    status = await ctx.db.fetchval(
                        "SELECT status FROM waitlist_entry WHERE id = ?", entry["id"]
                    )
                    if status != "waiting":
                        continue
                    booking = await bookings.create(
                        NewBooking(
                            service_id=service.id,
                            start=from_minutes(fitting[0].start),
                            staff_id=staff,
                            customer_id=int(entry["customer"]),
                            location_id=location_id,
                            source="api",
                            hold_minutes=minutes,
                            offer=True,
                        )
                    )
                    await ctx.db.execute(
                        "UPDATE waitlist_entry SET status = 'offered', booking = ?, offered_at = ?"
                        " WHERE id = ?",
                        booking.id,
                        datetime.now(UTC),
                        entry["id"],
                    )
                    await ctx.audit.record(
                        "waitlist", entry["id"], "offered",
                        {"booking": booking.id, "hold_minutes": minutes},
                    )  # fmt: skip
        except SlotTaken:
            continue
        offered.append(int(entry["id"]))
    return offered


async def booking_settled(ctx: AppContext, booking_id: int, outcome: str) -> None:
    """In the transaction that confirms or cancels a booking: settle a waitlist offer it carries."""
    status = {"confirmed": "booked", "cancelled": "expired"}[outcome]
    await ctx.db.execute(
        "UPDATE waitlist_entry SET status = ? WHERE booking = ? AND status = 'offered'", status, booking_id
    )


async def is_offer(ctx: AppContext, booking_id: int) -> bool:
    return bool(
        await ctx.db.fetchval(
            "SELECT COUNT(*) FROM waitlist_entry WHERE booking = ? AND status = 'offered'", booking_id
        )
    )


async def run_offer_job(payload: dict[str, Any], ctx: AppContext) -> None:
    await offer_round(ctx, int(payload["location"]), date.fromisoformat(payload["day"]))


async def entries(ctx: AppContext, day: date, location_id: int) -> list[Any]:
    return await ctx.db.fetch(
        "SELECT id, service, customer, staff, day, window_start, window_end, status, booking, created_at"
        " FROM waitlist_entry WHERE location = ? AND day = ? ORDER BY created_at, id",
        location_id,
        day,
    )
