"""Property: no sequence of create / reschedule / cancel ever leaves an overlap in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bookings.service import BookingService, NewBooking, SlotTaken
from core.context import AppContext, build_context
from core.errors import Conflict
from tests.business import add_resource, add_service, build

OPEN = datetime(2031, 1, 6, 6, 0, tzinfo=UTC)  # Monday 09:00 Istanbul

OVERLAPS = """
SELECT COUNT(*) FROM occupancy a JOIN occupancy b
  ON a.owner_kind = b.owner_kind AND a.owner_id = b.owner_id AND a.unit = b.unit AND a.id < b.id
 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
"""


@pytest.fixture
def world(make_settings) -> Iterator[tuple[asyncio.AbstractEventLoop, AppContext, dict[str, Any]]]:
    loop = asyncio.new_event_loop()
    ctx = build_context(make_settings())

    async def prepare() -> dict[str, Any]:
        await ctx.start(run_migrations=True)
        business = await build(staff=2)
        room = await add_resource(business, "room", capacity=1)
        return {
            "short": await add_service(
                business, "short", duration_min=30, slot_step_min=15, buffer_after_min=10
            ),
            "long": await add_service(business, "long", duration_min=75, slot_step_min=15, resources=(room,)),
            "staff": business.staff,
        }

    ids = loop.run_until_complete(prepare())
    yield loop, ctx, ids
    loop.run_until_complete(ctx.stop())
    loop.close()


operation = st.one_of(
    st.tuples(
        st.just("create"),
        st.sampled_from(["short", "long"]),
        st.integers(0, 30),
        st.sampled_from([None, 0, 1]),
    ),
    st.tuples(st.just("reschedule"), st.integers(0, 20), st.integers(0, 30), st.sampled_from([None, 0, 1])),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(None)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=1, max_size=25))
def test_no_sequence_leaves_an_overlap(world, operations: list[tuple[Any, ...]]) -> None:
    loop, ctx, ids = world
    bookings = BookingService(ctx)

    async def run() -> int:
        async with ctx.db.transaction():
            for table in ("occupancy", "booking_change", "booking"):
                await ctx.db.execute(f"DELETE FROM {table}")
        made: list[int] = []
        for kind, what, slot, staff_index in operations:
            start = OPEN + timedelta(minutes=15 * slot)
            staff = ids["staff"][staff_index] if staff_index is not None else None
            try:
                if kind == "create":
                    made.append((await bookings.create(NewBooking(ids[what], start, staff_id=staff))).id)
                elif made and kind == "reschedule":
                    await bookings.reschedule(made[what % len(made)], start, staff)
                elif made:
                    await bookings.cancel(made[what % len(made)])
            except (SlotTaken, Conflict):
                pass  # refused cleanly: fine; anything else fails the test
            if await ctx.db.fetchval(OVERLAPS):
                return 1
        return int(await ctx.db.fetchval(OVERLAPS))

    assert loop.run_until_complete(run()) == 0
