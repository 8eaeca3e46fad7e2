"""The in-memory schedule catalogue never lets a booking through on an out-of-date schedule.

"Another process" is a plain driver connection that Ajanda knows nothing about: only the database's
schedule-version triggers can tell the app that something changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from core.bookings.service import BookingService, NewBooking, SlotTaken
from core.context import AppContext
from core.db.migrations.m0007_schedule_version import SCHEDULE_TABLES
from core.scheduling import catalogue as catalogue_module
from core.scheduling.availability import to_minutes
from core.scheduling.loader import load_service
from tests.business import add_resource, add_service, build

MONDAY = date(2031, 1, 6)
MONDAY_9 = datetime(2031, 1, 6, 6, 0, tzinfo=UTC)  # 09:00 in Istanbul (UTC+3)


@asynccontextmanager
async def other_process(context: AppContext) -> AsyncIterator[Callable[[str], Any]]:
    """Run SQL on a connection of its own, as a second app process or an admin's SQL shell would."""
    if context.db.kind == "sqlite":
        conn = sqlite3.connect(context.settings.sqlite_path(), isolation_level=None)

        async def run_sqlite(sql: str) -> None:
            conn.execute(sql)

        try:
            yield run_sqlite
        finally:
            conn.close()
    else:
        pg = await asyncpg.connect(context.settings.database.url.reveal())

        async def run_pg(sql: str) -> None:
            await pg.execute(sql)

        try:
            yield run_pg
        finally:
            await pg.close()


async def starts(context: AppContext, service_id: int, day: date = MONDAY) -> list[int]:
    service = await load_service(context.db, service_id)
    _zone, found = await BookingService(context).slots(
        service, service.location_ids[0], day, day, now=datetime(2030, 1, 1, tzinfo=UTC)
    )
    return [slot.start for slot in found]


async def version(context: AppContext) -> int:
    return int(await context.db.fetchval("SELECT version FROM schedule_version WHERE id = 1"))


async def test_hours_removed_by_another_process_refuse_the_next_booking_at_once(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    assert to_minutes(MONDAY_9) in await starts(context, service)  # the catalogue now holds the hours
    async with other_process(context) as run:
        await run(f"DELETE FROM working_hours WHERE staff = {business.staff[0]} AND weekday = 0")
    # The booking re-checks inside its transaction against the committed schedule: no stale hours.
    with pytest.raises(SlotTaken):
        await BookingService(context).create(
            NewBooking(service, MONDAY_9, as_of=MONDAY_9 - timedelta(days=1))
        )
    assert await context.db.fetchval("SELECT COUNT(*) FROM booking") == 0
    # Listings re-check at most CHECK_TTL seconds later; with no grace they see it at once.
    monkeypatch.setattr(catalogue_module, "CHECK_TTL", 0.0)
    assert await starts(context, service) == []


async def test_a_schedule_change_through_this_process_shows_at_once(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    assert to_minutes(MONDAY_9) in await starts(context, service)
    async with context.db.transaction():
        await context.db.execute("UPDATE working_hours SET start_time = '10:00' WHERE weekday = 0")
    assert min(await starts(context, service)) == to_minutes(MONDAY_9 + timedelta(hours=1))


async def test_a_rolled_back_schedule_change_is_never_served(context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    evening = to_minutes(MONDAY_9 + timedelta(hours=9))  # 18:00, after the 09:00-18:00 day
    before = await version(context)
    with pytest.raises(RuntimeError):
        async with context.db.transaction():
            await context.db.execute("UPDATE working_hours SET end_time = '20:00' WHERE weekday = 0")
            assert evening in await starts(context, service)  # the transaction sees its own change
            raise RuntimeError("changed my mind")
    assert evening not in await starts(context, service)
    # Another change now takes the version number the rolled-back one had seen.
    async with context.db.transaction():
        await context.db.execute("UPDATE working_hours SET start_time = '10:00' WHERE weekday = 0")
    assert await version(context) == before + 1
    found = await starts(context, service)
    assert evening not in found and min(found) == to_minutes(MONDAY_9 + timedelta(hours=1))


@pytest.mark.parametrize("table", SCHEDULE_TABLES)
async def test_every_schedule_table_bumps_the_version(context: AppContext, table: str) -> None:
    business = await build(staff=1)
    await add_service(business, "cut", resources=(await add_resource(business, "Oda 1"),))
    async with context.db.transaction():
        await context.db.execute(
            "INSERT INTO staff_exception (staff, kind, starts_at, ends_at) VALUES (?, 'off', ?, ?)",
            business.staff[0], MONDAY_9, MONDAY_9 + timedelta(hours=1),
        )  # fmt: skip
        await context.db.execute("INSERT INTO closure (day, name) VALUES (?, 'Bayram')", MONDAY)
    before = await version(context)
    async with other_process(context) as run:
        await run(f"UPDATE {table} SET id = id")
    assert await version(context) > before
