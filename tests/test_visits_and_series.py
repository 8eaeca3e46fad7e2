"""Multi-service visits and recurring series, through the API."""

from __future__ import annotations

from datetime import date

import pytest

from core.context import AppContext
from tests.business import add_service, build
from tests.conftest import admin_headers, api_client

CUSTOMER = {"name": "Zeynep Kara", "phone": "+905329998877"}


@pytest.fixture
async def ctx(make_settings, start_context) -> AppContext:
    context: AppContext = await start_context(make_settings(server={"rate_limit_per_minute": 0}))
    return context


async def test_cut_then_colour_back_to_back_with_different_staff(ctx: AppContext) -> None:
    business = await build(staff=2, skills=["cut", "colour"])
    cut = await add_service(business, "cut", duration_min=45, slot_step_min=15)
    colour = await add_service(business, "colour", duration_min=90, slot_step_min=15, required_skill="colour")
    async with api_client(ctx) as client:
        # Staff 1 is busy 09:45-11:15, so the colour part must go to staff 2.
        busy = await client.post(
            "/api/v1/bookings",
            json={"service": colour, "start": "2031-01-06T09:45:00+03:00", "staff": business.staff[0],
                  "customer": {"name": "Other", "phone": "+905320000001"}},
        )  # fmt: skip
        assert busy.status_code == 201
        visit = await client.post(
            "/api/v1/visits",
            json={"services": [{"service": cut, "staff": business.staff[0]}, {"service": colour}],
                  "start": "2031-01-06T09:00:00+03:00", "customer": CUSTOMER},
        )  # fmt: skip
        assert visit.status_code == 201, visit.text
        parts = visit.json()
        assert [p["start"] for p in parts] == ["2031-01-06T09:00:00+03:00", "2031-01-06T09:45:00+03:00"]
        assert parts[0]["staff"] == business.staff[0] and parts[1]["staff"] == business.staff[1]
        keys = await ctx.db.fetch("SELECT DISTINCT visit_key FROM booking WHERE visit_key IS NOT NULL")
        assert len(keys) == 1

        # All or nothing: a second identical visit cannot get the colour part, so nothing is booked.
        before = await ctx.db.fetchval("SELECT COUNT(*) FROM booking")
        again = await client.post(
            "/api/v1/visits",
            json={"services": [{"service": cut}, {"service": colour}], "start": "2031-01-06T09:00:00+03:00",
                  "customer": CUSTOMER},
        )  # fmt: skip
        assert again.status_code == 409 and again.json()["part"] == 1
        assert await ctx.db.fetchval("SELECT COUNT(*) FROM booking") == before


async def test_series_every_two_weeks_reports_conflicts_per_occurrence(ctx: AppContext) -> None:
    business = await build(staff=1)
    physio = await add_service(business, "physio")
    headers = admin_headers(ctx.settings)
    async with api_client(ctx) as client:
        customer = (
            await client.post(
                "/api/v1/bookings",
                json={"service": physio, "start": "2031-02-03T09:00:00+03:00", "customer": CUSTOMER},
            )
        ).json()["customer"]  # occupies the third occurrence
        series = {"service": physio, "start": "2031-01-06T09:00:00+03:00", "customer_id": customer,
                  "repeat": {"every": 2, "unit": "weeks", "count": 6}}  # fmt: skip
        refused = await client.post("/api/v1/admin/bookings/series", json=series, headers=headers)
        assert refused.status_code == 409
        conflicts = refused.json()["conflicts"]
        assert [(c["occurrence"], c["start"]) for c in conflicts] == [(2, "2031-02-03T09:00:00+03:00")]
        assert conflicts[0]["alternatives"]
        assert await ctx.db.fetchval("SELECT COUNT(*) FROM booking") == 1

        partial = await client.post(
            "/api/v1/admin/bookings/series", json={**series, "skip_conflicts": True}, headers=headers
        )
        assert partial.status_code == 201
        body = partial.json()
        assert len(body["bookings"]) == 5 and len(body["conflicts"]) == 1
        assert [b["start"][:10] for b in body["bookings"]] == [
            "2031-01-06", "2031-01-20", "2031-02-17", "2031-03-03", "2031-03-17",
        ]  # fmt: skip


async def test_series_keeps_the_wall_clock_time_across_dst(make_settings, start_context) -> None:
    from datetime import datetime

    from core.bookings.service import BookingService, NewBooking

    ctx = await start_context(make_settings())
    business = await build(zone="Europe/Berlin", staff=1)
    service = await add_service(business, "class")
    booked, conflicts = await BookingService(ctx).create_series(
        NewBooking(service, datetime.fromisoformat("2030-03-24T10:00:00+01:00")),
        1,
        "weeks",
        until=date(2030, 4, 7),
    )
    assert conflicts == []
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    assert [b.start.astimezone(berlin).strftime("%m-%d %H:%M %z") for b in booked] == [
        "03-24 10:00 +0100", "03-31 10:00 +0200", "04-07 10:00 +0200",
    ]  # fmt: skip
