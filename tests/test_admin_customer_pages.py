"""The admin customer pages against the demo business: search by POST, the card with its history,
figures and messages, edits through the form (valid, invalid, a phone of another card), the consent
ledger, and a staff account's scoped, read-only view."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from core.access.accounts import create_account
from core.access.permissions import Role
from core.config import Settings
from core.context import AppContext
from core.customers.card import figures, load_card
from core.demo.loader import load_demo
from core.notifications.log import list_messages
from tests.messaging import Listener, listener  # noqa: F401
from tests.test_access import PASSWORD, app_for, client_for, sign_in
from tests.test_messages import drain


@contextlib.asynccontextmanager
async def _client(ctx: AppContext, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app_for(ctx)) as client:
        assert (await sign_in(client, username, PASSWORD)).status_code == 303
        yield client


@pytest.fixture
async def demo(
    make_settings: Callable[..., Settings],
    start_context: Any,
    listener: Listener,  # noqa: F811
) -> AsyncIterator[AppContext]:
    """The demo business with a message channel to a local listener; the messages due now (the
    confirmations) are sent, so the cards have a message log."""
    channel = {"name": "posta", "medium": "email", "url": listener.url("mail"), "kinds": ["*"]}
    ctx: AppContext = await start_context(
        make_settings(
            server={"rate_limit_per_minute": 0},
            plugins={"enabled": ["notify_apprise"]},
            plugin={"notify_apprise": {"channels": [channel]}},
        )
    )
    await load_demo(ctx)
    await drain(ctx)
    await create_account(ctx, "patron", PASSWORD, Role.OWNER, "Patron")
    yield ctx


async def _form(client: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    page = await client.get(url)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return await client.post(url, data={**fields, "_csrf_token": token.group(1)})


async def _busiest(ctx: AppContext) -> int:
    """The demo customer with the most bookings (the richest card)."""
    return int(
        await ctx.db.fetchval(
            "SELECT customer FROM booking WHERE customer IS NOT NULL"
            " GROUP BY customer ORDER BY COUNT(*) DESC, customer LIMIT 1"
        )
    )


async def test_the_list_pages_newest_first_and_search_finds_by_last_four_digits(demo: AppContext) -> None:
    ctx = demo
    newest = await ctx.db.fetchval(
        "SELECT name FROM customer WHERE merged_into IS NULL ORDER BY created_at DESC, id DESC LIMIT 1"
    )
    with_phone = [
        c
        for c in [await load_card(ctx, int(r["id"])) for r in await ctx.db.fetch("SELECT id FROM customer")]
        if c.phone
    ]
    target = with_phone[len(with_phone) // 2]
    async with _client(ctx, "patron") as client:
        listing = await client.get("/admin/customers")
        assert listing.status_code == 200
        assert newest in listing.text
        found = await _form(client, "/admin/customers", q=target.phone[-4:], tag="")
        assert found.status_code == 200
        assert f"/admin/customers/{target.id}" in found.text and target.name in found.text
        assert target.phone[-4:] not in str(found.url)  # the search term stays out of the address
        empty = await _form(client, "/admin/customers", q="", tag="")
        assert empty.status_code == 422 and 'role="alert"' in empty.text
        english = await client.post(
            "/admin/customers?lang=en",
            data={"q": "not@an@address", "_csrf_token": client.cookies.get("ajanda_csrf") or ""},
        )
        assert english.status_code == 422 and "Search" in english.text


async def test_the_card_shows_the_history_figures_and_messages_of_the_database(demo: AppContext) -> None:
    ctx = demo
    customer = await _busiest(ctx)
    card = await load_card(ctx, customer)
    bookings = await ctx.db.fetch("SELECT id, status FROM booking WHERE customer = ?", customer)
    expected = await figures(ctx, customer)
    messages = await list_messages(ctx, customer=customer, limit=50)
    assert messages  # the demo bookings planned confirmations and reminders
    async with _client(ctx, "patron") as client:
        page = await client.get(f"/admin/customers/{customer}?lang=en")
    assert page.status_code == 200
    text = page.text
    assert card.name in text
    for row in bookings:
        assert f'href="/admin/bookings/{row["id"]}"' in text
    facts = re.search(r'<dl class="facts" id="figures">(.*?)</dl>', text, re.S)
    assert facts is not None
    shown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", facts.group(1)))
    assert shown["Visits"] == str(expected.visits)
    assert shown["No-shows"] == str(expected.no_shows)
    assert shown["Cancellations"] == str(expected.cancellations)
    for message in messages:
        assert message.kind in text
    assert text.count('class="status-') == len(bookings)


async def test_editing_the_card_keeps_the_data_on_a_refusal_and_saves_a_valid_change(
    demo: AppContext,
) -> None:
    ctx = demo
    customer = await _busiest(ctx)
    before = await load_card(ctx, customer)
    other = next(
        c
        for c in [await load_card(ctx, int(r["id"])) for r in await ctx.db.fetch("SELECT id FROM customer")]
        if c.phone and c.id != customer
    )
    url = f"/admin/customers/{customer}"
    fields: dict[str, Any] = {
        "name": before.name, "phone": before.phone or "", "email": "not-an-address",
        "language": before.language, "preferred_channel": "", "tags": "vip, sadık", "notes": "yeni not",
    }  # fmt: skip
    async with _client(ctx, "patron") as client:
        bad = await _form(client, url + "?lang=en", **fields)
        assert bad.status_code == 422
        assert 'id="f-email-error"' in bad.text and "E-mail" in bad.text
        assert 'value="not-an-address"' in bad.text  # what was typed is kept
        assert await load_card(ctx, customer) == before

        taken = await _form(client, url + "?lang=tr", **{**fields, "email": "", "phone": other.phone})
        assert taken.status_code == 422
        assert 'id="f-phone-error"' in taken.text and str(other.id) in taken.text
        assert await load_card(ctx, customer) == before

        fine = await _form(client, url, **{**fields, "email": "yeni.adres@example.com"})
        assert fine.status_code == 303 and fine.headers["location"].startswith(url)
        after = await load_card(ctx, customer)
        assert after.email == "yeni.adres@example.com" and after.tags == ("vip", "sadık")
        assert after.notes == "yeni not"

        token = client.cookies.get("ajanda_csrf") or ""
        noted = await client.post(url + "/notes", data={"note": "Boya alerjisi var", "_csrf_token": token})
        assert noted.status_code == 303
        # Signed with the account's own name ("Patron"), as the page header shows it, not its username.
        assert (await load_card(ctx, customer)).notes.endswith("Patron: Boya alerjisi var")  # type: ignore[union-attr]
        shown = await client.get(url)
        assert "Boya alerjisi var" in shown.text and "yeni.adres@example.com" in shown.text
        assert "<span>Patron</span>" in shown.text


async def test_consent_buttons_add_ledger_rows(demo: AppContext) -> None:
    ctx = demo
    customer = await _busiest(ctx)
    count = "SELECT COUNT(*) FROM customer_consent WHERE customer = ? AND channel = 'sms'"
    start = int(await ctx.db.fetchval(count, customer))
    async with _client(ctx, "patron") as client:
        url = f"/admin/customers/{customer}"
        await client.get(url)  # the CSRF cookie, as the page sets it
        token = client.cookies.get("ajanda_csrf") or ""
        given = await client.post(
            url + "/consent", data={"channel": "sms", "granted": "1", "_csrf_token": token}
        )
        assert given.status_code == 303
        withdrawn = await client.post(
            url + "/consent", data={"channel": "sms", "granted": "0", "_csrf_token": token}
        )
        assert withdrawn.status_code == 303
        bad = await client.post(
            url + "/consent", data={"channel": "fax", "granted": "1", "_csrf_token": token}
        )
        assert bad.status_code == 422
        page = await client.get(url + "?lang=en")
    rows = await ctx.db.fetch(
        "SELECT granted, source FROM customer_consent WHERE customer = ? AND channel = 'sms' ORDER BY id",
        customer,
    )
    assert len(rows) == start + 2
    assert [bool(r["granted"]) for r in rows[-2:]] == [True, False]
    assert all(r["source"] == "staff" for r in rows[-2:])
    assert "Withdrawn" in page.text


async def test_a_staff_account_sees_only_its_customers_and_changes_nothing(demo: AppContext) -> None:
    ctx = demo
    staff_id = int(await ctx.db.fetchval("SELECT MIN(staff) FROM booking"))
    await create_account(ctx, "personel", PASSWORD, Role.STAFF, "Personel", staff_id=staff_id)
    own = int(await ctx.db.fetchval("SELECT MIN(customer) FROM booking WHERE staff = ?", staff_id))
    stranger = await ctx.db.fetchval(
        "SELECT MIN(id) FROM customer WHERE id NOT IN (SELECT customer FROM booking WHERE staff = ?"
        " AND customer IS NOT NULL)",
        staff_id,
    )
    others = await ctx.db.fetch("SELECT id FROM booking WHERE customer = ? AND staff <> ?", own, staff_id)
    before = await load_card(ctx, own)
    async with _client(ctx, "personel") as client:
        listing = await client.get("/admin/customers")
        assert listing.status_code == 200
        if stranger is not None:
            assert f'/admin/customers/{stranger}"' not in listing.text
            assert (await client.get(f"/admin/customers/{stranger}")).status_code == 404
        card = await client.get(f"/admin/customers/{own}")
        assert card.status_code == 200
        assert 'id="edit-card"' not in card.text  # no edit form for a read-only role
        for row in others:
            assert f'href="/admin/bookings/{row["id"]}"' not in card.text
        refused = await client.post(
            f"/admin/customers/{own}",
            data={"name": "Değişti", "_csrf_token": client.cookies.get("ajanda_csrf") or ""},
        )
        assert refused.status_code == 403 and "customers.write" in refused.text
        assert "<html" in refused.text  # a page, not problem JSON
    assert await load_card(ctx, own) == before
