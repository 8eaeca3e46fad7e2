"""The customer's self-service page (/manage/<token>) against the demo salon: the booking in the
customer's language, the calendar file, rescheduling (free, taken, past the cut-off), cancelling with
the deposit policy, the waitlist, a waitlist offer, CSRF, and the links that point at the page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from core.bookings import waitlist
from core.bookings.links import self_service_token, self_service_url
from core.bookings.service import BookingService, NewBooking
from core.bookings.snapshot import BookingSnapshot
from core.context import AppContext
from core.customers.service import new_customer
from core.demo.loader import load_demo
from core.scheduling.availability import from_minutes
from core.scheduling.loader import load_service, location_zone
from core.web.csrf import CSRF_COOKIE
from tests.test_access import app_for, client_for

ISTANBUL = ZoneInfo("Europe/Istanbul")
SLOT_BUTTON = re.compile(r'name="start" value="([^"]+)"')


@pytest.fixture
async def salon(open_context: AppContext) -> AsyncIterator[AppContext]:
    await load_demo(open_context)
    yield open_context
    open_context.clock.release()


async def service_id(ctx: AppContext, name: str) -> int:
    return int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", name))


async def free_start(ctx: AppContext, service: int, after_days: int = 4) -> datetime:
    """A free start in the middle of the first later day with several free times (no holiday)."""
    info = await load_service(ctx.db, service)
    location = info.location_ids[0]
    today = datetime.now(UTC).astimezone(await location_zone(ctx.db, location)).date()
    for offset in range(after_days, after_days + 30):
        day = today + timedelta(days=offset)
        _, slots = await BookingService(ctx).slots(info, location, day, day)
        if len(slots) >= 4:
            return from_minutes(slots[len(slots) // 2].start)
    raise AssertionError("no free day in a month")


async def book(
    ctx: AppContext, name: str = "Kadın Saç Kesimi", language: str = "tr", after_days: int = 4
) -> BookingSnapshot:
    service = await service_id(ctx, name)
    person = new_customer(
        ctx, f"Deneme {language} {after_days}", None, f"kisi.{language}@example.com", "web", language
    )
    return await BookingService(ctx).create(
        NewBooking(service_id=service, start=await free_start(ctx, service, after_days), customer=person)
    )


def path_of(ctx: AppContext, booking: BookingSnapshot) -> str:
    return f"/manage/{self_service_token(ctx, booking)}"


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    """As the browser posts the page's form: with the CSRF token its cookie holds."""
    return await client.post(url, data={**data, "_csrf_token": client.cookies.get(CSRF_COOKIE) or ""})


def local(moment: datetime) -> datetime:
    return moment.astimezone(ISTANBUL)


# --------------------------------------------------------------------------------------------------


async def test_the_page_speaks_the_customers_language_unless_asked_otherwise(salon: AppContext) -> None:
    turkish = await book(salon, language="tr")
    english = await book(salon, language="en", after_days=5)
    app = app_for(salon)
    async with client_for(app) as client:
        page = await client.get(path_of(salon, turkish), headers={"Accept-Language": "en"})
        assert page.status_code == 200, page.text
        assert '<html lang="tr">' in page.text and "Randevunuz" in page.text
        assert "Kadın Saç Kesimi" in page.text and "650,00 TL" in page.text and "Onaylandı" in page.text
        assert local(turkish.start).strftime("%H:%M") in page.text
        assert "Moda Cad." in page.text  # the location's address
        staff = await salon.db.fetchval("SELECT name FROM staff WHERE id = ?", turkish.staff_id)
        assert staff in page.text
        assert "24 saat" in page.text  # the cancellation policy
        token = self_service_token(salon, turkish)
        for action in ("calendar.ics", "reschedule", "cancel"):
            assert f"/manage/{token}/{action}" in page.text
        switched = await client.get(f"{path_of(salon, turkish)}?lang=en")
        assert '<html lang="en">' in switched.text and "Your appointment" in switched.text
        assert "Confirmed" in switched.text
    async with client_for(app) as client:
        page = await client.get(path_of(salon, english), headers={"Accept-Language": "tr"})
        assert '<html lang="en">' in page.text and "Your appointment" in page.text
        assert "Change the time" in page.text


