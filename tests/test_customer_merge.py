"""Duplicate cards: near matches flagged for review on every creation path, and merging that keeps the
whole history (bookings, waitlist, consent, figures, audit) on the card that stays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.bookings.service import BookingService, NewBooking
from core.bookings.waitlist import join
from core.config import Settings
from core.context import AppContext
from core.customers.card import figures
from core.customers.duplicates import email_reason, fold_name, name_index, phone_reason
from core.customers.merge import REFERENCES, merge_customers
from core.customers.service import create_card, email_index, match, new_customer, phone_index
from core.errors import Conflict, FieldError, NotFound
from tests.business import add_service, build
from tests.conftest import admin_headers, api_client
from tests.test_hooks import make_plugin

AYSE = {"name": "Ayşe Yılmaz", "phone": "0532 111 22 33", "email": "ayse@example.com"}


@pytest.fixture
async def hooked(make_settings: Callable[..., Settings], start_context: Any) -> tuple[AppContext, list[Any]]:
    """A started context with a plugin recording every `customer_merged` call."""
    merges: list[Any] = []
    plugin = make_plugin(
        "merge_listener",
        customer_merged=lambda customer, merged_ids: merges.append((customer, merged_ids)),
    )
    settings = make_settings(server={"rate_limit_per_minute": 0}, plugins={"enabled": ["merge_listener"]})
    ctx: AppContext = await start_context(settings, {"merge_listener": plugin})
    return ctx, merges


async def add(
    ctx: AppContext, name: str, phone: str | None = None, email: str | None = None, **more: Any
) -> int:
    person = new_customer(ctx, name, phone, email, "staff", None, "")
    customer_id, matched = await create_card(ctx, person, more.get("notes"), tuple(more.get("tags", ())))
    assert not matched
    return customer_id


def test_names_fold_the_turkish_way_and_contacts_look_alike() -> None:
    assert (
        fold_name("AYŞE  YILMAZ") == fold_name("Ayşe Yılmaz") == fold_name(" ayse yilmaz ") == "ayse yilmaz"
    )
    assert fold_name("İSMAİL IŞIK") == fold_name("ismail ışık") == "ismail isik"
    assert fold_name("Ayşe-Nur Çelik.") == "ayse nur celik"
    assert fold_name("Ayşe Yılmaz") != fold_name("Ayşe Yılmazer")
    assert phone_reason("+905321112233", "+905321112234") == "phone_one_digit"
    assert phone_reason("+905321112233", "+905321112323") == "phone_swapped_digits"
    assert phone_reason("+905321112233", "+905331112233") == "phone_one_digit"
    assert phone_reason("+905321112233", "+905441112233") == "phone_last_seven"
    assert phone_reason("+905321112233", "+905321113344") is None
    assert phone_reason("+905321112233", "+905321112233") is None
    assert email_reason("ayse@example.com", "ayse@gmail.com") == "email_local_part"
    assert email_reason("ayse@example.com", "ayse.y@example.com") is None


async def test_near_matches_are_flagged_on_staff_entry_and_the_booking_page(open_context: AppContext) -> None:
    ctx = open_context
    headers = admin_headers(ctx.settings)
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(ctx) as client:
        first = (await client.post("/api/v1/customers", json=AYSE, headers=headers)).json()["id"]
        # Staff entry: the same name in capitals, one digit off.
        typo = await client.post(
            "/api/v1/customers", json={"name": "AYŞE YILMAZ", "phone": "0532 111 22 34"}, headers=headers
        )
        assert typo.status_code == 201, typo.text
        second = typo.json()["id"]
        # A different name with a look-alike number, or the same name with an unrelated number: no flag.
        other = await client.post(
            "/api/v1/customers", json={"name": "Mehmet Demir", "phone": "0532 111 22 35"}, headers=headers
        )
        assert other.status_code == 201
        unrelated = await client.post(
            "/api/v1/customers", json={"name": "Ayse Yilmaz", "phone": "0555 987 65 43"}, headers=headers
        )
        assert unrelated.status_code == 201
        # An exact match is a returning customer, not a suspect.
        again = await client.post("/api/v1/customers", json=AYSE, headers=headers)
        assert again.status_code == 200 and again.json()["matched"]

        assert (await client.get("/api/v1/customers/reviews")).status_code == 401
        listed = await client.get("/api/v1/customers/reviews", headers=headers)
        assert listed.status_code == 200, listed.text
        reviews = listed.json()
        assert [(r["customer_a"]["id"], r["customer_b"]["id"], r["reasons"]) for r in reviews] == [
            (first, second, ["phone_one_digit"])
        ]
        assert reviews[0]["customer_b"]["name"] == "AYŞE YILMAZ" and reviews[0]["status"] == "open"

        # The booking page: two neighbouring digits swapped and the same mailbox at another provider.
        booked = await client.post(
            "/api/v1/bookings",
            json={
                "service": service,
                "start": "2031-01-06T09:00:00+03:00",
                "customer": {"name": "ayse yilmaz", "phone": "0532 111 23 23", "email": "ayse@gmail.com"},
            },
        )
        assert booked.status_code == 201, booked.text
        third = booked.json()["customer"]
        assert third not in (first, second)
        reviews = (await client.get("/api/v1/customers/reviews", headers=headers)).json()
        assert [(r["customer_a"]["id"], r["customer_b"]["id"], r["reasons"]) for r in reviews] == [
            (first, second, ["phone_one_digit"]),
            (first, third, ["phone_swapped_digits", "email_local_part"]),
        ]
        # The card shows its open flags; no contact value appears in them.
        card = (await client.get(f"/api/v1/customers/{first}", headers=headers)).json()
        assert [r["id"] for r in card["reviews"]] == [r["id"] for r in reviews]
        assert "2233" not in str(card["reviews"]) and "gmail" not in str(card["reviews"])

        dismissed = await client.post(
            f"/api/v1/customers/reviews/{reviews[0]['id']}/dismiss", headers=headers
        )
        assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
        twice = await client.post(f"/api/v1/customers/reviews/{reviews[0]['id']}/dismiss", headers=headers)
        assert twice.status_code == 409 and twice.json()["review_status"] == "dismissed"
        missing = await client.post("/api/v1/customers/reviews/99999/dismiss", headers=headers)
        assert missing.status_code == 404
        left = (await client.get("/api/v1/customers/reviews", headers=headers)).json()
        assert [r["id"] for r in left] == [reviews[1]["id"]]
    row = (
        await ctx.db.fetch(
            "SELECT resolved_by, resolved_at FROM customer_review WHERE id = ?", reviews[0]["id"]
        )
    )[0]
    assert row["resolved_by"].startswith("token:") and row["resolved_at"] is not None
    # A dismissed pair stays dismissed: the same look-alike again is matched by phone, not re-flagged.
    audit = await ctx.db.fetch("SELECT action FROM ajanda_audit WHERE entity = 'customer_review'")
    assert [r["action"] for r in audit] == ["dismissed"]


async def test_a_name_change_moves_the_name_index(open_context: AppContext) -> None:
    from core.customers.card import CardChanges, update_card

    ctx = open_context
    customer = await add(ctx, "Ali Veli", "0532 000 00 01")
    await update_card(ctx, customer, CardChanges(name="Ayşe Yılmaz"))
    stored = await ctx.db.fetchval("SELECT name_idx FROM customer WHERE id = ?", customer)
    assert stored == name_index(ctx.cipher, "AYSE YILMAZ")
    look_alike = await add(ctx, "Ayse Yilmaz", "0532 000 00 02")
    pairs = await ctx.db.fetch("SELECT customer_a, customer_b FROM customer_review")
    assert [(r["customer_a"], r["customer_b"]) for r in pairs] == [(customer, look_alike)]


async def test_merge_keeps_the_whole_history_on_the_card_that_stays(
    hooked: tuple[AppContext, list[Any]],
) -> None:
    ctx, merges = hooked
    headers = admin_headers(ctx.settings)
    business = await build(staff=1, hours=("00:00", "23:59"))
    service = await add_service(business, "cut", price=Decimal("400"))
    bookings = BookingService(ctx)
    keep = await add(ctx, "Ayşe Yılmaz", "0532 111 22 33", notes="likes tea", tags=("vip",))
    dup = await add(
        ctx, "AYSE YILMAZ", "0533 111 22 33", "ayse@example.com", notes="mornings", tags=("colour", "vip")
    )
    review = await ctx.db.fetchval(
        "SELECT id FROM customer_review WHERE customer_a = ? AND customer_b = ?", keep, dup
    )
    assert review is not None
    third = await add(ctx, "Ayse Yilmaz", "0544 111 22 33")  # flagged with both (same last seven digits)
    # A fixed time of day (09:00 UTC, 12:00 in Istanbul): an hour-long booking started at the
    # current hour would run past the 23:59 end of the working day late in the evening.
    now = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    made = {}
    for who, days_ago in ((keep, 30), (dup, 20), (dup, 10)):
        start = now - timedelta(days=days_ago)
        made[days_ago] = await bookings.create(
            NewBooking(service, start, customer_id=who, as_of=start - timedelta(days=1))
        )
        await bookings.complete(made[days_ago].id)
    upcoming = await bookings.create(NewBooking(service, now + timedelta(days=3), customer_id=dup))
    before_keep = await figures(ctx, keep)
    before_dup = await figures(ctx, dup)
    assert before_keep.visits == 1 and before_dup.visits == 2
    entry = await join(ctx, service, dup, date.today() + timedelta(days=5), "09:00", "12:00")
    async with ctx.db.transaction():
        await ctx.db.execute(
            "INSERT INTO customer_consent (customer, channel, granted, at, source, actor)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            dup, "sms", True, now, "web", "customer",
        )  # fmt: skip

    async with api_client(ctx) as client:
        refused = await client.post(
            f"/api/v1/customers/{keep}/merge", json={"merge": [keep]}, headers=headers
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "merge"
        unknown = await client.post(
            f"/api/v1/customers/{keep}/merge", json={"merge": [99999]}, headers=headers
        )
        assert unknown.status_code == 404
        assert (
            await client.post(f"/api/v1/customers/{keep}/merge", json={"merge": [dup]})
        ).status_code == 401
        assert merges == []

        merged = await client.post(f"/api/v1/customers/{keep}/merge", json={"merge": [dup]}, headers=headers)
        assert merged.status_code == 200, merged.text
        body = merged.json()
        # Empty fields filled from the duplicate, notes appended, tags joined; the phone stays.
        assert body["phone"] == "+905321112233" and body["email"] == "ayse@example.com"
        assert body["notes"] == "likes tea\n\nmornings" and body["tags"] == ["vip", "colour"]

        card = (await client.get(f"/api/v1/customers/{keep}", headers=headers)).json()
        assert sorted(b["id"] for b in card["bookings"]) == sorted(
            [*(b.id for b in made.values()), upcoming.id]
        )
        assert card["figures"]["visits"] == 3 and card["figures"]["total_spend"] == "1200.00"
        assert datetime.fromisoformat(card["figures"]["next_booking"]) == now + timedelta(days=3)
        assert card["figures"]["average_interval_days"] == 10.0
        merged_audit = [e for e in card["audit"] if e["action"] == "merged"]
        assert len(merged_audit) == 1 and merged_audit[0]["changes"]["merged"] == [dup]
        assert merged_audit[0]["changes"]["moved"] == {
            "booking": 3,
            "waitlist_entry": 1,
            "customer_consent": 1,
            "message": 0,
        }
        assert merged_audit[0]["changes"]["email"] == ["[redacted]", "[redacted]"]
        assert merged_audit[0]["changes"]["notes"] == ["[redacted]", "[redacted]"]
        assert merged_audit[0]["changes"]["tags"] == [["vip"], ["vip", "colour"]]
        assert "example.com" not in str(card["audit"]) and "mornings" not in str(card["audit"])
        old = (await client.get(f"/api/v1/customers/{dup}", headers=headers)).json()
        assert old["customer"]["merged_into"] == keep and old["bookings"] == []
        assert [e["changes"] for e in old["audit"] if e["action"] == "merged_into"] == [{"into": keep}]
        # The pair's flag is closed; the third card's flag against the duplicate now names the kept card.
        assert [(r["customer_a"]["id"], r["customer_b"]["id"]) for r in card["reviews"]] == [(keep, third)]
        open_pairs = (await client.get("/api/v1/customers/reviews", headers=headers)).json()
        assert [(r["customer_a"]["id"], r["customer_b"]["id"]) for r in open_pairs] == [(keep, third)]

        # The duplicate's number and address lead to the kept card: match, search and the booking page.
        assert await match(ctx, phone_index(ctx, "+905331112233"), None) == keep
        assert await match(ctx, None, email_index(ctx, "ayse@example.com")) == keep
        for q in ("0533 111 22 33", "ayse@example.com", "AYSE YILMAZ"):
            found = await client.get("/api/v1/customers", params={"q": q}, headers=headers)
            assert keep in [c["id"] for c in found.json()] and dup not in [c["id"] for c in found.json()], q
        booked = await client.post(
            "/api/v1/bookings",
            json={"service": service, "start": (now + timedelta(days=4)).isoformat(),
                  "customer": {"name": "Ayşe", "phone": "+90 533 111 22 33"}},
        )  # fmt: skip
        assert booked.status_code == 201, booked.text
        assert booked.json()["customer"] == keep

        # Merging again, or into the merged card, is refused and changes nothing.
        twice = await client.post(f"/api/v1/customers/{keep}/merge", json={"merge": [dup]}, headers=headers)
        assert twice.status_code == 409 and twice.json()["field"] == "merge"
        into_merged = await client.post(
            f"/api/v1/customers/{dup}/merge", json={"merge": [third]}, headers=headers
        )
        assert into_merged.status_code == 409 and into_merged.json()["customer"] == keep

    for table, column in REFERENCES:
        assert await ctx.db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", dup) == 0
    assert await ctx.db.fetchval("SELECT customer FROM waitlist_entry WHERE id = ?", entry) == keep
    assert await ctx.db.fetchval("SELECT customer FROM customer_consent") == keep
    assert await ctx.db.fetchval("SELECT status FROM customer_review WHERE id = ?", review) == "merged"
    assert await ctx.db.fetchval("SELECT name_idx FROM customer WHERE id = ?", dup) is None
    assert len(merges) == 1
    snapshot, merged_ids = merges[0]
    assert snapshot.id == keep and merged_ids == (dup,) and snapshot.email == "ayse@example.com"
    assert snapshot.tags == ("vip", "colour")


async def test_an_earlier_merge_is_flattened_into_the_new_kept_card(open_context: AppContext) -> None:
    ctx = open_context
    a = await add(ctx, "Can Yıldız", "0532 200 00 01")
    b = await add(ctx, "Can Yıldız", "0532 200 00 02")
    c = await add(ctx, "Can Yıldız", "0532 200 00 03")
    await merge_customers(ctx, b, [a])
    await merge_customers(ctx, c, [b])
    # One step from any merged card to the living one, which `match` relies on.
    assert await ctx.db.fetchval("SELECT merged_into FROM customer WHERE id = ?", a) == c
    assert await match(ctx, phone_index(ctx, "+905322000001"), None) == c
    with pytest.raises(FieldError, match="merge"):
        await merge_customers(ctx, c, [])
    with pytest.raises(NotFound):
        await merge_customers(ctx, 424242, [c])
    with pytest.raises(Conflict, match=f"customer {a} was already merged"):
        await merge_customers(ctx, c, [a])


async def test_concurrent_merges_of_the_same_cards_leave_one_consistent_state(
    open_context: AppContext,
) -> None:
    ctx = open_context
    business = await build(staff=1, hours=("00:00", "23:59"))
    service = await add_service(business, "cut")
    bookings = BookingService(ctx)
    # 09:00 Istanbul two days ahead: nine one-hour bookings fit the day whatever the time now.
    start = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=2)
    for round_ in range(3):
        ids = [await add(ctx, f"Round {round_}", f"0532 3{round_}0 00 0{i}") for i in range(3)]
        for customer in ids:
            await bookings.create(NewBooking(service, start, customer_id=customer))
            start += timedelta(hours=1)
        a, b, c = ids
        results = await asyncio.gather(
            merge_customers(ctx, a, [b]),
            merge_customers(ctx, b, [a]),
            merge_customers(ctx, a, [b, c]),
            merge_customers(ctx, c, [a]),
            return_exceptions=True,
        )
        for result in results:
            assert not isinstance(result, BaseException) or isinstance(result, Conflict), repr(result)
        assert any(not isinstance(r, BaseException) for r in results)
        marks = ", ".join("?" for _ in ids)
        rows = await ctx.db.fetch(f"SELECT id, merged_into FROM customer WHERE id IN ({marks})", *ids)
        living = [int(r["id"]) for r in rows if r["merged_into"] is None]
        assert len(living) >= 1
        for r in rows:
            # Every merged card points straight at a living card: no chain, no cycle.
            assert r["merged_into"] is None or int(r["merged_into"]) in living
        on = await ctx.db.fetch(f"SELECT customer FROM booking WHERE customer IN ({marks})", *ids)
        assert len(on) == 3 and all(int(r["customer"]) in living for r in on)
        merged_rows = await ctx.db.fetchval(
            f"SELECT COUNT(*) FROM ajanda_audit WHERE action = 'merged_into' AND entity_id IN ({marks})",
            *map(str, ids),
        )
        assert merged_rows == len(ids) - len(living)


async def test_the_migration_fills_the_name_index_of_existing_cards(open_context: AppContext) -> None:
    ctx = open_context
    customer = await add(ctx, "Zeynep Ayaz", "0532 400 00 01")
    async with ctx.db.transaction():
        await ctx.db.script(
            [
                "DROP TABLE customer_review",
                "DROP INDEX customer_name_idx",
                "ALTER TABLE customer DROP COLUMN name_idx",
                "DELETE FROM ajanda_migration WHERE name = 'm0012_customer_review'",
            ]
        )
    ran = await ctx.migrate()
    assert [m.name for m in ran] == ["m0012_customer_review"]
    stored = await ctx.db.fetchval("SELECT name_idx FROM customer WHERE id = ?", customer)
    assert stored == name_index(ctx.cipher, "ZEYNEP AYAZ")
