"""Booking lifecycle against the real database: the no-overlap guarantee above all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.bookings.service import BookingService, NewBooking, RequestRepeated, SlotTaken
from core.context import AppContext
from core.errors import Conflict
from tests.business import add_resource, add_service, build

MONDAY_9 = datetime(2031, 1, 6, 6, 0, tzinfo=UTC)  # 09:00 in Istanbul (UTC+3)


async def test_two_hundred_concurrent_requests_for_one_slot_make_one_booking(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    bookings = BookingService(context)

    async def attempt(i: int) -> str:
        try:
            await bookings.create(NewBooking(service, MONDAY_9 + timedelta(minutes=30 * (i % 2))))
        except SlotTaken:
            return "taken"
        return "booked"

    results = await asyncio.gather(*(attempt(i) for i in range(200)))
    # 09:00 and 09:30 overlap (60-minute service): only one of all 200 can win.
    assert results.count("booked") == 1 and results.count("taken") == 199
    assert await context.db.fetchval("SELECT COUNT(*) FROM booking WHERE status = 'confirmed'") == 1


async def test_the_database_refuses_an_overlap_the_application_missed(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    first = await BookingService(context).create(NewBooking(service, MONDAY_9))
    with pytest.raises(Exception) as info:
        async with context.db.transaction():
            rows = await context.db.fetch(
                "INSERT INTO booking (location, service, staff, status, start_at, end_at, created_at,"
                " updated_at) VALUES (?, ?, ?, 'confirmed', ?, ?, ?, ?) RETURNING id",
                business.location, service, first.staff_id, MONDAY_9 + timedelta(minutes=15),
                MONDAY_9 + timedelta(minutes=75), MONDAY_9, MONDAY_9,
            )  # fmt: skip
            await context.db.execute(
                "INSERT INTO occupancy (booking, owner_kind, owner_id, unit, starts_at, ends_at)"
                " VALUES (?, 'staff', ?, 0, ?, ?)",
                rows[0]["id"],
                first.staff_id,
                MONDAY_9 + timedelta(minutes=15),
                MONDAY_9 + timedelta(minutes=75),
            )
    assert "occupancy_overlap" in str(info.value) or getattr(info.value, "sqlstate", "") == "23P01"
    assert await context.db.fetchval("SELECT COUNT(*) FROM booking") == 1


async def _raw_block(context: AppContext, business: object, service: int, staff: int, start: datetime,
                     end: datetime) -> None:  # fmt: skip
    """Write a booking and its staff block directly, past every application check."""
    async with context.db.transaction():
        rows = await context.db.fetch(
            "INSERT INTO booking (location, service, staff, status, start_at, end_at, created_at,"
            " updated_at) VALUES (?, ?, ?, 'confirmed', ?, ?, ?, ?) RETURNING id",
            business.location, service, staff, start, end, start, start,  # type: ignore[attr-defined]
        )  # fmt: skip
        await context.db.execute(
            "INSERT INTO occupancy (booking, owner_kind, owner_id, unit, starts_at, ends_at)"
            " VALUES (?, 'staff', ?, 0, ?, ?)",
            rows[0]["id"], staff, start, end,
        )  # fmt: skip


async def test_the_guard_sees_a_long_block_that_started_days_before(context: AppContext) -> None:
    """A block that started almost five days earlier still overlaps; a longer block is refused."""
    business = await build(staff=1)
    service = await add_service(business, "cut")
    staff = business.staff[0]
    retreat_start = MONDAY_9 - timedelta(days=4, hours=21)  # 4 days 23 hours long
    await _raw_block(context, business, service, staff, retreat_start, MONDAY_9 + timedelta(hours=2))
    with pytest.raises(Exception) as overlap:
        await _raw_block(context, business, service, staff, MONDAY_9, MONDAY_9 + timedelta(hours=1))
    assert "occupancy_overlap" in str(overlap.value) or getattr(overlap.value, "sqlstate", "") == "23P01"
    with pytest.raises(Exception) as too_long:
        later = MONDAY_9 + timedelta(days=30)
        await _raw_block(context, business, service, staff, later, later + timedelta(days=5, minutes=1))
    assert "occupancy_too_long" in str(too_long.value) or "occupancy_at_most_five_days" in str(too_long.value)
    # And the engine's own check sees the long block: no slot on Monday morning.
    free = await BookingService(context).slots_around(
        await _service_info(context, service),
        business.location,
        MONDAY_9,
        staff,
        MONDAY_9 - timedelta(days=9),
    )
    assert free[1] is None
    assert await context.db.fetchval("SELECT COUNT(*) FROM occupancy") == 1


async def test_checking_one_start_agrees_with_the_whole_days_slots(context: AppContext) -> None:
    """The booking transaction reads only the asked start's block; it must decide as the day's slots do,
    for every start, with buffers, prep time, a shared room and a break in play."""
    business = await build(staff=2, breaks=[["13:00", "13:30"]])
    room = await add_resource(business, "room", capacity=1)
    timed = {"buffer_before_min": 10, "buffer_after_min": 5, "prep_min": 5, "cleanup_min": 10}
    long_one = await add_service(business, "colour", (room,), duration_min=90, slot_step_min=15, **timed)
    short_one = await add_service(business, "cut", duration_min=30, slot_step_min=15)
    bookings = BookingService(context)
    now = MONDAY_9 - timedelta(days=1)
    for service, start, staff in (
        (long_one, MONDAY_9 + timedelta(minutes=45), business.staff[0]),
        (short_one, MONDAY_9 + timedelta(hours=3), business.staff[1]),
        (short_one, MONDAY_9 + timedelta(hours=5, minutes=15), business.staff[0]),
    ):
        await bookings.create(NewBooking(service, start, staff, as_of=now))
    info = await _service_info(context, long_one)
    day = (MONDAY_9 + timedelta(hours=3)).date()
    compared = 0
    for staff in (None, *business.staff):
        _, day_slots = await bookings.slots(info, business.location, day, day, staff, now)
        by_start = {s.start: s.staff for s in day_slots}
        for minutes in range(0, 11 * 60, 5):  # 08:00 to 18:55 local, every 5 minutes
            moment = MONDAY_9 - timedelta(hours=1) + timedelta(minutes=minutes)
            _, one = await bookings.slots_around(info, business.location, moment, staff, now)
            expected = by_start.get(int(moment.timestamp()) // 60)
            assert (one.staff if one else None) == expected, (staff, moment)
            compared += 1
    assert len(day_slots) > 5 and compared == 3 * 132


async def _service_info(context: AppContext, service_id: int):  # type: ignore[no-untyped-def]
    from core.scheduling.loader import load_service

    return await load_service(context.db, service_id)


async def test_any_staff_spreads_the_load_and_offers_alternatives(context: AppContext) -> None:
    business = await build(staff=2)
    service = await add_service(business, "cut")
    bookings = BookingService(context)
    a = await bookings.create(NewBooking(service, MONDAY_9))
    b = await bookings.create(NewBooking(service, MONDAY_9))
    assert {a.staff_id, b.staff_id} == set(business.staff)
    c = await bookings.create(NewBooking(service, MONDAY_9 + timedelta(hours=2)))
    d = await bookings.create(NewBooking(service, MONDAY_9 + timedelta(hours=4)))
    assert c.staff_id != d.staff_id  # fewest bookings that day first
    with pytest.raises(SlotTaken) as info:
        await bookings.create(NewBooking(service, MONDAY_9))
    alternatives = info.value.extra["alternatives"]
    assert alternatives and all(alt["start"] != MONDAY_9.isoformat() for alt in alternatives)
    assert alternatives[0]["start"].endswith("+03:00")


async def test_buffers_block_the_neighbouring_slot(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "colour", buffer_after_min=15, slot_step_min=15)
    bookings = BookingService(context)
    await bookings.create(NewBooking(service, MONDAY_9))
    with pytest.raises(SlotTaken):
        await bookings.create(NewBooking(service, MONDAY_9 + timedelta(minutes=60)))
    ok = await bookings.create(NewBooking(service, MONDAY_9 + timedelta(minutes=75)))
    assert ok.status == "confirmed"


async def test_resource_capacity_is_never_exceeded(context: AppContext) -> None:
    business = await build(staff=3)
    room = await add_resource(business, "laser room", capacity=2)
    service = await add_service(business, "laser", resources=(room,))
    bookings = BookingService(context)

    async def attempt() -> bool:
        try:
            await bookings.create(NewBooking(service, MONDAY_9))
        except SlotTaken:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert results.count(True) == 2  # three staff are free, but the room has two units
    units = await context.db.fetch("SELECT unit FROM occupancy WHERE owner_kind = 'resource' ORDER BY unit")
    assert [r["unit"] for r in units] == [0, 1]


async def test_hold_expiry_frees_the_slot(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    bookings = BookingService(context)
    held = await bookings.create(NewBooking(service, MONDAY_9, hold_minutes=15))
    assert held.status == "pending"
    with pytest.raises(SlotTaken):
        await bookings.create(NewBooking(service, MONDAY_9))
    async with context.db.transaction():  # fifteen minutes pass
        await context.db.execute(
            "UPDATE booking SET hold_expires_at = ? WHERE id = ?",
            datetime.now(UTC) - timedelta(seconds=1),
            held.id,
        )
    taken = await bookings.create(NewBooking(service, MONDAY_9))
    assert taken.status == "confirmed"
    assert (await bookings.get(held.id)).status == "cancelled"
    with pytest.raises(Conflict, match="cancelled booking cannot be confirmed"):
        await bookings.confirm(held.id)


async def test_reschedule_keeps_the_booking_and_its_history(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    bookings = BookingService(context)
    booking = await bookings.create(NewBooking(service, MONDAY_9))
    other = await bookings.create(NewBooking(service, MONDAY_9 + timedelta(hours=3)))
    moved = await bookings.reschedule(
        booking.id, MONDAY_9 + timedelta(minutes=30)
    )  # overlaps its own old time
    assert moved.id == booking.id and moved.start == MONDAY_9 + timedelta(minutes=30)
    with pytest.raises(SlotTaken):
        await bookings.reschedule(booking.id, other.start)
    history = await context.db.fetch(
        "SELECT action, old_start, new_start FROM booking_change WHERE booking = ? ORDER BY id", booking.id
    )
    assert [r["action"] for r in history] == ["created", "rescheduled"]
    assert history[1]["old_start"] == MONDAY_9 and history[1]["new_start"] == MONDAY_9 + timedelta(minutes=30)
    cancelled = await bookings.cancel(booking.id, reason="customer called")
    assert cancelled.status == "cancelled"
    again = await bookings.create(NewBooking(service, MONDAY_9))  # the slot is free again
    assert again.status == "confirmed"


async def test_lifecycle_hooks_fire_from_real_transitions(make_settings, start_context) -> None:
    import types

    from core import PluginMeta, hookimpl

    seen: list[tuple[str, int, str]] = []
    module = types.ModuleType("tracker")
    module.PLUGIN = PluginMeta(name="tracker", version="1")  # type: ignore[attr-defined]

    @hookimpl
    def booking_validate(booking, action) -> None:
        seen.append(("validate:" + action, booking.id, booking.status))

    @hookimpl
    def booking_created(booking) -> None:
        seen.append(("created", booking.id, booking.status))

    @hookimpl
    def booking_confirmed(booking) -> None:
        seen.append(("confirmed", booking.id, booking.status))

    @hookimpl
    def booking_rescheduled(booking, previous, context) -> None:
        assert context is not None and previous.start != booking.start
        seen.append(("rescheduled", booking.id, booking.status))

    @hookimpl
    def booking_cancelled(booking, reason, by) -> None:
        seen.append((f"cancelled:{reason}:{by.kind}", booking.id, booking.status))

    @hookimpl
    def booking_completed(booking) -> None:
        seen.append(("completed", booking.id, booking.status))

    @hookimpl
    def booking_no_show(booking) -> None:
        seen.append(("no_show", booking.id, booking.status))

    for fn in (booking_validate, booking_created, booking_confirmed, booking_rescheduled,
               booking_cancelled, booking_completed, booking_no_show):  # fmt: skip
        setattr(module, fn.__name__, fn)
    ctx = await start_context(make_settings(plugins={"enabled": ["tracker"]}), {"tracker": module})
    business = await build(staff=1, hours=("00:00", "23:59"))
    service = await add_service(business, "cut")
    bookings = BookingService(ctx)
    held = await bookings.create(NewBooking(service, MONDAY_9, hold_minutes=10))
    await bookings.confirm(held.id)
    await bookings.reschedule(held.id, MONDAY_9 + timedelta(hours=2))
    # A time already taken is refused before any plugin is asked to validate it (named staff member:
    # the database's guard decides; anyone: the check does).
    for staff_id in (held.staff_id, None):
        with pytest.raises(SlotTaken):
            await bookings.create(NewBooking(service, MONDAY_9 + timedelta(hours=2), staff_id=staff_id))
    await bookings.cancel(held.id, "changed plans")
    past = (datetime.now(UTC) - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    came = await bookings.create(NewBooking(service, past, as_of=past - timedelta(days=1)))
    missed = await bookings.create(
        NewBooking(service, past + timedelta(hours=2), as_of=past - timedelta(days=1))
    )
    await bookings.complete(came.id)
    await bookings.no_show(missed.id)
    assert [(event, status) for event, _id, status in seen] == [
        ("validate:create", "pending"), ("created", "pending"), ("confirmed", "confirmed"),
        ("validate:reschedule", "confirmed"), ("rescheduled", "confirmed"),
        ("cancelled:changed plans:system", "cancelled"),
        ("validate:create", "confirmed"), ("created", "confirmed"),
        ("validate:create", "confirmed"), ("created", "confirmed"),
        ("completed", "completed"), ("no_show", "no_show"),
    ]  # fmt: skip


async def test_a_new_booking_is_described_exactly_as_it_was_stored(context: AppContext) -> None:
    """The booking handed to hooks and callers is built from the values written, not read back: it
    must equal what the database then returns, on both engines (times, amounts, the hold)."""
    business = await build(staff=1)
    service = await add_service(business, "cut", price="450.5", deposit_kind="percent", deposit_value="20")
    bookings = BookingService(context)
    for staff_id, hold in ((business.staff[0], 30), (None, None)):
        start = MONDAY_9 + timedelta(hours=2 if hold is None else 0)
        made = await bookings.create(NewBooking(service, start, staff_id=staff_id, hold_minutes=hold))
        assert made == await bookings.get(made.id)
        assert (made.price, made.deposit_due) == ("450.50", "90.10")


async def test_a_request_key_makes_at_most_one_booking(context: AppContext) -> None:
    business = await build(staff=2)
    service = await add_service(business, "cut")
    bookings = BookingService(context)
    first = await bookings.create(NewBooking(service, MONDAY_9, request_key="web:press-one-0123456789"))
    with pytest.raises(RequestRepeated) as repeated:  # "any" staff: the other one is free, yet no
        await bookings.create(NewBooking(service, MONDAY_9, request_key="web:press-one-0123456789"))
    assert repeated.value.booking == first
    other = await bookings.create(NewBooking(service, MONDAY_9, request_key="web:press-two-0123456789"))
    assert other.staff_id != first.staff_id
    assert await context.db.fetchval("SELECT COUNT(*) FROM booking") == 2
