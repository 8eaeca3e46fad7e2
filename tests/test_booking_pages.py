"""The public booking pages, server side: every step in both languages, the no-JavaScript POST flow to
a booking (status, customer, language, consents), every refusal re-rendering the form with the field
named and the values kept, a slot taken meanwhile answered with alternatives that book, CSRF, and no
personal data in any address."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from core.bookings.service import BookingService, NewBooking
from core.context import AppContext
from core.demo.loader import load_demo
from core.locale.formats import long_date, money
from tests.business import add_service, build
from tests.test_access import app_for, client_for

PERSON = {"name": "Leyla Şen", "phone": "0532 444 55 66", "email": "leyla.sen@example.com"}
LINK = re.compile(r'(?:href|action)="([^"]*)"')
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def client(ctx: AppContext, lang: str) -> httpx.AsyncClient:
    browser = client_for(app_for(ctx))
    browser.headers["accept-language"] = "tr-TR,tr;q=0.9" if lang == "tr" else "en-GB,en;q=0.9"
    return browser


def links(page: httpx.Response) -> list[str]:
    return [html.unescape(u) for u in LINK.findall(page.text)]


def assert_no_personal_data(*texts: str) -> None:
    for text in texts:
        for value in (*PERSON.values(), "leyla", "444", "example.com"):
            assert value.lower() not in text.lower(), f"{value!r} in {text!r}"


async def service_id(ctx: AppContext, name: str) -> int:
    return int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", name))


async def walk(browser: httpx.AsyncClient, service: str, staff: str = "any") -> list[httpx.Response]:
    """From the start page to the details form by following the links a visitor would click."""
    pages = [await browser.get("/")]
    found = re.search(rf'<a href="([^"]+)">\s*<strong>{re.escape(service)}</strong>', pages[-1].text)
    assert found, service
    pages.append(await browser.get(html.unescape(found.group(1))))
    member = re.search(rf'<a href="([^"]+staff={staff})">', pages[-1].text)
    assert member
    pages.append(await browser.get(html.unescape(member.group(1))))
    day = re.search(r'<li><a href="([^"]+day=[0-9-]+)">', pages[-1].text)
    assert day, "no day with free times"
    pages.append(await browser.get(html.unescape(day.group(1))))
    slot = re.search(r'<li><a href="([^"]+start=[^"]+)">', pages[-1].text)
    assert slot
    pages.append(await browser.get(html.unescape(slot.group(1))))
    for page in pages:
        assert page.status_code == 200, page.text
        assert_no_personal_data(*links(page))
    return pages


def form_of(details: httpx.Response, **person: str) -> dict[str, str]:
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(details.text)}
    return {**fields, **person}


async def count_bookings(ctx: AppContext) -> int:
    return int(await ctx.db.fetchval("SELECT COUNT(*) FROM booking"))


async def test_every_step_renders_in_both_languages(open_context: AppContext) -> None:
    ctx = open_context
    await load_demo(ctx)
    words = {
        "tr": ["Hizmet seçin", "Personel seçin", "Gün seçin", "Saat seçin", "Bilgileriniz"],
        "en": ["Choose a service", "Choose a staff member", "Choose a day", "Choose a time", "Your details"],
    }
    zone = ZoneInfo("Europe/Istanbul")
    for lang in ("tr", "en"):
        async with client(ctx, lang) as browser:
            pages = await walk(browser, "Saç Boyama")
            for page, expected in zip(pages, words[lang], strict=True):
                assert expected in page.text
            assert f'<html lang="{lang}">' in pages[0].text
            today = datetime.now(UTC).astimezone(zone).date()
            days = [long_date(today + timedelta(days=n), lang) for n in range(14)]
            assert sum(day in pages[2].text for day in days) == 14  # the whole window, free or not
            assert ("Boş saat yok" if lang == "tr" else "No free times") in pages[2].text  # Sundays
            details = pages[-1].text
            assert money("1800", "TRY", lang) in details and money("360", "TRY", lang) in details
            assert ("24 saat öncesine" if lang == "tr" else "until 24 hours before") in details
            assert ("Veri sorumlusu" if lang == "tr" else "as the data controller") in details
            assert ctx.settings.business.name in details
            for channel in ("sms", "whatsapp", "email"):
                assert f'name="consent_{channel}" value="yes">' in details  # never pre-ticked
            assert 'name="_csrf_token"' in details
            one = await browser.get("/book/1")
            assert one.status_code == 200 and "Manikür" in one.text
            assert (await browser.get("/book/987")).status_code == 404


async def test_the_no_javascript_flow_books_with_language_consents_and_a_deposit(
    open_context: AppContext,
) -> None:
    ctx = open_context
    await load_demo(ctx)
    before = await count_bookings(ctx)
    async with client(ctx, "en") as browser:
        pages = await walk(browser, "Lazer Epilasyon")
        form = form_of(pages[-1], **PERSON, notes="First visit", consent_sms="yes", consent_email="yes")
        done = await browser.post("/", data=form)
        assert done.status_code == 303, done.text
        target = done.headers["location"]
        assert re.fullmatch(r"/booking/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", target)
        assert_no_personal_data(target)
        token = target.rsplit("/", 1)[1]
        shown = await browser.get(target)
        assert shown.status_code == 200
        for text in (
            "Your appointment is reserved",
            "Lazer Epilasyon",
            "Waiting for the deposit",
            "300.00 TL",
            "Caferağa Mah.",
            "Zeynep Arslan",
            f"/manage/{token}/calendar.ics",
            f'"/manage/{token}"',
        ):
            assert text in shown.text, text
        assert_no_personal_data(*links(shown))
        reload = await browser.get(target)
        assert reload.status_code == 200
    assert await count_bookings(ctx) == before + 1  # a reload never books again
    row = (await ctx.db.fetch("SELECT * FROM booking ORDER BY id DESC LIMIT 1"))[0]
    assert row["status"] == "pending" and row["source"] == "web" and row["hold_expires_at"] is not None
    local = row["start_at"].astimezone(ZoneInfo("Europe/Istanbul"))
    assert local.isoformat() == form["start"]
    customer = (await ctx.db.fetch("SELECT language FROM customer WHERE id = ?", row["customer"]))[0]
    assert customer["language"] == "en"
    consents = await ctx.db.fetch(
        "SELECT channel, granted, source FROM customer_consent WHERE customer = ? ORDER BY channel",
        row["customer"],
    )
    assert [(c["channel"], bool(c["granted"]), c["source"]) for c in consents] == [
        ("email", True, "web"),
        ("sms", True, "web"),
    ]
    notes = ctx.cipher.decrypt(
        await ctx.db.fetchval("SELECT notes_enc FROM booking WHERE id = ?", row["id"]), "booking.notes"
    )
    assert notes == "First visit"


async def test_unticked_consents_record_nothing_and_turkish_is_kept(open_context: AppContext) -> None:
    ctx = open_context
    await load_demo(ctx)
    async with client(ctx, "tr") as browser:
        pages = await walk(browser, "Erkek Saç Kesimi")
        done = await browser.post("/", data=form_of(pages[-1], **PERSON))
        assert done.status_code == 303
        shown = await browser.get(done.headers["location"])
        assert "Randevunuz alındı" in shown.text and "Onaylandı" in shown.text
        assert "Kapora" not in shown.text
    row = (await ctx.db.fetch("SELECT status, customer FROM booking ORDER BY id DESC LIMIT 1"))[0]
    assert row["status"] == "confirmed"
    assert await ctx.db.fetchval("SELECT language FROM customer WHERE id = ?", row["customer"]) == "tr"
    assert (
        await ctx.db.fetchval("SELECT COUNT(*) FROM customer_consent WHERE customer = ?", row["customer"])
        == 0
    )


async def test_pressing_book_twice_shows_the_same_booking_instead_of_a_second_one(
    open_context: AppContext,
) -> None:
    ctx = open_context
    await load_demo(ctx)
    before = await count_bookings(ctx)
    async with client(ctx, "tr") as browser:
        pages = await walk(browser, "Erkek Saç Kesimi")  # "any" staff: a second press could pick another
        form = form_of(pages[-1], **PERSON)
        first = await browser.post("/", data=form)
        second = await browser.post("/", data=form)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
    assert await count_bookings(ctx) == before + 1


async def test_two_presses_at_the_same_moment_make_one_booking(open_context: AppContext) -> None:
    """Both presses pass the "booked already?" look before either commits; the form's key, stored
    under a unique index, makes the second wait for the first and show its booking."""
    ctx = open_context
    shop = await build(staff=2)  # both free at every time: "any" lets the second press take the other
    await add_service(shop, "Kesim")
    async with client(ctx, "tr") as browser:
        pages = await walk(browser, "Kesim")
        form = form_of(pages[-1], **PERSON)
        assert len(form["attempt"]) >= 16
        first, second = await asyncio.gather(browser.post("/", data=form), browser.post("/", data=form))
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        assert await count_bookings(ctx) == 1
        # A fresh details page is a new request: the same person may book another time deliberately.
        again = await walk(browser, "Kesim")
        assert form_of(again[-1])["attempt"] != form["attempt"]


async def test_every_refusal_names_the_field_and_keeps_the_values(open_context: AppContext) -> None:
    ctx = open_context
    await load_demo(ctx)
    async with client(ctx, "tr") as browser:
        details = (await walk(browser, "Kadın Saç Kesimi"))[-1]
        before = await count_bookings(ctx)
        cases: list[tuple[dict[str, str], str, str]] = [
            ({"name": "  "}, "name", "Lütfen adınızı yazın."),
            ({"name": "x" * 201}, "name", "en fazla 200 karakter"),
            ({"phone": "12"}, "phone", "geçerli bir telefon numarası değil"),
            ({"email": "leyla-at-example"}, "email", "geçerli bir e-posta adresi değil"),
            ({"phone": "", "email": ""}, "phone", "telefon numarası veya e-posta adresi"),
            ({"notes": "n" * 2001}, "notes", "en fazla 2000 karakter"),
        ]
        for change, field, message in cases:
            form = form_of(details, **PERSON, notes="Kısa not", consent_whatsapp="yes") | change
            answer = await browser.post("/", data=form)
            assert answer.status_code == 422, (change, answer.text[:500])
            assert f'id="{field}-error"' in answer.text and message in answer.text, change
            assert f'href="#{field}"' in answer.text and 'role="alert"' in answer.text
            assert (
                f'aria-describedby="{field}-error"' in answer.text or f'-hint {field}-error"' in answer.text
            )
            for key in ("name", "phone", "email", "notes"):
                if key not in change and form[key]:
                    assert f">{form[key]}<" in answer.text or f'value="{form[key]}"' in answer.text, key
            assert 'id="consent_whatsapp" name="consent_whatsapp" value="yes" checked' in answer.text
            assert 'id="consent_sms" name="consent_sms" value="yes">' in answer.text

        good = form_of(details, **PERSON)
        refusals: list[tuple[dict[str, str], str]] = [
            ({"service": "987654"}, "service"),
            ({"service": "abc"}, "service"),
            ({"staff": "987654"}, "staff"),
            ({"staff": "3"}, "staff"),  # a real staff member without the skill
            ({"day": "2099-01-01"}, "day"),
            ({"start": good["start"][:11] + "03:17:00+03:00"}, "start"),
            ({"start": "not a time"}, "start"),
        ]
        for change, field in refusals:
            answer = await browser.post("/", data=good | change)
            assert answer.status_code == 422, (change, answer.text[:300])
            assert f'href="#{field}"' in answer.text and f'id="{field}"' in answer.text, change
        deactivated = await service_id(ctx, "Manikür")
        await ctx.db.execute("UPDATE service SET active = ? WHERE id = ?", False, deactivated)
        answer = await browser.post("/", data=good | {"service": str(deactivated)})
        assert answer.status_code == 422 and 'href="#service"' in answer.text
        for query, field in [
            ("?service=987654", "service"),
            (f"?service={deactivated}", "service"),
            ("?service=1&staff=987654", "staff"),
            ("?service=1&staff=any&day=2099-01-01", "day"),
            ("?service=1&staff=any&day=yesterday", "day"),
            (f"?service=1&staff=any&day={good['day']}&start=2099-01-01T10:00:00%2B03:00", "start"),
            ("?service=1&location=987654", "location"),
        ]:
            answer = await browser.get(f"/{query}")
            assert answer.status_code == 422 and f'href="#{field}"' in answer.text, query
        assert (await browser.get("/booking/not-a-token")).status_code == 404
    assert await count_bookings(ctx) == before


async def test_a_taken_slot_offers_alternatives_that_book(open_context: AppContext) -> None:
    ctx = open_context
    await load_demo(ctx)
    async with client(ctx, "en") as browser:
        details = (await walk(browser, "Lazer Epilasyon"))[-1]  # one staff member offers it
        form = form_of(details, **PERSON, consent_email="yes")
        other = await ctx.db.fetchval("SELECT MIN(id) FROM customer")
        await BookingService(ctx).create(
            NewBooking(
                service_id=int(form["service"]),
                start=datetime.fromisoformat(form["start"]),
                customer_id=int(other),
                source="web",
            )
        )
        taken = await browser.post("/", data=form)
        assert taken.status_code == 409, taken.text[:500]
        assert "booked by someone else" in taken.text and 'role="alert"' in taken.text
        choices = re.findall(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', taken.text, re.S)
        assert choices, "no alternatives offered"
        assert all(action == "/" for action, _ in choices)
        chosen: dict[str, Any] = {n: html.unescape(v) for n, v in HIDDEN.findall(choices[0][1])}
        assert chosen["name"] == PERSON["name"] and chosen["start"] != form["start"]
        assert chosen.get("consent_email") == "yes" and "consent_sms" not in chosen
        booked = await browser.post("/", data=chosen)
        assert booked.status_code == 303, booked.text[:500]
        assert_no_personal_data(booked.headers["location"])
    row = (await ctx.db.fetch("SELECT start_at, customer FROM booking ORDER BY id DESC LIMIT 1"))[0]
    assert row["start_at"].astimezone(ZoneInfo("Europe/Istanbul")).isoformat() == chosen["start"]
    consents = await ctx.db.fetch("SELECT channel FROM customer_consent WHERE customer = ?", row["customer"])
    assert [c["channel"] for c in consents] == ["email"]


async def test_a_post_without_the_csrf_token_is_refused(open_context: AppContext) -> None:
    ctx = open_context
    await load_demo(ctx)
    before = await count_bookings(ctx)
    async with client(ctx, "en") as browser:
        details = (await walk(browser, "Manikür"))[-1]
        form = form_of(details, **PERSON)
        del form["_csrf_token"]
        refused = await browser.post("/", data=form)
        assert refused.status_code == 403
    async with client(ctx, "en") as stranger:  # no cookie at all, a forged token
        refused = await stranger.post("/", data=form | {"_csrf_token": "forged"})
        assert refused.status_code == 403
    assert await count_bookings(ctx) == before
