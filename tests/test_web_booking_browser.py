"""The public booking flow in a real browser against a real demo server: in Turkish with JavaScript
(htmx swapping the steps in place), in English without JavaScript, and a time taken by another visitor
meanwhile (on a phone-sized screen), with axe-core finding no serious problem on any step."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser import chromium, demo_server, new_page, serious_violations, shots  # noqa: F401

PERSON = {"name": "Leyla Şen", "phone": "0532 444 55 66", "email": "leyla.sen@example.com"}
TOKEN_URL = re.compile(r".*/booking/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$")


def check(page: Any, camera: Any, step: str, axe: bool = True) -> None:
    """A screenshot, axe-core (it needs JavaScript; the no-JS run shows the same pages), no person in
    the URL."""
    camera.take(page, step)
    if axe:
        assert serious_violations(page) == [], step
    for value in PERSON.values():
        assert value not in page.url


def to_details(page: Any, camera: Any, service: str, anyone: str, axe: bool = False) -> None:
    """Click through service, staff, day and time."""
    page.get_by_role("link", name=re.compile(re.escape(service))).click()
    page.get_by_role("link", name=re.compile(re.escape(anyone))).click()
    expect(page.locator("ul.days")).to_be_visible()
    check(page, camera, "day", axe)
    page.locator("ul.days a").first.click()
    expect(page.locator("ul.slots")).to_be_visible()
    check(page, camera, "time", axe)
    page.locator("ul.slots a").first.click()
    expect(page.locator("#name")).to_be_visible()
    check(page, camera, "details", axe)


def token_of(page: Any) -> str:
    found = TOKEN_URL.match(page.url)
    assert found, page.url
    return found.group(1)


def booking_by_link(server: Any, token: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/api/v1/self/{token}", timeout=10)
    assert answer.status_code == 200
    booking: dict[str, Any] = answer.json()
    return booking


def test_book_in_turkish_with_javascript(chromium: Any, demo_server: Any, shots: Any) -> None:  # noqa: F811
    page = new_page(chromium, javascript=True, language="tr")
    page.goto(demo_server.url + "/")
    expect(page.get_by_role("heading", name="Hizmet seçin")).to_be_visible()
    check(page, shots, "services")
    page.evaluate("window.sameDocument = true")  # gone if any step reloads the whole page
    page.get_by_role("link", name=re.compile("Kadın Saç Kesimi")).click()
    expect(page.get_by_role("heading", level=1, name="Personel seçin")).to_be_visible()
    check(page, shots, "staff")
    page.get_by_role("link", name=re.compile("Fark etmez")).click()
    expect(page.locator("ul.days")).to_be_visible()
    check(page, shots, "day")
    page.locator("ul.days a").first.click()
    expect(page.locator("ul.slots")).to_be_visible()
    check(page, shots, "time")
    chosen = page.locator("ul.slots a").first.inner_text().strip()
    page.locator("ul.slots a").first.click()
    expect(page.locator("#name")).to_be_visible()
    expect(page.get_by_text("Veri sorumlusu sıfatıyla")).to_be_visible()
    expect(page.get_by_text("650,00 TL")).to_be_visible()
    check(page, shots, "details")
    page.fill("#name", PERSON["name"])
    page.fill("#phone", "12")
    page.check("#consent_sms")
    page.get_by_role("button", name="Randevuyu al").click()
    expect(page.locator("#phone-error")).to_have_text(re.compile("geçerli bir telefon numarası değil"))
    expect(page.locator("#name")).to_have_value(PERSON["name"])
    expect(page.locator("#consent_sms")).to_be_checked()
    check(page, shots, "refused phone")
    page.fill("#phone", PERSON["phone"])
    page.get_by_role("button", name="Randevuyu al").click()
    page.wait_for_url(TOKEN_URL)
    expect(page.get_by_role("heading", name="Randevunuz alındı")).to_be_visible()
    expect(page.get_by_text(chosen, exact=True)).to_be_visible()
    check(page, shots, "confirmation")
    assert page.evaluate("window.sameDocument === true"), "a step reloaded the page instead of swapping it"
    token = token_of(page)
    assert (
        page.get_by_role("link", name="Takvime ekle").get_attribute("href") == f"/manage/{token}/calendar.ics"
    )
    booking = booking_by_link(demo_server, token)
    assert booking["status"] == "confirmed" and booking["start"][11:16] == chosen
    page.context.close()


def test_book_in_english_without_javascript(chromium: Any, demo_server: Any, shots: Any) -> None:  # noqa: F811
    page = new_page(chromium, javascript=False, language="en")
    page.goto(demo_server.url + "/")
    expect(page.get_by_role("heading", name="Choose a service")).to_be_visible()
    to_details(page, shots, "Lazer Epilasyon", "Any available staff member", axe=False)
    expect(page.get_by_text("A deposit of 300.00 TL is due")).to_be_visible()
    page.fill("#name", PERSON["name"])
    page.fill("#phone", "12")
    page.fill("#email", PERSON["email"])
    page.get_by_role("button", name="Book the appointment").click()
    expect(page.locator("#phone-error")).to_have_text(re.compile("not a valid phone number"))
    expect(page.locator("#email")).to_have_value(PERSON["email"])
    check(page, shots, "refused phone", axe=False)
    page.fill("#phone", PERSON["phone"])
    page.get_by_role("button", name="Book the appointment").click()
    page.wait_for_url(TOKEN_URL)
    expect(page.get_by_role("heading", name="Your appointment is reserved")).to_be_visible()
    expect(page.get_by_text("Waiting for the deposit")).to_be_visible()
    check(page, shots, "confirmation", axe=False)
    booking = booking_by_link(demo_server, token_of(page))
    assert booking["status"] == "pending" and booking["deposit_due"] == "300.00"
    page.context.close()


def test_a_taken_time_offers_alternatives_on_a_phone(chromium: Any, demo_server: Any, shots: Any) -> None:  # noqa: F811
    first = new_page(chromium, javascript=True, language="tr", mobile=True)
    second = new_page(chromium, javascript=True, language="tr", mobile=True)
    for page in (first, second):
        page.goto(demo_server.url + "/")
        to_details(page, shots, "Cilt Bakımı", "Fark etmez", axe=page is first)
        page.fill("#name", PERSON["name"])
        page.fill("#email", PERSON["email"])
    assert (
        first.locator("input[name=start]").input_value() == second.locator("input[name=start]").input_value()
    )
    second.fill("#name", "Ali Demir")
    second.fill("#email", "ali.demir@example.com")
    second.get_by_role("button", name="Randevuyu al").click()
    second.wait_for_url(TOKEN_URL)
    first.get_by_role("button", name="Randevuyu al").click()
    expect(first.get_by_role("heading", name=re.compile("başka biri tarafından alındı"))).to_be_visible()
    check(first, shots, "taken")
    alternative = first.locator("ul.alternatives button").first
    wanted = alternative.inner_text().strip()
    alternative.click()
    first.wait_for_url(TOKEN_URL)
    expect(first.get_by_role("heading", name="Randevunuz alındı")).to_be_visible()
    check(first, shots, "booked the alternative")
    booking = booking_by_link(demo_server, token_of(first))
    assert booking["status"] == "confirmed" and wanted.endswith(booking["start"][11:16])
    for page in (first, second):
        page.context.close()
