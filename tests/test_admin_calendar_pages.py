"""The admin calendar, booking detail and phone booking pages, through HTTP as a signed-in browser
(session cookie + CSRF form field) on the demo business: what the pages list is compared with the
bookings in the database, and every change made through a form is checked in the database."""

from __future__ import annotations

import glob
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from core.access.accounts import create_account
from core.access.permissions import Role
from core.bookings.service import BookingService, NewBooking
from core.context import AppContext
from core.db.values import as_utc
from core.demo.loader import load_demo
from core.locale.catalogs import translations
from core.scheduling.availability import from_minutes
from core.scheduling.loader import load_service, location_zone
from core.web.csrf import CSRF_COOKIE
from tests.conftest import ROOT
from tests.test_access import PASSWORD, app_for, client_for, sign_in


@dataclass
class Demo:
    ctx: AppContext
    accounts: dict[str, int]  # username -> account id
    staff_id: int  # the staff member the `staff` account is linked to


@pytest.fixture
async def demo(open_context: AppContext) -> Demo:
    ctx = open_context
    await load_demo(ctx)
    staff_id = int(await ctx.db.fetchval("SELECT MIN(id) FROM staff"))
    accounts = {}
    for username, role in (("patron", Role.OWNER), ("resepsiyon", Role.RECEPTIONIST), ("usta", Role.STAFF)):
        account = await create_account(
            ctx, username, PASSWORD, role, username.title(), staff_id if role is Role.STAFF else None
        )
        accounts[username] = int(account.id)  # type: ignore[attr-defined]
    return Demo(ctx, accounts, staff_id)


