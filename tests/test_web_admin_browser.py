"""The admin calendar and a phone booking in a real browser against a real demo server: signing in
through the form, booking for a caller found by the last four digits of their phone (with JavaScript,
htmx swapping each step), the calendar without JavaScript and on a phone, and axe on every page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser import chromium, demo_server, new_page, serious_violations, shots, sign_in  # noqa: F401

ZONE = ZoneInfo("Europe/Istanbul")  # the demo salon's
BOOKED: dict[str, Any] = {}  # what the first test booked, for the calendar tests after it


def booking_ids(page: Any) -> set[int]:
    hrefs = page.eval_on_selector_all("a.booking", "links => links.map(a => a.getAttribute('href'))")
    return {int(h.rsplit("/", 1)[-1]) for h in hrefs}


def test_a_phone_booking_end_to_end_with_javascript(chromium: Any, demo_server: Any, shots: Any) -> None:  # noqa: F811
    page = new_page(chromium, javascript=True, language="en")
    sign_in(page, demo_server)
    page.goto(f"{demo_server.url}/admin/bookings/new")
    assert serious_violations(page) == []
    shots.take(page, "new booking")
    manicure = page.locator("#service option", has_text="Manikür").get_attribute("value")
    page.select_option("#service", manicure)
    day = datetime.now(ZONE).date() + timedelta(days=1)
    page.fill("#day", day.isoformat())
    page.get_by_role("button", name="Show free times").click()
    page.wait_for_selector("#start")
    while page.locator(".slots a").count() == 0:  # a closed day: the page offers the next one
        page.get_by_role("link", name="Next day").click()
        page.wait_for_url(re.compile(r".*day=.*"))
    first = page.locator(".slots a").first
    chosen = first.inner_text().strip()
    first.click()
    page.wait_for_selector("#q")
    assert "/admin/bookings/new?" in page.url  # htmx pushed the step's address
    shots.take(page, "slot chosen")
    page.fill("#q", "0004")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("text=Customers found")
    assert "0004" not in page.url
    assert page.get_by_label(re.compile("Ece Koç")).is_checked()
    assert serious_violations(page) == []
    shots.take(page, "customer found")
    page.get_by_role("button", name="Book").click()
    page.wait_for_selector("text=The booking is made.")
    assert re.search(r"/admin/bookings/\d+", page.url)
    booking_id = int(re.search(r"/admin/bookings/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert page.locator("dl.facts").get_by_role("link", name="Ece Koç").is_visible()
    assert chosen in page.locator("dl.facts").inner_text()
    assert serious_violations(page) == []
    shots.take(page, "booked")

    page.get_by_role("link", name="Show this day in the calendar").click()
    page.wait_for_selector("table.cal")
    assert booking_id in booking_ids(page)
    entry = page.locator(f'a.booking[href="/admin/bookings/{booking_id}"]')
    assert "Ece Koç" in entry.inner_text() and "Confirmed" in entry.inner_text()
    assert serious_violations(page) == []
    shots.take(page, "on the calendar")
    BOOKED.update(id=booking_id, day=page.locator("#date").input_value())
    page.context.close()


def test_the_calendar_without_javascript_and_on_a_phone(chromium: Any, demo_server: Any, shots: Any) -> None:  # noqa: F811
    page = new_page(chromium, javascript=False, language="tr")
    sign_in(page, demo_server)
    page.goto(f"{demo_server.url}/admin")
    assert page.get_by_role("heading", name="Takvim").is_visible()
    shown = page.locator("#date").input_value()
    listed = page.request.get(f"{demo_server.url}/api/v1/admin/bookings/?from={shown}").json()
    assert booking_ids(page) == {b["id"] for b in listed}
    shots.take(page, "day")

    # Another day through the date form, then the week: plain GET forms and links.
    day = BOOKED.get("day") or (datetime.now(ZONE).date() + timedelta(days=1)).isoformat()
    page.fill("#date", day)
    page.get_by_role("button", name="Göster").click()
    page.wait_for_url(re.compile(rf".*date={day}.*"))
    listed = page.request.get(f"{demo_server.url}/api/v1/admin/bookings/?from={day}").json()
    assert booking_ids(page) == {b["id"] for b in listed}
    if BOOKED:
        assert BOOKED["id"] in booking_ids(page)
    page.get_by_role("link", name="Hafta", exact=True).click()
    page.wait_for_url(re.compile(r".*view=week.*"))
    monday = datetime.fromisoformat(day).date()
    monday -= timedelta(days=monday.weekday())
    listed = page.request.get(
        f"{demo_server.url}/api/v1/admin/bookings/?from={monday}&to={monday + timedelta(days=6)}"
    ).json()
    assert booking_ids(page) == {b["id"] for b in listed}
    week = page.url
    shots.take(page, "week")

    # A refused transition without JavaScript: the reason on the page, the booking unchanged.
    future = next(b for b in listed if b["status"] == "confirmed" and b["id"] != BOOKED.get("id"))
    detail = f"{demo_server.url}/admin/bookings/{future['id']}"
    page.goto(detail)
    page.fill("#time", "03:00")
    page.get_by_role("button", name="Taşı", exact=True).click()
    page.wait_for_selector("[role=alert]")
    assert "Bu saat dolu" in page.locator("[role=alert]").inner_text()
    shots.take(page, "refused move")
    page.context.close()

    # axe needs JavaScript: the same pages again in a phone's browser.
    phone = new_page(chromium, javascript=True, language="tr", mobile=True)
    sign_in(phone, demo_server)
    for address, step in ((f"{demo_server.url}/admin/calendar?date={day}", "phone day"), (week, "phone week"),
                          (detail, "phone booking")):  # fmt: skip
        phone.goto(address)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # stacked, not cut off
        assert serious_violations(phone) == [], step
        shots.take(phone, step)
    phone.context.close()
