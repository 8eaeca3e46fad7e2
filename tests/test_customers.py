"""The customer card through the API: one card per person, search, edits, figures and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.bookings.service import BookingService, NewBooking
from core.context import AppContext
from tests.business import add_service, build
from tests.conftest import admin_headers, api_client

AYSE = {"name": "Ayşe Yılmaz", "phone": "0532 111 22 33", "email": "Ayse@Example.com"}


async def test_the_same_person_gets_one_card_on_every_path(open_context: AppContext) -> None:
    headers = admin_headers(open_context.settings)
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(open_context) as client:
        assert (await client.post("/api/v1/customers", json=AYSE)).status_code == 401
        created = await client.post("/api/v1/customers", json={**AYSE, "tags": ["VIP"]}, headers=headers)
        assert created.status_code == 201, created.text
        card = created.json()
        assert card["phone"] == "+905321112233" and card["email"] == "ayse@example.com"
        assert card["tags"] == ["vip"] and card["matched"] is False
        # The same phone written another way, or the same e-mail in capitals: the existing card.
        again = await client.post(
            "/api/v1/customers", json={"name": "A. Yılmaz", "phone": "+90 (532) 111-2233"}, headers=headers
        )
        assert again.status_code == 200 and again.json()["id"] == card["id"] and again.json()["matched"]
        by_mail = await client.post(
            "/api/v1/customers", json={"name": "Ayse", "email": "AYSE@example.COM "}, headers=headers
        )
        assert by_mail.status_code == 200 and by_mail.json()["id"] == card["id"]
        # The booking page finds the card too.
        booked = await client.post(
            "/api/v1/bookings",
            json={"service": service, "start": "2031-01-06T09:00:00+03:00", "customer": AYSE},
        )
        assert booked.status_code == 201 and booked.json()["customer"] == card["id"]
        bad = await client.post("/api/v1/customers", json={"name": "X", "phone": "12"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phone"
        nothing = await client.post("/api/v1/customers", json={"name": "X"}, headers=headers)
        assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "phone"
    assert await open_context.db.fetchval("SELECT COUNT(*) FROM customer") == 1


async def test_search_by_name_phone_last_four_email_and_tag(open_context: AppContext) -> None:
    headers = admin_headers(open_context.settings)
    people = [
        {**AYSE, "tags": ["vip", "colour"]},
        {"name": "Mehmet Demir", "phone": "0533 444 45 67", "tags": ["vip"]},
        {"name": "Zeynep Ayaz", "email": "zeynep@example.com"},
        {"name": "Can Yıldız", "phone": "0534 999 45 67"},
    ]
    async with api_client(open_context) as client:
        ids = []
        for person in people:
            response = await client.post("/api/v1/customers", json=person, headers=headers)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])

        async def found(**params: str) -> list[int]:
            response = await client.get("/api/v1/customers", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()]

        assert await found(q="ayşe") == [ids[0]]
        assert await found(q="Yılmaz") == [ids[0]]
        assert await found(q="mehmet dem") == [ids[1]]
        assert await found(q="0532 111 22 33") == [ids[0]]
        assert await found(q="+905321112233") == [ids[0]]
        assert sorted(await found(q="4567")) == sorted([ids[1], ids[3]])
        assert await found(q="ZEYNEP@example.com") == [ids[2]]
        assert sorted(await found(tag="VIP")) == sorted([ids[0], ids[1]])
        assert await found(tag="vip", q="4567") == [ids[1]]
        assert await found(q="100%_") == []
        assert len(await found()) == 4
        bad = await client.get("/api/v1/customers", params={"q": "not@mail"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "q"


async def test_edits_keep_one_card_per_person_and_are_audited(open_context: AppContext) -> None:
    headers = admin_headers(open_context.settings)
    async with api_client(open_context) as client:
        first = (await client.post("/api/v1/customers", json=AYSE, headers=headers)).json()
        other = (
            await client.post(
                "/api/v1/customers", json={"name": "Ali", "phone": "05339998877"}, headers=headers
            )
        ).json()
        taken = await client.patch(
            f"/api/v1/customers/{other['id']}", json={"phone": "0532 111 22 33"}, headers=headers
        )
        assert taken.status_code == 409 and taken.json()["customer"] == first["id"]
        assert taken.json()["field"] == "phone"
        invalid = await client.patch(f"/api/v1/customers/{other['id']}", json={"email": "x"}, headers=headers)
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "email"
        cleared = await client.patch(f"/api/v1/customers/{other['id']}", json={"phone": ""}, headers=headers)
        assert cleared.status_code == 422 and cleared.json()["errors"][0]["field"] == "phone"
        changed = await client.patch(
            f"/api/v1/customers/{other['id']}",
            json={"phone": "0533 000 11 22", "notes": "Allergic to ammonia", "preferred_channel": "whatsapp",
                  "tags": ["New", "new"]},
            headers=headers,
        )  # fmt: skip
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["phone"] == "+905330001122" and body["notes"] == "Allergic to ammonia"
        assert body["preferred_channel"] == "whatsapp" and body["tags"] == ["new"]
        # The old number is free again; the new one is found.
        found = await client.get("/api/v1/customers", params={"q": "1122"}, headers=headers)
        assert [c["id"] for c in found.json()] == [other["id"]]
        card = (await client.get(f"/api/v1/customers/{other['id']}", headers=headers)).json()
        updated = [e for e in card["audit"] if e["action"] == "updated"]
        assert len(updated) == 1
        # Personal values never enter the audit trail: only that they changed.
        assert updated[0]["changes"]["phone"] == ["[redacted]", "[redacted]"]
        assert updated[0]["changes"]["notes"] == ["[redacted]", "[redacted]"]
        assert updated[0]["changes"]["preferred_channel"] == [None, "whatsapp"]
        assert "0001122" not in str(card["audit"]) and "ammonia" not in str(card["audit"])
        missing = await client.get("/api/v1/customers/999999", headers=headers)
        assert missing.status_code == 404


async def test_figures_follow_the_bookings(open_context: AppContext) -> None:
    headers = admin_headers(open_context.settings)
    business = await build(staff=1, hours=("00:00", "23:59"))
    service = await add_service(business, "cut", price=Decimal("400"))
    bookings = BookingService(open_context)
    async with api_client(open_context) as client:
        customer = (await client.post("/api/v1/customers", json=AYSE, headers=headers)).json()["id"]
        # A fixed time of day (09:00 UTC, 12:00 in Istanbul): an hour-long booking started at the
        # current hour would run past the 23:59 end of the working day late in the evening.
        now = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
        made = []
        for days_ago in (70, 40, 10, 5, 3):
            start = now - timedelta(days=days_ago)
            made.append(
                await bookings.create(
                    NewBooking(service, start, customer_id=customer, as_of=start - timedelta(days=1))
                )
            )
        for booking in made[:3]:
            await bookings.complete(booking.id)
        await bookings.cancel(made[3].id, "ill")
        await bookings.no_show(made[4].id)
        upcoming = await bookings.create(NewBooking(service, now + timedelta(days=2), customer_id=customer))
        card = (await client.get(f"/api/v1/customers/{customer}", headers=headers)).json()
        figures = card["figures"]
        assert figures["visits"] == 3 and figures["cancellations"] == 1 and figures["no_shows"] == 1
        assert figures["total_spend"] == "1200.00" and figures["average_spend"] == "400.00"
        assert figures["average_interval_days"] == 30.0
        assert datetime.fromisoformat(figures["last_visit"]) == now - timedelta(days=10)
        assert datetime.fromisoformat(figures["next_booking"]) == now + timedelta(days=2)
        assert [b["id"] for b in card["bookings"]] == [upcoming.id, *[b.id for b in reversed(made)]]
        assert card["bookings"][2]["cancel_reason"] == "ill"
        # The figures move with the bookings: the upcoming one cancelled, one more visit completed.
        await bookings.cancel(upcoming.id, "moved away")
        after = (await client.get(f"/api/v1/customers/{customer}", headers=headers)).json()["figures"]
        assert after["next_booking"] is None and after["cancellations"] == 2


async def test_marketing_consent_is_a_ledger_per_channel(open_context: AppContext) -> None:
    ctx = open_context
    headers = admin_headers(ctx.settings)
    async with api_client(ctx) as client:
        made = await client.post(
            "/api/v1/customers", json={"name": "Nur Ak", "phone": "0532 765 43 21"}, headers=headers
        )
        card_id = made.json()["id"]
        empty = (await client.get(f"/api/v1/customers/{card_id}", headers=headers)).json()
        assert empty["consent"] == {}  # never asked: no consent
        yes = await client.put(
            f"/api/v1/customers/{card_id}/consent/sms", json={"granted": True}, headers=headers
        )
        assert yes.status_code == 200 and yes.json()["granted"] is True and yes.json()["source"] == "staff"
        await client.put(
            f"/api/v1/customers/{card_id}/consent/email",
            json={"granted": True, "source": "web"},
            headers=headers,
        )
        no = await client.put(
            f"/api/v1/customers/{card_id}/consent/sms", json={"granted": False}, headers=headers
        )
        assert no.status_code == 200
        card = (await client.get(f"/api/v1/customers/{card_id}", headers=headers)).json()
        assert {k: v["granted"] for k, v in card["consent"].items()} == {"sms": False, "email": True}
        assert card["consent"]["email"]["source"] == "web"
        assert [a["action"] for a in card["audit"]][-3:] == [
            "consent_granted",
            "consent_granted",
            "consent_withdrawn",
        ]
        bad = await client.put(
            f"/api/v1/customers/{card_id}/consent/fax", json={"granted": True}, headers=headers
        )
        assert bad.status_code in (400, 422) and "channel" in bad.text
        missing = await client.put(
            "/api/v1/customers/999999/consent/sms", json={"granted": True}, headers=headers
        )
        assert missing.status_code == 404
    ledger = await ctx.db.fetch(
        "SELECT channel, granted FROM customer_consent WHERE customer = ? ORDER BY id", card_id
    )
    assert [(r["channel"], bool(r["granted"])) for r in ledger] == [
        ("sms", True),
        ("email", True),
        ("sms", False),
    ]