async def test_a_forged_or_expired_link_is_a_404_page_that_reveals_nothing(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    async with client_for(app_for(salon)) as client:
        for bad in (path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"), "/manage/nothing-here"):
            page = await client.get(bad)
            assert page.status_code == 404
            assert "geçersiz" in page.text and "Kadın Saç Kesimi" not in page.text
        days = salon.settings.bookings.link_valid_days_after
        salon.clock.set(booking.end + timedelta(days=days, hours=1))
        expired = await client.get(f"{path}?lang=en")
        assert expired.status_code == 404 and "invalid or has expired" in expired.text
        assert (await client.get(f"{path}/reschedule")).status_code == 404


async def test_the_calendar_file_is_the_bookings_invite(salon: AppContext) -> None:
    booking = await book(salon)
    async with client_for(app_for(salon)) as client:
        answer = await client.get(f"{path_of(salon, booking)}/calendar.ics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/calendar")
        assert 'attachment; filename="randevu.ics"' in answer.headers["content-disposition"]
        event = icalendar.Calendar.from_ical(answer.content).walk("VEVENT")[0]
        assert event.decoded("dtstart") == booking.start
        assert event.decoded("dtend") == booking.end
        assert "Kadın Saç Kesimi" in str(event["summary"])
        uid = str(event["uid"])
        assert uid.startswith(f"booking-{booking.id}@")
        later = booking.start + timedelta(days=1)
        moved = await BookingService(salon).reschedule(booking.id, later)
        again = icalendar.Calendar.from_ical(
            (await client.get(f"{path_of(salon, booking)}/calendar.ics")).content
        ).walk("VEVENT")[0]
        assert str(again["uid"]) == uid and again.decoded("dtstart") == moved.start


async def test_rescheduling_to_a_free_time_moves_the_booking_and_keeps_its_history(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    async with client_for(app_for(salon)) as client:
        day = local(booking.start).date() + timedelta(days=1)
        page = await client.get(f"{path}/reschedule?day={day.isoformat()}")
        assert page.status_code == 200, page.text
        assert "Yeni bir saat seçin" in page.text
        choices = SLOT_BUTTON.findall(page.text)
        assert choices, "no free time offered"
        chosen = datetime.fromisoformat(choices[0])
        assert chosen.date() == day and chosen.utcoffset() == timedelta(hours=3)
        moved = await post_form(client, f"{path}/reschedule", {"start": choices[0], "day": day.isoformat()})
        assert moved.status_code == 303 and moved.headers["location"] == f"{path}?done=rescheduled"
        after = await BookingService(salon).get(booking.id)
        assert after.start == chosen and after.status == "confirmed"
        history = await salon.db.fetch(
            "SELECT action, old_start FROM booking_change WHERE booking = ? ORDER BY id", booking.id
        )
        assert [r["action"] for r in history] == ["created", "rescheduled"]
        view = await client.get(moved.headers["location"])
        assert "Randevunuz taşındı" in view.text and chosen.strftime("%H:%M") in view.text


async def test_anyone_available_offers_the_times_of_every_qualified_member(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    day = local(booking.start).date().isoformat()
    async with client_for(app_for(salon)) as client:
        own = SLOT_BUTTON.findall((await client.get(f"{path}/reschedule?day={day}")).text)
        anyone = await client.get(f"{path}/reschedule?day={day}&staff=any")
        assert set(own) <= set(SLOT_BUTTON.findall(anyone.text))
        assert local(booking.start).isoformat() not in own  # not its own current time
        wrong = await client.get(f"{path}/reschedule?day=someday&staff=99999")
        assert wrong.status_code == 422
        assert "Gün:" in wrong.text and "Personel:" in wrong.text  # each message names its field


async def test_a_time_taken_meanwhile_is_a_409_with_the_remaining_times(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    day = local(booking.start).date() + timedelta(days=1)
    async with client_for(app_for(salon)) as client:
        choices = SLOT_BUTTON.findall((await client.get(f"{path}/reschedule?day={day}")).text)
        wanted = datetime.fromisoformat(choices[0])
        other = new_customer(salon, "Başka Biri", None, "baska@example.com", "web", "tr")
        service = booking.service_ids[0]
        await BookingService(salon).create(
            NewBooking(service_id=service, start=wanted, staff_id=booking.staff_id, customer=other)
        )
        refused = await post_form(client, f"{path}/reschedule", {"start": choices[0], "day": day.isoformat()})
        assert refused.status_code == 409
        assert "az önce başkası aldı" in refused.text
        remaining = SLOT_BUTTON.findall(refused.text)
        assert remaining and choices[0] not in remaining
        assert (await BookingService(salon).get(booking.id)).start == booking.start


async def test_after_the_cutoff_changes_are_refused_but_cancelling_is_not(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    salon.clock.set(booking.start - timedelta(hours=2))
    async with client_for(app_for(salon)) as client:
        view = await client.get(path)
        assert f"{path}/reschedule" not in view.text and "Bu bağlantıyla değişiklik" in view.text
        page = await client.get(f"{path}/reschedule?lang=en")
        assert page.status_code == 409
        assert "close 24 hours before the appointment" in page.text and "please call" in page.text
        start = (booking.start + timedelta(days=1)).astimezone(ISTANBUL).isoformat()
        posted = await post_form(client, f"{path}/reschedule", {"start": start})
        assert posted.status_code == 409
        assert (await BookingService(salon).get(booking.id)).start == booking.start
        assert (await client.get(f"{path}/cancel")).status_code == 200


async def staff_booking_with_deposit(ctx: AppContext, after_days: int) -> BookingSnapshot:
    """A laser session booked by staff, its 300 TL deposit taken at the desk (confirmed at once)."""
    service = await service_id(ctx, "Lazer Epilasyon")
    person = new_customer(
        ctx, f"Depozitolu {after_days}", None, f"depozito{after_days}@example.com", "staff", "en"
    )
    return await BookingService(ctx).create(
        NewBooking(service_id=service, start=await free_start(ctx, service, after_days), customer=person)
    )


async def test_cancelling_states_what_happens_to_the_deposit_before_and_after_the_cutoff(
    salon: AppContext,
) -> None:
    early = await staff_booking_with_deposit(salon, 4)
    late = await staff_booking_with_deposit(salon, 6)
    assert early.deposit_due == "300.00" and early.status == "confirmed"
    async with client_for(app_for(salon)) as client:
        page = await client.get(f"{path_of(salon, early)}/cancel")
        assert page.status_code == 200 and "Your deposit of 300.00 TL will be refunded." in page.text
        done = await post_form(client, f"{path_of(salon, early)}/cancel", {"reason": "  ill,  sorry "})
        assert done.status_code == 303
        cancelled = await salon.db.fetch("SELECT status, cancel_reason FROM booking WHERE id = ?", early.id)
        assert cancelled[0]["status"] == "cancelled" and cancelled[0]["cancel_reason"] == "ill, sorry"
        view = await client.get(done.headers["location"])
        assert "Your appointment has been cancelled." in view.text and "will be refunded" in view.text
        assert "Cancelled" in view.text and "/cancel" not in view.text

        salon.clock.set(late.start - timedelta(hours=3))
        page = await client.get(f"{path_of(salon, late)}/cancel")
        assert "less than 24 hours before your appointment" in page.text
        assert "the deposit of 300.00 TL is kept" in page.text
        done = await post_form(client, f"{path_of(salon, late)}/cancel", {"reason": ""})
        assert done.status_code == 303
        view = await client.get(done.headers["location"])
        assert "is kept" in view.text and "will be refunded" not in view.text
        reason = await salon.db.fetchval("SELECT cancel_reason FROM booking WHERE id = ?", late.id)
        assert reason == "cancelled by the customer"

        twice = await post_form(client, f"{path_of(salon, late)}/cancel", {"reason": ""})
        assert twice.status_code == 409 and "already been cancelled" in twice.text
        assert (await client.get(f"{path_of(salon, late)}/cancel")).status_code == 409


async def test_a_visit_that_took_place_cannot_be_changed_or_cancelled(salon: AppContext) -> None:
    row = (
        await salon.db.fetch(
            "SELECT id FROM booking WHERE status = 'completed' ORDER BY start_at DESC LIMIT 1"
        )
    )[0]
    visit = await BookingService(salon).get(int(row["id"]))
    path = path_of(salon, visit)
    async with client_for(app_for(salon)) as client:
        view = await client.get(f"{path}?lang=en")
        assert view.status_code == 200 and "Completed" in view.text and f"{path}/cancel" not in view.text
        for action in ("cancel", "reschedule", "waitlist", "calendar.ics"):
            refused = await client.get(f"{path}/{action}")
            assert refused.status_code == 409 and "already taken place" in refused.text, action
        posted = await post_form(client, f"{path}/cancel", {"reason": ""})
        assert posted.status_code == 409 and "already taken place" in posted.text
        assert (await BookingService(salon).get(visit.id)).status == "completed"


async def test_a_deposit_not_paid_yet_is_neither_kept_nor_refunded(salon: AppContext) -> None:
    service = await service_id(salon, "Lazer Epilasyon")
    person = new_customer(salon, "Kapora Bekleyen", None, "bekleyen@example.com", "web", "tr")
    held = await BookingService(salon).create(
        NewBooking(
            service_id=service, start=await free_start(salon, service), customer=person, hold_minutes=30
        )
    )
    assert held.status == "pending" and held.deposit_due == "300.00"
    path = path_of(salon, held)
    async with client_for(app_for(salon)) as client:
        view = await client.get(path)
        assert "Kapora bekleniyor" in view.text and "Bu teklifi kabul et" not in view.text
        page = await client.get(f"{path}/cancel")
        assert "kapora ödenmedi" in page.text and "iade edilecek" not in page.text
        done = await post_form(client, f"{path}/cancel", {"reason": ""})
        view = await client.get(done.headers["location"])
        assert "Randevunuz iptal edildi." in view.text and "kapora ödenmedi" in view.text


async def test_a_reason_too_long_keeps_the_form_with_the_message(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    async with client_for(app_for(salon)) as client:
        await client.get(f"{path}/cancel")
        refused = await post_form(client, f"{path}/cancel", {"reason": "çok uzun " * 80})
        assert refused.status_code == 422 and 'role="alert"' in refused.text
        assert "Neden:" in refused.text and "çok uzun çok uzun" in refused.text
        assert (await BookingService(salon).get(booking.id)).status == "confirmed"


async def test_joining_the_waitlist_checks_the_window(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    day = (local(booking.start).date() - timedelta(days=1)).isoformat()
    async with client_for(app_for(salon)) as client:
        form = await client.get(f"{path}/waitlist?lang=en")
        assert form.status_code == 200 and 'name="from"' in form.text
        for values, field, message in [
            ({"day": day, "from": "12:00", "to": "11:00"}, "to", "Latest time: must be later"),
            ({"day": day, "from": "9am", "to": "11:00"}, "from", "Earliest time: enter a time as HH:MM"),
            (
                {"day": "2020-01-01", "from": "09:00", "to": "11:00"},
                "day",
                "Day: choose today or a later day",
            ),
            ({"day": "tomorrow", "from": "09:00", "to": "11:00"}, "day", "Day: enter a date"),
        ]:
            refused = await post_form(client, f"{path}/waitlist", values)
            assert refused.status_code == 422, values
            assert message in refused.text and f'aria-describedby="{field}-error"' in refused.text
            assert f'value="{values["from"]}"' in refused.text  # what was entered is kept
        assert await salon.db.fetchval("SELECT COUNT(*) FROM waitlist_entry") == 0
        joined = await post_form(client, f"{path}/waitlist", {"day": day, "from": "10:00", "to": "12:30"})
        assert joined.status_code == 303 and joined.headers["location"] == f"{path}?done=waitlist"
        rows = await salon.db.fetch(
            "SELECT customer, service, day, window_start, window_end FROM waitlist_entry"
        )
        assert len(rows) == 1 and int(rows[0]["customer"]) == booking.customer_id
        assert int(rows[0]["service"]) == booking.service_ids[0]
        assert str(rows[0]["day"])[:10] == day and rows[0]["window_end"] == "12:30"
        view = await client.get(joined.headers["location"])
        assert "You are on the waitlist" in view.text and "10:00–12:30" in view.text


async def test_a_waitlist_offer_is_accepted_on_the_page(salon: AppContext) -> None:
    booking = await book(salon)
    zone = await location_zone(salon.db, booking.location_id)
    day: date = local(booking.start).date() + timedelta(days=1)
    async with salon.db.transaction():
        await waitlist.join(
            salon, booking.service_ids[0], int(booking.customer_id or 0), day, "09:00", "19:00"
        )
    assert await waitlist.offer_round(salon, booking.location_id, day)
    offer_id = int(await salon.db.fetchval("SELECT booking FROM waitlist_entry WHERE status = 'offered'"))
    offer = await BookingService(salon).get(offer_id)
    assert offer.status == "pending" and offer.start.astimezone(zone).date() == day
    async with client_for(app_for(salon)) as client:
        page = await client.get(path_of(salon, offer))
        assert "Bu teklifi kabul et" in page.text
        accepted = await post_form(client, f"{path_of(salon, offer)}/accept", {})
        assert accepted.status_code == 303
        assert (await BookingService(salon).get(offer_id)).status == "confirmed"
        assert "randevunuz onaylandı" in (await client.get(accepted.headers["location"])).text
        # Nothing to accept on an ordinary booking.
        await client.get(path_of(salon, booking))
        refused = await post_form(client, f"{path_of(salon, booking)}/accept", {})
        assert refused.status_code == 409


async def test_posts_without_the_csrf_token_are_refused(salon: AppContext) -> None:
    booking = await book(salon)
    path = path_of(salon, booking)
    async with client_for(app_for(salon)) as client:
        await client.get(f"{path}/cancel")
        refused = await client.post(f"{path}/cancel", data={"reason": "no token"})
        assert refused.status_code == 403
        forged = await client.post(f"{path}/cancel", data={"reason": "wrong", "_csrf_token": "forged"})
        assert forged.status_code == 403
        assert (await BookingService(salon).get(booking.id)).status == "confirmed"


async def test_the_self_service_link_in_messages_points_at_the_page(salon: AppContext) -> None:
    booking = await book(salon)
    url = self_service_url(salon, booking)
    base = salon.settings.server.base_url()
    assert url.startswith(f"{base}/manage/")
    async with client_for(app_for(salon)) as client:
        page = await client.get(url.removeprefix(base))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        # The JSON API still answers the same token.
        api = await client.get("/api/v1/self/" + url.rsplit("/", 1)[1])
        assert api.json()["id"] == booking.id
