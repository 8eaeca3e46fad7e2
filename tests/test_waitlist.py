"""The waitlist offer chain: a freed slot goes to the first in line, then the next when unanswered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.context import AppContext
from core.outbox.worker import Worker
from tests.business import add_service, build
from tests.conftest import admin_headers, api_client

DAY = "2031-01-06"
NINE = "2031-01-06T09:00:00+03:00"


@pytest.fixture
async def ctx(make_settings, start_context) -> AppContext:
    context: AppContext = await start_context(make_settings(server={"rate_limit_per_minute": 0}))
    return context


def person(n: int) -> dict:
    return {"name": f"Bekleyen {n}", "phone": f"+90532555000{n}"}


async def test_freed_slot_is_offered_in_order_and_passed_on_when_the_hold_expires(ctx: AppContext) -> None:
    business = await build(staff=1, hours=("09:00", "10:00"))  # one slot a day
    service = await add_service(business, "cut")
    worker = Worker(ctx)
    async with api_client(ctx) as client:
        taken = (
            await client.post(
                "/api/v1/bookings", json={"service": service, "start": NINE, "customer": person(0)}
            )
        ).json()
        for n in (1, 2):
            joined = await client.post(
                "/api/v1/waitlist",
                json={"service": service, "day": DAY, "from": "08:00", "to": "12:00", "customer": person(n)},
            )
            assert joined.status_code == 201, joined.text
        await worker.run_once()
        assert (
            await ctx.db.fetchval("SELECT COUNT(*) FROM booking WHERE status = 'pending'") == 0
        )  # nothing free yet

        cancel = await client.post(
            f"/api/v1/admin/bookings/{taken['id']}/cancel", headers=admin_headers(ctx.settings)
        )
        assert cancel.status_code == 200
        await worker.run_once()  # the offer job written with the cancellation
        line = (
            await client.get(
                f"/api/v1/admin/bookings/waitlist?day={DAY}", headers=admin_headers(ctx.settings)
            )
        ).json()
        assert [e["status"] for e in line] == ["offered", "waiting"]
        first_offer = line[0]["booking"]
        offer = (
            await client.get(f"/api/v1/admin/bookings/{first_offer}", headers=admin_headers(ctx.settings))
        ).json()
        assert offer["status"] == "pending" and offer["start"] == NINE
        hold = datetime.fromisoformat(offer["hold_expires_at"])
        assert timedelta(minutes=59) < hold - datetime.now(UTC) <= timedelta(minutes=60)

        # Nobody answers: the hold runs out, the worker releases it, and the next in line gets it.
        async with ctx.db.transaction():
            await ctx.db.execute(
                "UPDATE booking SET hold_expires_at = ? WHERE id = ?",
                datetime.now(UTC) - timedelta(seconds=1),
                first_offer,
            )
        await worker.sweep(force=True)
        await worker.run_once()
        line = (
            await client.get(
                f"/api/v1/admin/bookings/waitlist?day={DAY}", headers=admin_headers(ctx.settings)
            )
        ).json()
        assert [e["status"] for e in line] == ["expired", "offered"]
        second = (
            await client.get(
                f"/api/v1/admin/bookings/{line[1]['booking']}", headers=admin_headers(ctx.settings)
            )
        ).json()

        # The second customer accepts through the link.
        path = "/api/v1/self/" + second["self_service_url"].rsplit("/manage/", 1)[1]
        accepted = await client.post(f"{path}/confirm")
        assert accepted.status_code == 200 and accepted.json()["status"] == "confirmed"
        line = (
            await client.get(
                f"/api/v1/admin/bookings/waitlist?day={DAY}", headers=admin_headers(ctx.settings)
            )
        ).json()
        assert [e["status"] for e in line] == ["expired", "booked"]


async def test_only_waitlist_offers_can_be_accepted_through_the_link(ctx: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "colour", deposit_kind="fixed", deposit_value=100)
    async with api_client(ctx) as client:
        held = (
            await client.post(
                "/api/v1/bookings", json={"service": service, "start": NINE, "customer": person(1)}
            )
        ).json()
        assert held["status"] == "pending"  # waits for its deposit
        path = "/api/v1/self/" + held["self_service_url"].rsplit("/manage/", 1)[1]
        refused = await client.post(f"{path}/confirm")
        assert refused.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [({"from": "12:00", "to": "11:00"}, "to"), ({"from": "9am"}, "from"), ({"day": "2020-01-01"}, "day")],
)
async def test_waitlist_input_errors_name_the_field(ctx: AppContext, change: dict, field: str) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    payload = {
        "service": service,
        "day": DAY,
        "from": "09:00",
        "to": "12:00",
        "customer": person(1),
        **change,
    }
    async with api_client(ctx) as client:
        response = await client.post("/api/v1/waitlist", json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