@asynccontextmanager
async def browser(demo: Demo, username: str = "patron") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as `username` (the sign-in form, its session cookie and CSRF cookie)."""
    async with client_for(app_for(demo.ctx)) as client:
        assert (await sign_in(client, username, PASSWORD)).status_code == 303
        yield client


def form(client: httpx.AsyncClient, **fields: Any) -> dict[str, str]:
    """A form body as the page posts it: the fields and the CSRF token the cookie holds."""
    return {"_csrf_token": client.cookies.get(CSRF_COOKIE) or "", **{k: str(v) for k, v in fields.items()}}


async def bookings_between(ctx: AppContext, first: datetime, last: datetime) -> list[Any]:
    return list(
        await ctx.db.fetch(
            "SELECT id, status, start_at, staff, service FROM booking WHERE start_at >= ? AND start_at < ?"
            " ORDER BY start_at",
            first,
            last,
        )
    )


async def busiest_past_day(ctx: AppContext) -> Any:
    """A past local day whose bookings have the most different statuses (read, not assumed)."""
    zone = await location_zone(ctx.db, 1)
    rows = await ctx.db.fetch("SELECT start_at, status FROM booking WHERE start_at < ?", datetime.now(UTC))
    kinds: dict[Any, set[str]] = {}
    for r in rows:
        kinds.setdefault(as_utc(r["start_at"]).astimezone(zone).date(), set()).add(r["status"])
    return max(kinds, key=lambda d: (len(kinds[d]), d))


def day_window(day: Any, zone: Any, days: int = 1) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=days), time(0), tzinfo=zone).astimezone(UTC)


def shown_entries(html: str) -> dict[int, str]:
    """{booking id: its status class} of every booking a calendar page links to."""
    return {
        int(m.group(2)): m.group(1)
        for m in re.finditer(r'class="booking status-(\w+)" href="/admin/bookings/(\d+)"', html)
    }


async def free_start(ctx: AppContext, service_id: int, staff: int | None = None, skip: int = 0) -> datetime:
    """A free start of the service in the coming days, as the booking service computes it."""
    info = await load_service(ctx.db, service_id)
    zone = await location_zone(ctx.db, 1)
    today = datetime.now(zone).date()
    zone, slots = await BookingService(ctx).slots(
        info, 1, today + timedelta(days=1), today + timedelta(days=8), staff
    )
    return from_minutes(slots[skip].start).astimezone(zone)


async def service_named(ctx: AppContext, name: str) -> int:
    return int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", name))


# --------------------------------------------------------------------------------------------------
# Reading


async def test_anonymous_visitors_are_sent_to_the_sign_in(demo: Demo) -> None:
    async with client_for(app_for(demo.ctx)) as client:
        for path in (
            "/admin",
            "/admin/calendar?view=week&date=2030-01-07",
            "/admin/bookings/1",
            "/admin/bookings/new",
        ):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next={quote(path, safe='')}"


async def test_day_and_week_views_list_the_bookings_with_status_and_local_times(demo: Demo) -> None:
    ctx = demo.ctx
    zone = await location_zone(ctx.db, 1)
    day = await busiest_past_day(ctx)
    expected = await bookings_between(ctx, *day_window(day, zone))
    assert len({r["status"] for r in expected}) >= 2
    async with browser(demo) as client:
        page = await client.get(f"/admin/calendar?date={day.isoformat()}&lang=en")
        assert page.status_code == 200
        assert shown_entries(page.text) == {int(r["id"]): r["status"] for r in expected}
        for r in expected:
            local = as_utc(r["start_at"]).astimezone(zone)
            assert f'<time datetime="{local.isoformat()}">{local:%H:%M}</time>' in page.text
        for word in ("Completed", "Cancelled", "No-show"):
            if any(r["status"] == {"No-show": "no_show"}.get(word, word.lower()) for r in expected):
                assert f'<span class="state">{word}</span>' in page.text
        for name in [r["name"] for r in await ctx.db.fetch("SELECT name FROM staff")]:
            assert f">{name}</th>" in page.text  # one column per staff member

        week = await client.get(f"/admin/calendar?view=week&date={day.isoformat()}")
        assert week.status_code == 200
        monday = day - timedelta(days=day.weekday())
        in_week = await bookings_between(ctx, *day_window(monday, zone, 7))
        assert shown_entries(week.text) == {int(r["id"]): r["status"] for r in in_week}

        previous = re.search(r'href="([^"]+)">(Previous day|Önceki gün)</a>', page.text)
        assert previous and f"date={(day - timedelta(days=1)).isoformat()}" in previous.group(1).replace(
            "&amp;", "&"
        )

        bad = await client.get("/admin/calendar?date=31.12.2030&lang=en")
        assert bad.status_code == 422 and "Enter a date as YYYY-MM-DD" in bad.text
        assert 'aria-describedby="date-error"' in bad.text
        for edge in ("0001-01-01", "9999-12-31"):  # the day's UTC bounds would overflow
            far = await client.get(f"/admin/calendar?date={edge}&view=week&lang=en")
            assert far.status_code == 422 and "Enter a date as YYYY-MM-DD" in far.text


async def test_the_resource_view_has_a_column_per_room(demo: Demo) -> None:
    ctx = demo.ctx
    zone = await location_zone(ctx.db, 1)
    day = await busiest_past_day(ctx)
    expected = await bookings_between(ctx, *day_window(day, zone))
    rooms = [r["name"] for r in await ctx.db.fetch("SELECT name FROM resource ORDER BY id")]
    needing = {int(r["service"]) for r in await ctx.db.fetch("SELECT service FROM service_resource")}
    async with browser(demo) as client:
        page = await client.get(f"/admin/calendar?by=resource&date={day.isoformat()}&lang=en")
        assert page.status_code == 200
        head = page.text.split("<thead>")[1].split("</thead>")[0]
        assert [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>.*?</th>", head)][1:] == [
            *rooms,
            "No room or equipment",
        ]
        assert shown_entries(page.text) == {int(r["id"]): r["status"] for r in expected}
        body = page.text.split("<tbody>")[1]
        for r in expected:
            # The cell of a booking that needs a room is in that room's column (not the last one).
            row = next(tr for tr in body.split("<tr>") if f'/admin/bookings/{r["id"]}"' in tr)
            cells = row.split("<td")[1:]
            column = next(i for i, cell in enumerate(cells) if f'/admin/bookings/{r["id"]}"' in cell)
            assert (column < len(rooms)) == (int(r["service"]) in needing)


async def test_a_staff_account_sees_only_its_own_bookings(demo: Demo) -> None:
    ctx = demo.ctx
    zone = await location_zone(ctx.db, 1)
    day = await busiest_past_day(ctx)
    monday = day - timedelta(days=day.weekday())
    in_week = await bookings_between(ctx, *day_window(monday, zone, 7))
    own = {int(r["id"]): r["status"] for r in in_week if r["staff"] == demo.staff_id}
    other = next(int(r["id"]) for r in in_week if r["staff"] != demo.staff_id)
    async with browser(demo, "usta") as client:
        week = await client.get(f"/admin/calendar?view=week&date={day.isoformat()}")
        assert week.status_code == 200
        assert shown_entries(week.text) == own and own
        assert (await client.get(f"/admin/bookings/{next(iter(own))}")).status_code == 200
        assert (await client.get(f"/admin/bookings/{other}")).status_code == 404


# --------------------------------------------------------------------------------------------------
# Transitions through the forms


async def actor_of(ctx: AppContext, booking_id: int, action: str) -> tuple[str, str]:
    change = await ctx.db.fetchval(
        "SELECT actor FROM booking_change WHERE booking = ? AND action = ? ORDER BY id DESC LIMIT 1",
        booking_id,
        action,
    )
    audit = await ctx.db.fetch(
        "SELECT actor_kind, actor_id FROM ajanda_audit WHERE entity = 'booking' AND entity_id = ?"
        " AND action = ? ORDER BY seq DESC LIMIT 1",
        str(booking_id),
        action,
    )
    return str(change), f"{audit[0]['actor_kind']}:{audit[0]['actor_id']}"


async def test_each_transition_through_the_forms_is_made_by_the_signed_in_account(demo: Demo) -> None:
    ctx = demo.ctx
    service = BookingService(ctx)
    haircut = await service_named(ctx, "Erkek Saç Kesimi")
    customer = int(await ctx.db.fetchval("SELECT MIN(id) FROM customer"))
    held = await service.create(
        NewBooking(
            service_id=haircut, start=await free_start(ctx, haircut), customer_id=customer, hold_minutes=60
        )
    )
    # Confirmed bookings that have started: made three days ago for an hour ago and for yesterday.
    zone = await location_zone(ctx.db, 1)
    past = []
    for days_back in (1, 2):
        day = datetime.now(zone).date() - timedelta(days=days_back + 7)
        info = await load_service(ctx.db, haircut)
        as_of = datetime.combine(day - timedelta(days=3), time(9), tzinfo=zone)
        _, slots = await service.slots(info, 1, day, day, now=as_of)
        if not slots:  # a closed day (Sunday, a holiday): the day before
            day -= timedelta(days=1)
            _, slots = await service.slots(info, 1, day, day, now=as_of)
        past.append(
            await service.create(
                NewBooking(
                    service_id=haircut, start=from_minutes(slots[-1].start), customer_id=customer, as_of=as_of
                )
            )
        )
    me = f"user:{demo.accounts['resepsiyon']}:resepsiyon"
    async with browser(demo, "resepsiyon") as client:
        done = await client.post(f"/admin/bookings/{held.id}/confirm", data=form(client))
        assert (
            done.status_code == 303
            and done.headers["location"] == f"/admin/bookings/{held.id}?notice=confirm"
        )
        shown = await client.get(done.headers["location"] + "&lang=en")
        assert "The booking is confirmed." in shown.text and "status-confirmed" in shown.text
        assert await actor_of(ctx, held.id, "confirmed") == (me, me)

        new_start = await free_start(ctx, haircut, skip=3)
        moved = await client.post(
            f"/admin/bookings/{held.id}/reschedule",
            data=form(client, day=new_start.date().isoformat(), time=f"{new_start:%H:%M}", staff=""),
        )
        assert moved.status_code == 303, moved.text
        assert (
            as_utc(await ctx.db.fetchval("SELECT start_at FROM booking WHERE id = ?", held.id)) == new_start
        )
        assert (await actor_of(ctx, held.id, "rescheduled"))[0] == me
        history = await client.get(f"/admin/bookings/{held.id}?lang=en")
        assert "Moved" in history.text and f"{new_start:%H:%M}" in history.text

        # The free times of a day, as buttons carrying the start.
        listing = await client.get(f"/admin/bookings/{held.id}?day={new_start.date().isoformat()}")
        starts = re.findall(r'name="start" value="([^"]+)"', listing.text)
        assert starts
        by_slot = await client.post(
            f"/admin/bookings/{held.id}/reschedule", data=form(client, start=starts[0])
        )
        assert by_slot.status_code == 303
        assert as_utc(
            await ctx.db.fetchval("SELECT start_at FROM booking WHERE id = ?", held.id)
        ) == datetime.fromisoformat(starts[0])

        cancelled = await client.post(
            f"/admin/bookings/{held.id}/cancel", data=form(client, reason="Müşteri aradı")
        )
        assert cancelled.status_code == 303
        row = (
            await ctx.db.fetch(
                "SELECT status, cancel_reason, cancelled_by FROM booking WHERE id = ?", held.id
            )
        )[0]
        assert (row["status"], row["cancel_reason"], row["cancelled_by"]) == (
            "cancelled",
            "Müşteri aradı",
            me,
        )

        completed = await client.post(f"/admin/bookings/{past[0].id}/complete", data=form(client))
        assert completed.status_code == 303
        no_show = await client.post(f"/admin/bookings/{past[1].id}/no-show", data=form(client))
        assert no_show.status_code == 303
        statuses = {
            int(r["id"]): r["status"]
            for r in await ctx.db.fetch(
                "SELECT id, status FROM booking WHERE id IN (?, ?)", past[0].id, past[1].id
            )
        }
        assert statuses == {past[0].id: "completed", past[1].id: "no_show"}
        assert await actor_of(ctx, past[0].id, "completed") == (me, me)
        assert await actor_of(ctx, past[1].id, "no_show") == (me, me)


async def test_refused_transitions_show_the_reason(demo: Demo) -> None:
    ctx = demo.ctx
    cancelled = int(await ctx.db.fetchval("SELECT MIN(id) FROM booking WHERE status = 'cancelled'"))
    future = int(
        await ctx.db.fetchval(
            "SELECT MIN(id) FROM booking WHERE status = 'confirmed' AND start_at > ?", datetime.now(UTC)
        )
    )
    async with browser(demo) as client:
        refused = await client.post(f"/admin/bookings/{cancelled}/complete?lang=en", data=form(client))
        assert refused.status_code == 409
        assert (
            "Only a confirmed booking can be marked as completed; this booking is: Cancelled." in refused.text
        )
        assert 'role="alert"' in refused.text
        early = await client.post(f"/admin/bookings/{future}/no-show?lang=en", data=form(client))
        assert early.status_code == 409
        assert "A booking that has not started yet cannot be marked as a no-show." in early.text
        in_turkish = await client.post(f"/admin/bookings/{cancelled}/confirm?lang=tr", data=form(client))
        assert in_turkish.status_code == 409 and "bu randevunun durumu: İptal edildi" in in_turkish.text

        # A time outside the working hours: refused with nearby free times to pick from.
        start = as_utc(await ctx.db.fetchval("SELECT start_at FROM booking WHERE id = ?", future))
        zone = await location_zone(ctx.db, 1)
        night = await client.post(
            f"/admin/bookings/{future}/reschedule?lang=en",
            data=form(client, day=start.astimezone(zone).date().isoformat(), time="03:00"),
        )
        assert night.status_code == 409 and "This time is not free" in night.text
        assert re.search(r'name="start" value="[^"]+"', night.text)
        typo = await client.post(
            f"/admin/bookings/{future}/reschedule?lang=en", data=form(client, day="2030-02-31", time="25:00")
        )
        assert typo.status_code == 422
        assert "Enter a date as YYYY-MM-DD" in typo.text and "Enter a time as HH:MM" in typo.text
        assert 'value="25:00"' in typo.text  # what was entered stays
        long_reason = await client.post(
            f"/admin/bookings/{future}/cancel?lang=en", data=form(client, reason="x" * 600)
        )
        assert long_reason.status_code == 422 and "at most 500 characters" in long_reason.text
        assert (await ctx.db.fetchval("SELECT status FROM booking WHERE id = ?", future)) == "confirmed"
        assert (await client.get("/admin/bookings/987654")).status_code == 404


# --------------------------------------------------------------------------------------------------
# Phone bookings


async def step_values(ctx: AppContext, service_id: int, start: datetime) -> dict[str, str]:
    return {
        "location": "1",
        "service": str(service_id),
        "staff": "",
        "day": start.date().isoformat(),
        "start": start.isoformat(),
    }


async def test_a_phone_booking_for_a_customer_found_by_the_last_four_digits(demo: Demo) -> None:
    ctx = demo.ctx
    nails = await service_named(ctx, "Manikür")
    start = await free_start(ctx, nails)
    steps = await step_values(ctx, nails, start)
    async with browser(demo, "resepsiyon") as client:
        first = await client.get(
            "/admin/bookings/new", params={k: v for k, v in steps.items() if k != "start"}
        )
        assert first.status_code == 200
        assert f"start={quote(start.isoformat(), safe='')}" in first.text.replace(
            "&amp;", "&"
        )  # the slot link
        chosen = await client.get("/admin/bookings/new", params=steps)
        assert 'id="q"' in chosen.text
        found = await client.post("/admin/bookings/new/search", data=form(client, q="0004", **steps))
        assert found.status_code == 200
        ece = int(await ctx.db.fetchval("SELECT id FROM customer WHERE name = 'Ece Koç'"))
        assert f'name="customer_id" value="{ece}"' in found.text and "Ece Koç" in found.text
        assert "0004" not in str(found.url)  # the search words stay out of the address
        booked = await client.post(
            "/admin/bookings/new", data=form(client, customer_id=ece, hold="30", notes="Telefonla", **steps)
        )
        assert booked.status_code == 303
        booking_id = int(booked.headers["location"].split("/")[-1].split("?")[0])
        row = (
            await ctx.db.fetch(
                "SELECT customer, status, source, start_at, hold_expires_at FROM booking WHERE id = ?",
                booking_id,
            )
        )[0]
        assert (int(row["customer"]), row["status"], row["source"]) == (ece, "pending", "staff")
        assert as_utc(row["start_at"]) == start and row["hold_expires_at"] is not None
        detail = await client.get(booked.headers["location"] + "&lang=en")
        assert "The booking is made." in detail.text and f'href="/admin/customers/{ece}"' in detail.text
        assert "Telefonla" in detail.text
        day = await client.get(f"/admin/calendar?date={start.date().isoformat()}")
        assert shown_entries(day.text)[booking_id] == "pending"


async def test_a_phone_booking_for_a_new_customer_and_one_whose_phone_is_known(demo: Demo) -> None:
    ctx = demo.ctx
    beard = await service_named(ctx, "Sakal Tıraşı")
    steps = await step_values(ctx, beard, await free_start(ctx, beard))
    async with browser(demo) as client:
        new = await client.post(
            "/admin/bookings/new",
            data=form(client, name="Orhan Pamuk Test", phone="0555 123 45 67", language="en", **steps),
        )
        assert new.status_code == 303
        booking_id = int(new.headers["location"].split("/")[-1].split("?")[0])
        card = (
            await ctx.db.fetch(
                "SELECT c.name, c.language, c.source FROM booking b JOIN customer c ON c.id = b.customer"
                " WHERE b.id = ?",
                booking_id,
            )
        )[0]
        assert (card["name"], card["language"], card["source"]) == ("Orhan Pamuk Test", "en", "staff")

        selin = int(await ctx.db.fetchval("SELECT id FROM customer WHERE name = 'Selin Yıldız'"))
        cards = int(await ctx.db.fetchval("SELECT COUNT(*) FROM customer"))
        steps = await step_values(ctx, beard, await free_start(ctx, beard, skip=4))
        known = await client.post(
            "/admin/bookings/new", data=form(client, name="S. Yıldız", phone="0532 111 00 01", **steps)
        )
        assert known.status_code == 303 and known.headers["location"].endswith("notice=matched")
        booking_id = int(known.headers["location"].split("/")[-1].split("?")[0])
        assert int(await ctx.db.fetchval("SELECT customer FROM booking WHERE id = ?", booking_id)) == selin
        assert int(await ctx.db.fetchval("SELECT COUNT(*) FROM customer")) == cards
        shown = await client.get(known.headers["location"] + "&lang=en")
        assert "belongs to an existing customer" in shown.text

        # The same name with other contacts: the same-named cards are offered before a new card.
        steps = await step_values(ctx, beard, await free_start(ctx, beard, skip=8))
        same = await client.post(
            "/admin/bookings/new?lang=en",
            data=form(client, name="Selin Yıldız", phone="0533 999 88 77", **steps),
        )
        assert same.status_code == 200 and "Customers with the same name" in same.text
        assert f'value="{selin}"' in same.text and 'name="confirm_new"' in same.text
        assert int(await ctx.db.fetchval("SELECT COUNT(*) FROM customer")) == cards
        anyway = await client.post(
            "/admin/bookings/new",
            data=form(
                client, name="Selin Yıldız", phone="0533 999 88 77", confirm_new="1", customer_id="", **steps
            ),
        )
        assert anyway.status_code == 303
        assert int(await ctx.db.fetchval("SELECT COUNT(*) FROM customer")) == cards + 1


async def test_phone_booking_validation_names_the_field(demo: Demo) -> None:
    ctx = demo.ctx
    beard = await service_named(ctx, "Sakal Tıraşı")
    steps = await step_values(ctx, beard, await free_start(ctx, beard))
    before = int(await ctx.db.fetchval("SELECT COUNT(*) FROM booking"))
    async with browser(demo) as client:
        empty = await client.post(
            "/admin/bookings/new?lang=en", data=form(client, name="", phone="", **steps)
        )
        assert empty.status_code == 422
        assert "Enter the customer&#39;s name." in empty.text and 'id="name-error"' in empty.text
        assert 'aria-describedby="name-error"' in empty.text and 'role="alert"' in empty.text
        bad = await client.post(
            "/admin/bookings/new?lang=tr",
            data=form(client, name="Kemal Test", phone="12", hold="abc", **steps),
        )
        assert bad.status_code == 422
        assert "Geçerli bir telefon numarası girin" in bad.text and "Tutma süresini" in bad.text
        assert 'value="Kemal Test"' in bad.text  # what was entered stays
        no_time = await client.post(
            "/admin/bookings/new?lang=en",
            data=form(client, name="Kemal Test", phone="05551112233", service=beard),
        )
        assert no_time.status_code == 422 and "Choose a time." in no_time.text
        no_words = await client.post("/admin/bookings/new/search?lang=en", data=form(client, q=" ", **steps))
        assert no_words.status_code == 422 and 'aria-describedby="q-error q-hint"' in no_words.text
        # A staff member's time that another booking holds: refused, with free times nearby.
        taken = (
            await ctx.db.fetch(
                "SELECT start_at, staff, service FROM booking WHERE status = 'confirmed' AND start_at > ?"
                " ORDER BY start_at LIMIT 1",
                datetime.now(UTC) + timedelta(hours=2),
            )
        )[0]
        zone = await location_zone(ctx.db, 1)
        clash = {
            **steps,
            "start": as_utc(taken["start_at"]).astimezone(zone).isoformat(),
            "staff": str(taken["staff"]),
            "service": str(taken["service"]),
        }
        refused = await client.post(
            "/admin/bookings/new?lang=en", data=form(client, name="Kemal Test", phone="05551112233", **clash)
        )
        assert refused.status_code == 409, refused.text
        assert "This time was just taken" in refused.text and "Free times nearby" in refused.text
        assert 'role="alert"' in refused.text
    assert int(await ctx.db.fetchval("SELECT COUNT(*) FROM booking")) == before


# --------------------------------------------------------------------------------------------------
# Who may do what


async def test_forms_need_the_csrf_token_and_the_write_permission(demo: Demo) -> None:
    ctx = demo.ctx
    future = int(
        await ctx.db.fetchval(
            "SELECT MIN(id) FROM booking WHERE status = 'confirmed' AND start_at > ?", datetime.now(UTC)
        )
    )
    async with browser(demo, "resepsiyon") as client:
        forged = await client.post(f"/admin/bookings/{future}/cancel", data={"reason": "forged"})
        assert forged.status_code == 403
        assert (await client.get("/admin/bookings/new")).status_code == 200
    async with browser(demo, "usta") as client:
        own = int(
            await ctx.db.fetchval(
                "SELECT MIN(id) FROM booking WHERE staff = ? AND status = 'confirmed' AND start_at > ?",
                demo.staff_id,
                datetime.now(UTC),
            )
        )
        refused = await client.post(f"/admin/bookings/{own}/cancel?lang=en", data=form(client, reason="no"))
        assert refused.status_code == 403 and "You may not do this" in refused.text
        assert (await client.get("/admin/bookings/new")).status_code == 403
        detail = await client.get(f"/admin/bookings/{own}")
        assert detail.status_code == 200 and "/cancel" not in detail.text  # no forms it could not send
    assert (await ctx.db.fetchval("SELECT status FROM booking WHERE id = ?", future)) == "confirmed"


# --------------------------------------------------------------------------------------------------
# Wording


def test_every_text_of_these_pages_has_a_turkish_translation() -> None:
    from babel.messages.extract import extract_python
    from jinja2.ext import babel_extract

    ids: set[str] = set()
    templates = glob.glob(str(ROOT / "themes/default/templates/admin/booking*.html"))
    for path in [*templates, str(ROOT / "themes/default/templates/admin/calendar.html")]:
        with open(path, "rb") as handle:
            for _line, _func, message, _c in babel_extract(
                handle, ["_"], [], {"extensions": "jinja2.ext.i18n"}
            ):
                ids.add(message if isinstance(message, str) else message[0])
    for path in glob.glob(str(ROOT / "core/admin/calendar_*.py")) + glob.glob(
        str(ROOT / "core/admin/booking_*.py")
    ):
        with open(path, "rb") as handle:
            for _line, _func, message, _c in extract_python(handle, ["_"], [], {}):
                ids.add(message if isinstance(message, str) else message[0])
    turkish = translations("tr")
    missing = sorted(m for m in ids if turkish.gettext(m) == m and m not in ("API",))
    assert len(ids) > 100 and not missing, missing
