"""The customer card and the settings pages in a real browser (htmx on): find a demo customer by the
last four digits of their phone, edit the card's notes, create a service; axe-core on the card and the
services page."""

from __future__ import annotations

import re
from typing import Any

from tests.browser import chromium, demo_server, new_page, serious_violations, shots, sign_in  # noqa: F401


def test_a_customer_card_is_found_edited_and_a_service_created(
    chromium: Any,  # noqa: F811
    demo_server: Any,  # noqa: F811
    shots: Any,  # noqa: F811
) -> None:
    page = new_page(chromium, javascript=True, language="tr")
    sign_in(page, demo_server)

    page.goto(f"{demo_server.url}/admin/customers")
    first = page.locator("table.customers tbody tr").first
    name = first.locator("th a").inner_text()
    digits = re.sub(r"\D", "", first.locator("td").first.inner_text())
    assert len(digits) >= 4
    page.fill("#f-q", digits[-4:])
    page.click("form.search button[type=submit]")
    page.wait_for_selector("h2:has-text('Arama sonuçları')")
    assert digits[-4:] not in page.url  # the search term stays out of the address
    page.click(f"table.customers a:has-text('{name}')")
    page.wait_for_selector(f"h1:has-text('{name}')")
    shots.take(page, "customer card")
    assert serious_violations(page) == []

    note = "Tarayıcıdan eklenen not: boya alerjisi"
    page.fill("#f-notes", note)
    page.click("#edit-card button[type=submit]")
    page.wait_for_selector("p.notice.ok")
    assert page.locator("p.notes").inner_text() == note
    page.reload()  # saved on the server, not only on the page
    assert page.locator("p.notes").inner_text() == note
    shots.take(page, "notes saved")

    page.goto(f"{demo_server.url}/admin/settings/services")
    assert serious_violations(page) == []
    shots.take(page, "services")
    page.click("a[href='/admin/settings/services/new']")
    page.wait_for_selector("#service-form")
    page.fill("#f-name", "Kirpik Lifting")
    page.fill("#f-duration_min", "40")
    page.fill("#f-price", "750.00")
    page.select_option("#f-deposit_kind", "fixed")
    page.fill("#f-deposit_value", "1000.00")
    page.locator("input[name=locations]").first.check()
    page.click("#service-form button[type=submit]")
    page.wait_for_selector("#error-summary")  # a deposit above the price is refused, next to the field
    assert page.locator("#f-deposit_value-error").is_visible()
    assert page.input_value("#f-name") == "Kirpik Lifting"  # what was typed is kept
    shots.take(page, "service refused")
    page.fill("#f-deposit_value", "150.00")
    page.click("#service-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/settings/services\?saved=created"))
    assert page.locator("#services", has_text="Kirpik Lifting").is_visible()
    shots.take(page, "service created")
    offered = page.request.get(f"{demo_server.url}/api/v1/services").json()
    assert any(s["name"] == "Kirpik Lifting" and s["duration"] == 40 for s in offered)
