"""Group services with seats: a session fills up to its seats and keeps its staff member and room."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.bookings.service import BookingService, NewBooking, SlotTaken
from core.context import AppContext
from tests.business import add_resource, add_service, build

NINE = datetime(2031, 1, 6, 6, 0, tzinfo=UTC)


async def test_a_session_takes_exactly_its_seats_under_concurrency(context: AppContext) -> None:
    business = await build(staff=1)
    studio = await add_resource(business, "studio")
    pilates = await add_service(business, "pilates", seats=3, resources=(studio,))
    bookings = BookingService(context)

    async def attempt() -> bool:
        try:
            await bookings.create(NewBooking(pilates, NINE))
        except SlotTaken:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(12)))
    assert results.count(True) == 3
    kinds = await context.db.fetch(
        "SELECT owner_kind, COUNT(*) AS n FROM occupancy GROUP BY owner_kind ORDER BY owner_kind"
    )
    assert [(r["owner_kind"], r["n"]) for r in kinds] == [("resource", 1), ("seat", 3), ("staff", 1)]


async def test_open_seats_stay_offered_and_the_teacher_stays_blocked(context: AppContext) -> None:
    business = await build(staff=1)
    yoga = await add_service(business, "yoga", seats=2)
    cut = await add_service(business, "cut")
    bookings = BookingService(context)
    first = await bookings.create(NewBooking(yoga, NINE))
    _zone, slots = await bookings.slots(
        await _service(context, yoga), business.location, NINE.date(), NINE.date()
    )
    assert any(s.start == _m(NINE) for s in slots)  # one seat left
    with pytest.raises(SlotTaken):
        await bookings.create(NewBooking(cut, NINE + timedelta(minutes=30)))  # the teacher is teaching
    second = await bookings.create(NewBooking(yoga, NINE))
    assert second.staff_id == first.staff_id
    _, slots = await bookings.slots(
        await _service(context, yoga), business.location, NINE.date(), NINE.date()
    )
    assert not any(s.start == _m(NINE) for s in slots)  # full

    await bookings.cancel(first.id, "ill")
    with pytest.raises(SlotTaken):  # the session goes on with the second customer
        await bookings.create(NewBooking(cut, NINE + timedelta(minutes=30)))
    third = await bookings.create(NewBooking(yoga, NINE))  # the freed seat is bookable again
    assert third.status == "confirmed"
    await bookings.cancel(second.id)
    await bookings.cancel(third.id)
    free = await bookings.create(NewBooking(cut, NINE + timedelta(minutes=30)))  # nobody left: teacher free
    assert free.status == "confirmed"


async def _service(context: AppContext, service_id: int):
    from core.scheduling.loader import load_service

    return await load_service(context.db, service_id)


def _m(moment: datetime) -> int:
    from core.scheduling.availability import to_minutes

    return to_minutes(moment)
