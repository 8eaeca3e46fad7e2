"""The public booking page: service -> staff -> day -> time -> details -> confirmation."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from core.access.permissions import PUBLIC
from core.web.pages import PAGE_FORM, page


class BookingPages(Controller):
    path = "/"
    include_in_schema = False
    opt = {**PUBLIC, **PAGE_FORM}

    @get("/")
    async def start(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "booking/start.html")
