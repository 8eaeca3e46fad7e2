"""The customer's self-service page in a real browser against a real demo server: rescheduling with
JavaScript (htmx swapping the steps in place, a time taken meanwhile shown with the remaining ones)
and cancelling without JavaScript, in Turkish and in English, with axe-core finding no serious
problem on the booking, the day picker and the cancel page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

# The fixtures are imported by name and then asked for by the same name.
# ruff: noqa: F811
from tests.browser import chromium, demo_server, new_page, serious_violations, shots  # noqa: F401

WORDS = {
    "tr": {
        "title": "Randevunuz",
        "change": "Saati değiştir",
        "pick": "Yeni bir saat seçin",
        "moved": "Randevunuz taşındı",
        "taken": "az önce başkası aldı",
        "cancel": "Randevuyu iptal et",
        "sure": "Randevunuzu iptal etmek istiyor musunuz?",
        "reason": "Neden (isteğe bağlı)",
        "confirm": "Evet, randevuyu iptal et",
        "cancelled": "Randevunuz iptal edildi.",
    },
    "en": {
        "title": "Your appointment",
        "change": "Change the time",
        "pick": "Choose a new time",
        "moved": "Your appointment has been moved",
        "taken": "that time has just been taken",
        "cancel": "Cancel the appointment",
        "sure": "Cancel your appointment?",
        "reason": "Reason (optional)",
        "confirm": "Yes, cancel the appointment",
        "cancelled": "Your appointment has been cancelled.",
    },
}


def api(server: Any, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, f"{server.url}{path}", timeout=15, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json()


def book(server: Any, language: str, offset: int) -> dict[str, Any]:
    """A haircut booked through the JSON API like the booking page does, by a customer who reads
    `language`; `offset` keeps the bookings of the module apart (one day each)."""
    service = next(s for s in api(server, "GET", "/api/v1/services") if s["name"] == "Kadın Saç Kesimi")
    first = date.today() + timedelta(days=3 + offset * 2)
    found = api(
        server,
        "GET",
        f"/api/v1/availability?service={service['id']}&from={first}&to={first + timedelta(days=14)}",
    )["slots"]
    days: dict[str, list[dict[str, Any]]] = {}
    for slot in found:
        days.setdefault(slot["start"][:10], []).append(slot)
    slots = next(v for v in days.values() if len(v) >= 6)
    person = {
        "name": f"Tarayıcı {language} {offset}",
        "email": f"web{offset}@example.com",
        "language": language,
    }
    booked: dict[str, Any] = api(
        server,
        "POST",
        "/api/v1/bookings",
        json={"service": service["id"], "start": slots[2]["start"], "customer": person},
    )
    return booked


def by_link(server: Any, url: str) -> dict[str, Any]:
    found: dict[str, Any] = api(server, "GET", "/api/v1/self/" + url.rsplit("/", 1)[1])
    return found


def check(page: Any, pictures: Any, step: str, axe: bool) -> None:
    pictures.take(page, step)
    if axe:
        assert serious_violations(page) == [], step


@pytest.mark.parametrize("language", ["tr", "en"])
def test_reschedule_with_javascript(demo_server: Any, chromium: Any, shots: Any, language: str) -> None:
    words = WORDS[language]
    booking = book(demo_server, language, 0 if language == "tr" else 1)
    url = booking["self_service_url"]
    page = new_page(chromium, javascript=True, language="en" if language == "tr" else "tr")
    page.goto(url)
    expect(page.get_by_role("heading", level=1, name=words["title"])).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)  # the card's, not the browser's
    check(page, shots, "booking", axe=language == "tr")
    page.evaluate("window.sameDocument = true")  # gone if a step reloads the whole page
    page.get_by_role("link", name=words["change"]).click()
    expect(page.get_by_role("heading", level=1, name=words["pick"])).to_be_visible()
    page.locator("ul.days a[aria-current]").click()  # the booking's own day, through the picker
    expect(page.locator("ul.slots button").first).to_be_visible()
    check(page, shots, "day picker", axe=language == "tr")
    buttons = page.locator("ul.slots button")
    # Far apart: the first may overlap the booking's own time (free only for the booking itself).
    wanted, taken = buttons.first.get_attribute("value"), buttons.last.get_attribute("value")
    if language == "tr":
        # Someone else takes the first time while the page is open: 409, the remaining times shown.
        other = {"name": "Başka Müşteri", "email": "baska@example.com"}
        api(
            demo_server,
            "POST",
            "/api/v1/bookings",
            json={
                "service": booking["service"],
                "start": taken,
                "staff": booking["staff"],
                "customer": other,
            },
        )
        buttons.last.click()
        expect(page.get_by_text(words["taken"])).to_be_visible()
        expect(page.locator(f'ul.slots button[value="{taken}"]')).to_have_count(0)
        check(page, shots, "taken meanwhile", axe=False)
    page.locator(f'ul.slots button[value="{wanted}"]').click()
    expect(page.get_by_text(words["moved"])).to_be_visible()
    assert wanted is not None
    expect(page.locator("dl.facts")).to_contain_text(datetime.fromisoformat(wanted).strftime("%H:%M"))
    assert page.evaluate("window.sameDocument") is True
    check(page, shots, "moved", axe=False)
    assert by_link(demo_server, url)["start"] == wanted


@pytest.mark.parametrize("language", ["tr", "en"])
def test_cancel_without_javascript(demo_server: Any, chromium: Any, shots: Any, language: str) -> None:
    words = WORDS[language]
    url = book(demo_server, language, 2 if language == "tr" else 3)["self_service_url"]
    page = new_page(chromium, javascript=False, language=language)
    page.goto(url)
    expect(page.get_by_role("heading", level=1, name=words["title"])).to_be_visible()
    page.get_by_role("link", name=words["cancel"]).click()
    expect(page.get_by_role("heading", level=1, name=words["sure"])).to_be_visible()
    shots.take(page, "cancel")
    page.get_by_label(words["reason"]).fill("Planım değişti" if language == "tr" else "Plans changed")
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.get_by_text(words["cancelled"])).to_be_visible()
    assert re.search(r"/manage/[^/?]+\?done=cancelled$", page.url)
    shots.take(page, "cancelled")
    assert by_link(demo_server, url)["status"] == "cancelled"


def test_the_cancel_page_passes_axe(demo_server: Any, chromium: Any, shots: Any) -> None:
    """axe needs JavaScript: the cancel page as a JavaScript browser sees it, with a form error."""
    url = book(demo_server, "en", 4)["self_service_url"]
    page = new_page(chromium, javascript=True, language="en")
    page.goto(f"{url}/cancel")
    check(page, shots, "cancel", axe=True)
    page.get_by_label("Reason (optional)").evaluate("(box) => box.removeAttribute('maxlength')")
    page.get_by_label("Reason (optional)").fill("x" * 600)
    page.get_by_role("button", name="Yes, cancel the appointment").click()
    expect(page.locator("#reason-error")).to_be_visible()
    check(page, shots, "reason too long", axe=True)
    assert by_link(demo_server, url)["status"] == "confirmed"
