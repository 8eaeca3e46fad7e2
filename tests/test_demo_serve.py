"""The README's serve line as a visitor meets it: `cli.py serve --demo` answers the booking page, and
the demo owner account it prints signs in to the admin calendar (no browser needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser import DemoServer, start_demo_server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    yield from start_demo_server(Path(tmp_path_factory.mktemp("serve")))


def test_demo_server_serves_the_booking_page_and_its_printed_owner_signs_in(served: DemoServer) -> None:
    with httpx.Client(base_url=served.url, follow_redirects=False, timeout=10) as client:
        home = client.get("/", headers={"accept-language": "tr"})
        assert home.status_code == 200 and '<html lang="tr">' in home.text
        username, password = served.demo_login()
        client.get("/login")
        token = client.cookies["ajanda_csrf"]
        signed = client.post(
            "/login",
            data={"username": username, "password": password, "_csrf_token": token, "next": "/admin"},
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/admin"
        calendar = client.get("/admin", headers={"accept-language": "en"})
        assert calendar.status_code == 200
        assert re.search(r"Sign out", calendar.text)
        wrong = client.post(
            "/login", data={"username": username, "password": password + "x", "_csrf_token": token}
        )
        assert wrong.status_code == 401
