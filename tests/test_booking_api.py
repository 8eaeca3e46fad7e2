"""The booking API as the booking page and integrators use it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from core.context import AppContext
from tests.business import add_service, build
from tests.conftest import admin_headers, api_client

DAY = date(2031, 1, 6)  # a Monday
START = "2031-01-06T09:00:00+03:00"
CUSTOMER = {"name": "Ayşe Yılmaz", "phone": "0532 111 22 33", "email": "Ayse@Example.com"}


async def test_services_and_availability_shapes(open_context: AppContext) -> None:
    business = await build(staff=2, breaks=[["12:00", "13:00"]])
    service = await add_service(
        business, "Saç Kesimi", category="Saç", deposit_kind="percent", deposit_value=20
    )
    async with api_client(open_context) as client:
        services = (await client.get("/api/v1/services")).json()
        assert services == [
            {"id": service, "name": "Saç Kesimi", "category": "Saç", "duration": 60, "price": "500.00",
             "currency": "TRY", "deposit": "100.00", "locations": [business.location]}
        ]  # fmt: skip
        body = (await client.get(f"/api/v1/availability?service={service}&from={DAY}&to={DAY}")).json()
        assert body["timezone"] == "Europe/Istanbul"
        starts = [s["start"] for s in body["slots"]]
        assert starts[0] == START and "2031-01-06T12:00:00+03:00" not in starts  # lunch break
        assert starts[-1] == "2031-01-06T17:00:00+03:00"
        assert body["slots"][0]["staff"] == business.staff
        one = (
            await client.get(
                f"/api/v1/availability?service={service}&from={DAY}&to={DAY}&staff={business.staff[1]}"
            )
        ).json()
        assert all(s["staff"] == [business.staff[1]] for s in one["slots"])


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=2031-01-06&to=2031-01-05", "to"), ("from=2031-01-06&to=2031-06-06", "to"),
     ("from=06.01.2031&to=2031-01-06", "from"), ("to=2031-01-06", "from"),
     ("from=9999-12-31&to=9999-12-31", "from"), ("from=2031-01-06&to=9999-12-31", "to"),
     ("from=0001-01-01&to=0001-01-01", "from")],
)  # fmt: skip
async def test_availability_rejects_bad_ranges_naming_the_field(
    open_context: AppContext, query: str, field: str
) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(open_context) as client:
        response = await client.get(f"/api/v1/availability?service={service}&{query}")
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


async def test_booking_then_conflict_with_alternatives_and_one_customer_card(
    open_context: AppContext,
) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(open_context) as client:
        first = await client.post(
            "/api/v1/bookings", json={"service": service, "start": START, "customer": CUSTOMER}
        )
        assert first.status_code == 201, first.text
        booking = first.json()
        assert booking["status"] == "confirmed" and booking["start"] == START
        assert booking["end"] == "2031-01-06T10:00:00+03:00" and booking["staff"] == business.staff[0]
        assert "/manage/" in booking["self_service_url"]
        again = await client.post(
            "/api/v1/bookings",
            json={
                "service": service,
                "start": "2031-01-06T06:30:00Z",
                "customer": {**CUSTOMER, "phone": "+905321112233"},
            },
        )
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        alternatives = again.json()["alternatives"]
        assert alternatives and alternatives[0]["start"] == "2031-01-06T10:00:00+03:00"
        # Naming the staff member: the database's overlap guard refuses it, with the same answer,
        # and the new person's card goes with the refused booking.
        named = await client.post(
            "/api/v1/bookings",
            json={
                "service": service,
                "staff": business.staff[0],
                "start": "2031-01-06T06:30:00Z",
                "customer": {"name": "Başka Biri", "phone": "+905329998877"},
            },
        )
        assert named.status_code == 409
        assert named.json()["detail"] == again.json()["detail"]
        assert named.json()["alternatives"] == alternatives
        later = await client.post(
            "/api/v1/bookings",
            json={
                "service": service,
                "start": "2031-01-06T10:00:00+03:00",
                "customer": {**CUSTOMER, "phone": "+90 532 111 2233"},
            },
        )
        assert later.status_code == 201
        assert later.json()["customer"] == booking["customer"]  # the same person, not a duplicate
    assert await open_context.db.fetchval("SELECT COUNT(*) FROM customer") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [({"customer": {"name": "", "phone": "05321112233"}}, "customer.name"),
     ({"customer": {"name": "Ali", "phone": "12"}}, "customer.phone"),
     ({"customer": {"name": "Ali"}}, "customer.phone"),
     ({"customer": {"name": "Ali", "email": "ali@"}}, "customer.email"),
     ({"start": "2031-01-06T09:00:00"}, "start"),
     ({"start": "next monday"}, "start"),
     ({"service": 0}, "service"),
     ({"colour": "red"}, "colour")],
)  # fmt: skip
async def test_invalid_booking_input_is_a_422_naming_the_field(
    open_context: AppContext, change: dict, field: str
) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    payload = {"service": service, "start": START, "customer": CUSTOMER, **change}
    async with api_client(open_context) as client:
        response = await client.post("/api/v1/bookings", json=payload)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert await open_context.db.fetchval("SELECT COUNT(*) FROM booking") == 0


async def test_two_hundred_concurrent_http_bookings_of_one_slot(open_context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(open_context) as client:

        async def book(i: int) -> int:
            start = "2031-01-06T09:00:00+03:00" if i % 2 else "2031-01-06T09:30:00+03:00"
            customer = {"name": f"Customer {i}", "phone": f"+9053211{i:05d}"}
            response = await client.post(
                "/api/v1/bookings", json={"service": service, "start": start, "customer": customer}
            )
            return response.status_code

        codes = await asyncio.gather(*(book(i) for i in range(200)))
    assert codes.count(201) == 1 and codes.count(409) == 199
    assert await open_context.db.fetchval("SELECT COUNT(*) FROM occupancy") == 1
    # The card is written in the booking's transaction: 199 refused people leave no personal data.
    assert await open_context.db.fetchval("SELECT COUNT(*) FROM customer") == 1
    created = "SELECT COUNT(*) FROM ajanda_audit WHERE entity = 'customer' AND action = 'created'"
    assert await open_context.db.fetchval(created) == 1


async def test_a_returning_customer_is_found_by_phone_first_then_by_email(open_context: AppContext) -> None:
    business = await build(staff=2)
    service = await add_service(business, "cut")
    async with api_client(open_context) as client:

        async def book(hour: int, customer: dict[str, str]) -> int:
            start = f"2031-01-06T{hour:02d}:00:00+03:00"
            response = await client.post(
                "/api/v1/bookings", json={"service": service, "start": start, "customer": customer}
            )
            assert response.status_code == 201, response.text
            return int(response.json()["customer"])

        ayse = await book(9, {"name": "Ayşe", "phone": "0532 111 22 33", "email": "ayse@example.com"})
        mehmet = await book(10, {"name": "Mehmet", "email": "mehmet@example.com"})
        # A new phone with a known e-mail address: the same card.
        assert (
            await book(11, {"name": "Ayşe Y.", "phone": "0533 999 88 77", "email": "AYSE@example.com"})
            == ayse
        )
        # Her phone with Mehmet's e-mail: the phone decides.
        assert (
            await book(12, {"name": "Ayşe", "phone": "+905321112233", "email": "mehmet@example.com"}) == ayse
        )
        assert await book(13, {"name": "Mehmet", "email": "mehmet@example.com"}) == mehmet
    assert await open_context.db.fetchval("SELECT COUNT(*) FROM customer") == 2


async def test_self_service_link_view_reschedule_cancel(open_context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(open_context) as client:
        created = (
            await client.post(
                "/api/v1/bookings", json={"service": service, "start": START, "customer": CUSTOMER}
            )
        ).json()
        path = "/api/v1/self/" + created["self_service_url"].rsplit("/manage/", 1)[1]
        assert (await client.get(path)).json()["id"] == created["id"]
        tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert (await client.get(tampered)).status_code == 404
        moved = await client.post(f"{path}/reschedule", json={"start": "2031-01-06T14:00:00+03:00"})
        assert moved.status_code == 200 and moved.json()["start"] == "2031-01-06T14:00:00+03:00"
        cancelled = await client.post(f"{path}/cancel", json={"reason": "ill"})
        assert cancelled.status_code == 200
        assert cancelled.json()["booking"]["status"] == "cancelled" and cancelled.json()["deposit"] == "none"
        assert (await client.post(f"{path}/cancel")).status_code == 409


async def test_reschedule_through_the_link_closes_at_the_cutoff(open_context: AppContext) -> None:
    business = await build(staff=1, hours=("00:00", "23:59"))
    # 30 minutes: a start on any hour fits the working day, 23:00 included (the test runs at any time).
    service = await add_service(business, "cut", duration_min=30, slot_step_min=60)
    soon = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    async with api_client(open_context) as client:
        created = await client.post(
            "/api/v1/bookings", json={"service": service, "start": soon.isoformat(), "customer": CUSTOMER}
        )
        assert created.status_code == 201, created.text
        path = "/api/v1/self/" + created.json()["self_service_url"].rsplit("/manage/", 1)[1]
        late = await client.post(
            f"{path}/reschedule", json={"start": (soon + timedelta(hours=2)).isoformat()}
        )
        assert late.status_code == 409 and "24 hours" in late.json()["detail"]


async def test_admin_books_for_a_caller_and_runs_the_transitions(open_context: AppContext) -> None:
    business = await build(staff=1, hours=("00:00", "23:59"))
    service = await add_service(business, "cut")
    headers = admin_headers(open_context.settings)
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    async with api_client(open_context) as client:
        assert (
            await client.post("/api/v1/admin/bookings", json={"service": service, "start": START})
        ).status_code == 401
        held = await client.post(
            "/api/v1/admin/bookings",
            json={"service": service, "start": START, "customer": CUSTOMER, "hold_minutes": 30},
            headers=headers,
        )
        assert held.status_code == 201 and held.json()["status"] == "pending"
        booking_id = held.json()["id"]
        confirmed = await client.post(f"/api/v1/admin/bookings/{booking_id}/confirm", headers=headers)
        assert confirmed.json()["status"] == "confirmed"
        early = await client.post(f"/api/v1/admin/bookings/{booking_id}/complete", headers=headers)
        assert early.status_code == 409  # it has not happened yet
        listed = await client.get(f"/api/v1/admin/bookings?from={DAY}&status=confirmed", headers=headers)
        assert [b["id"] for b in listed.json()] == [booking_id]
        # A visit that took place yesterday (staff record it after the fact).
        async with open_context.db.transaction():
            await open_context.db.execute(
                "UPDATE booking SET start_at = ?, end_at = ? WHERE id = ?",
                past,
                past + timedelta(hours=1),
                booking_id,
            )
        done = await client.post(f"/api/v1/admin/bookings/{booking_id}/complete", headers=headers)
        assert done.status_code == 200 and done.json()["status"] == "completed"
        assert (
            await client.post(f"/api/v1/admin/bookings/{booking_id}/no-show", headers=headers)
        ).status_code == 409
        assert (await client.post("/api/v1/admin/bookings/999/cancel", headers=headers)).status_code == 404
    actions = [
        r["action"]
        for r in await open_context.db.fetch(
            "SELECT action FROM ajanda_audit WHERE entity = 'booking' ORDER BY seq"
        )
    ]
    assert actions == ["created", "confirmed", "completed"]


async def test_public_endpoints_are_rate_limited(make_settings, start_context) -> None:
    ctx = await start_context(make_settings(server={"rate_limit_per_minute": 3}))
    async with api_client(ctx) as client:
        codes = [(await client.get("/api/v1/services")).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        admin = [
            (await client.get("/api/v1/admin/jobs", headers=admin_headers(ctx.settings))).status_code
            for _ in range(5)
        ]
        assert admin == [200] * 5


async def test_absurd_ids_are_clean_client_errors(open_context: AppContext) -> None:
    business = await build(staff=1)
    service = await add_service(business, "cut")
    huge = 2**70
    headers = admin_headers(open_context.settings)
    async with api_client(open_context) as client:
        for method, url, body in [
            ("GET", f"/api/v1/admin/bookings/{huge}", None),
            ("POST", f"/api/v1/admin/bookings/{huge}/cancel", None),
            ("GET", f"/api/v1/availability?service={huge}&from=2031-01-06&to=2031-01-06", None),
            (
                "GET",
                f"/api/v1/availability?service={service}&staff={huge}&from=2031-01-06&to=2031-01-06",
                None,
            ),
            ("POST", "/api/v1/bookings", {"service": huge, "start": START, "customer": CUSTOMER}),
            (
                "POST",
                "/api/v1/bookings",
                {"service": service, "staff": huge, "start": START, "customer": CUSTOMER},
            ),
            ("GET", f"/api/v1/admin/audit?before_seq={huge}", None),
            ("POST", f"/api/v1/admin/jobs/{huge}/retry", None),
        ]:
            response = await client.request(method, url, json=body, headers=headers)
            assert response.status_code in (400, 404, 422), (url, response.status_code, response.text)


async def test_a_plugin_veto_refuses_the_booking_with_its_reason(make_settings, start_context) -> None:
    import types

    from core import PluginMeta, Vetoed, hookimpl

    module = types.ModuleType("inventory")
    module.PLUGIN = PluginMeta(name="inventory", version="1")  # type: ignore[attr-defined]

    def booking_validate(booking, action) -> None:
        raise Vetoed("boya stoğu yok / out of hair dye", field="service")

    module.booking_validate = hookimpl(booking_validate)  # type: ignore[attr-defined]
    ctx = await start_context(
        make_settings(plugins={"enabled": ["inventory"]}, server={"rate_limit_per_minute": 0}),
        {"inventory": module},
    )
    business = await build(staff=1)
    service = await add_service(business, "colour")
    async with api_client(ctx) as client:
        response = await client.post(
            "/api/v1/bookings", json={"service": service, "start": START, "customer": CUSTOMER}
        )
    assert response.status_code == 422
    assert response.json()["detail"] == "boya stoğu yok / out of hair dye"
    assert response.json()["errors"] == [{"field": "service", "message": "boya stoğu yok / out of hair dye"}]
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM booking") == 0


async def test_deactivated_location_or_room_takes_no_bookings_and_nul_is_refused(
    open_context: AppContext,
) -> None:
    business = await build(staff=1)
    from tests.business import add_resource

    room = await add_resource(business, "room")
    service = await add_service(business, "laser", resources=(room,))
    url = f"/api/v1/availability?service={service}&from={DAY}&to={DAY}"
    async with api_client(open_context) as client:
        assert (await client.get(url)).json()["slots"]
        async with open_context.db.transaction():
            await open_context.db.execute("UPDATE resource SET active = ? WHERE id = ?", False, room)
        assert (await client.get(url)).json()["slots"] == []
        async with open_context.db.transaction():
            await open_context.db.execute("UPDATE resource SET active = ? WHERE id = ?", True, room)
            await open_context.db.execute(
                "UPDATE location SET active = ? WHERE id = ?", False, business.location
            )
        assert (await client.get(url)).status_code == 422  # offered at no active location
        nul = await client.post(
            "/api/v1/bookings",
            json={"service": service, "start": START, "customer": {**CUSTOMER, "name": "A\u0000B"}},
        )
        assert nul.status_code == 422 and "customer.name" in nul.json()["detail"]


async def test_cancelling_a_booking_still_waiting_for_its_deposit_says_nothing_was_paid(
    open_context: AppContext,
) -> None:
    business = await build(staff=1)
    service = await add_service(business, "colour", deposit_kind="fixed", deposit_value=150)
    async with api_client(open_context) as client:
        created = (
            await client.post(
                "/api/v1/bookings", json={"service": service, "start": START, "customer": CUSTOMER}
            )
        ).json()
        assert created["status"] == "pending" and created["hold_expires_at"] is not None
        path = "/api/v1/self/" + created["self_service_url"].rsplit("/manage/", 1)[1]
        cancelled = (await client.post(f"{path}/cancel")).json()
        assert cancelled["booking"]["status"] == "cancelled"
        assert cancelled["deposit"] == "unpaid"  # not "refund": no money was taken


@pytest.mark.parametrize(
    ("query", "field"),
    [("bookings/?from=9999-12-31", "from"), ("bookings/?from=2031-01-06&to=9999-12-31", "to"),
     ("bookings/?from=0001-01-01", "from"), ("bookings/waitlist?day=9999-12-31", "day")],
)  # fmt: skip
async def test_admin_day_queries_at_the_ends_of_the_calendar_name_the_field(
    open_context: AppContext, query: str, field: str
) -> None:
    await build(staff=1)
    async with api_client(open_context) as client:
        answer = await client.get(f"/api/v1/admin/{query}", headers=admin_headers(open_context.settings))
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == field
