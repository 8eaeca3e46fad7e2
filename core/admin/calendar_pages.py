"""The admin calendar: day and week by staff and by resource, phone bookings and transitions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from core.access.permissions import Permission, requires
from core.web.pages import PAGE_FORM, page


class CalendarPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/", opt={**requires(Permission.BOOKINGS_READ), **PAGE_FORM})
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "admin/calendar.html")
