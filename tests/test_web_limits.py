"""The public pages share the per-address rate limit and answer it with a page, not JSON; the static
files a page loads do not count towards it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.config import Settings
from tests.conftest import api_client


async def test_public_pages_are_rate_limited_with_a_page_and_static_files_are_not_counted(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx = await start_context(make_settings(server={"rate_limit_per_minute": 3}))
    async with api_client(ctx) as client:
        tr = {"accept-language": "tr"}
        for _ in range(10):
            assert (await client.get("/static/ajanda.css", headers=tr)).status_code == 200
        answers = [(await client.get("/", headers=tr)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert limited.headers["content-type"].startswith("text/html")
        assert "Çok fazla istek" in limited.text  # in the visitor's language
        assert (await client.get("/static/htmx.min.js", headers=tr)).status_code == 200
